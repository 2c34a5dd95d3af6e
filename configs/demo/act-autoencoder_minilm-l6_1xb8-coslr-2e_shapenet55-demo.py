# Demo Stage I: the pretrained MiniLM-L6 teacher, 2 epochs.
# Notes, sources and results: README.md beside this file.
_base_ = [
    '../act/act-autoencoder_vit-b-p16_1xb64-coslr-300e_shapenet55.py',
    '../_base_/models/act_teacher_minilm-l6.py',
]

data_root = 'data/demo/ShapeNet55-34'

model = _base_.minilm_teacher

# the DVAE schedules fitted to the demo's ~80-190 iterations (README.md)
custom_hooks = [
    dict(
        type='DVAEScheduleHook',
        temp_start=1.,
        temp_target=0.0625,
        temp_ntime=80,
        kl_start=0.,
        kl_target=0.1,
        kl_ntime=76,
        kl_delay=8),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1e-3))
max_epochs = 2
warmup_epochs = 1
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))

# Pictures: the reconstruction of 2 validation clouds at the validation
# epoch, in <work_dir>/vis/epoch_<e>/
# (ACTVisualizationHook, see the README: "Pictures of what the model does")
custom_hooks = custom_hooks + [
    dict(
        type='ACTVisualizationHook',
        draw=True,
        interval=max_epochs,
        modes=['reconstruction'],
        indices=[0, 1]),
]

# Scalars (loss, lr, ...) go to <work_dir>/<timestamp>/vis_data/scalars.json
# through mmengine's LocalVisBackend; uncomment TensorboardVisBackend to also
# write TensorBoard event files there (pip install .[tensorboard]).
visualizer = dict(
    type='Visualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
        # dict(type='TensorboardVisBackend'),
    ])
