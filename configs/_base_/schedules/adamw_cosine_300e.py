# The paper's fine-tuning schedule: AdamW lr 5e-4, weight decay 0.05,
# 10 warm-up epochs then cosine to 300 epochs, gradient clip 10.
max_epochs = 300
warmup_epochs = 10

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    # no weight decay on norms, biases and the cls / position tokens
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        custom_keys={
            '.cls_token': dict(decay_mult=0.),
            '.cls_pos': dict(decay_mult=0.),
        }),
    clip_grad=dict(max_norm=10, norm_type=2))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]

train_cfg = dict(type='ExactResumeEpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# the paper's batch size; --auto-scale-lr rescales lr to the actual one
auto_scale_lr = dict(enable=False, base_batch_size=32)
