# Demo Stage II: the paper's ViT-S student from the demo teacher.
# Notes, sources and results: README.md beside this file.
_base_ = [
    '../act/act_vit-s_1xb128-coslr-300e_shapenet55.py',
    '../_base_/models/act_teacher_minilm-l6.py',
]

data_root = 'data/demo/ShapeNet55-34'
teacher_checkpoint = 'work_dirs/demo/autoencoder/epoch_2.pth'

# the demo teacher (configs/_base_/models/act_teacher_minilm-l6.py)
teacher_dims = _base_.minilm_teacher.decoder_dims
model = dict(
    head=dict(out_channels=teacher_dims),
    target_generator=dict(
        _base_.minilm_teacher,
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)))

train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root))

# 3 epochs: the schedule of the real-shapes study (configs/ablation/
# demo_real.py), which shortens make demo (still over its 20-min goal)
max_epochs = 3
warmup_epochs = 1
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))

# Pictures: the Stage II mask of 2 training clouds every 3 epochs (no
# validation set), in <work_dir>/vis/epoch_<e>/
# (ACTVisualizationHook, see the README: "Pictures of what the model does")
custom_hooks = [
    dict(
        type='ACTVisualizationHook',
        draw=True,
        interval=3,
        modes=['mask'],
        indices=[0, 1],
        split='train'),
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
