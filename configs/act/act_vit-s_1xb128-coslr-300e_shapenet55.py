# ACT Stage II: masked modeling on ShapeNet-55, distilled from Stage I.
# Notes, sources and results: README.md beside this file.
_base_ = [
    '../_base_/models/act_pretrain.py',
    '../_base_/datasets/shapenet55.py',
    '../_base_/schedules/adamw_cosine_300e.py',
    '../_base_/default_runtime.py',
]

teacher_checkpoint = ('work_dirs/act-autoencoder_vit-b-p16_1xb64-coslr-300e_'
                      'shapenet55/epoch_300.pth')
model = dict(
    target_generator=dict(
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)))

# the base dataset (random 1024 of 8192, unit sphere) plus the paper's
# scale / translate, on train + test, batch 128
train_pipeline = [
    dict(type='PointSubsample', num_points={{_base_.num_points}},
         mode='random'),
    dict(type='NormalizePointsToUnitSphere'),
    dict(
        type='PointcloudScaleAndTranslate',
        scale_low=2. / 3.,
        scale_high=3. / 2.,
        translate_range=0.2),
    dict(type='PackPointClsInputs'),
]
train_dataloader = dict(
    batch_size=128, dataset=dict(split='whole', pipeline=train_pipeline))

# no weight decay on norms, biases and tokens (the reference skips 1-D
# parameters and '*token*' names); the frozen teacher has requires_grad
# False and is skipped by the paramwise optimizer constructor.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'.mask_token': dict(decay_mult=0.)}),
    clip_grad=None)

# pretraining only (the reference's ModelNet40 SVM probe is a separate
# evaluation)
train_cfg = dict(type='ExactResumeEpochBasedTrainLoop', max_epochs=300)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None

default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
auto_scale_lr = dict(enable=False, base_batch_size=128)
