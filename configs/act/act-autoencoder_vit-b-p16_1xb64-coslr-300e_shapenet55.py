# ACT Stage I: the dVAE teacher through a frozen, prompt-tuned ViT-B/16-384.
# Notes, sources and results: README.md beside this file.
_base_ = [
    '../_base_/models/act_teacher_vit-b.py',
    '../_base_/datasets/shapenet55.py',
    '../_base_/default_runtime.py',
]

vit_weights = 'checkpoints/vit_base_patch16_384.npz'

# the teacher of _base_/models/act_teacher_vit-b.py, its ViT read from
# vit_weights
model = dict(
    _base_.teacher, vit_weights=vit_weights, allow_random_teacher=False)

custom_hooks = [
    dict(
        type='DVAEScheduleHook',
        temp_start=1.,
        temp_target=0.0625,
        temp_ntime=100000,
        kl_start=0.,
        kl_target=0.1,
        kl_ntime=100000,
        kl_delay=10000),
]

max_epochs = 300
warmup_epochs = 10

# The reference's add_weight_decay: no decay on 1-D parameters (norms),
# biases and parameters named "*token*" (visual_prompt_token,
# deep_prompt_tokens); frozen ViT parameters have requires_grad=False and
# are never updated. The reference Stage I runner does not clip gradients.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=5e-4),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        custom_keys={'prompt_token': dict(decay_mult=0.)}))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=2e-3,  # 1e-6 -> 5e-4 as the reference warm-up
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-7,  # the reference CosLR lr_min
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]

train_cfg = dict(
    type='ExactResumeEpochBasedTrainLoop', max_epochs=max_epochs,
    val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='CDL1',
        rule='less'))

auto_scale_lr = dict(enable=False, base_batch_size=64)
