# Demo fine-tune: part segmentation on the demo ShapeNetPart data.
# Notes, sources and results: README.md beside this file.
_base_ = ['../act/vit-s_1xb16-coslr-300e_shapenetpart.py']

data_root = 'data/demo/shapenetcore_partanno_segmentation_benchmark_v0_normal'
num_points = 1024
# from scratch by default (an empty init_cfg); tools/demo_pipeline.py adds
# model.backbone.init_cfg.type=Pretrained ... for the pretrained run
model = dict(backbone=dict(num_groups=64, init_cfg=dict(_delete_=True)))

meta_keys = {{_base_.meta_keys}}
train_pipeline = [
    dict(type='NormalizePointsToUnitSphere'),
    dict(type='PointSubsample', num_points=num_points, mode='choice'),
    dict(
        type='PointcloudScaleAndTranslate',
        scale_low=0.8,
        scale_high=1.25,
        translate_range=0.1,
        isotropic=True),
    dict(
        type='Pack3DDetInputs',
        keys=['points', 'pts_semantic_mask'],
        meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='NormalizePointsToUnitSphere'),
    dict(type='PointSubsample', num_points=num_points, mode='choice', seed=0),
    dict(
        type='Pack3DDetInputs',
        keys=['points', 'pts_semantic_mask'],
        meta_keys=meta_keys),
]
train_dataloader = dict(
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 4
warmup_epochs = 1
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(logger=dict(interval=5))

# Pictures: prediction vs ground truth of 2 test shapes every 2 epochs,
# in <work_dir>/vis/epoch_<e>/
# (ACTVisualizationHook, see the README: "Pictures of what the model does")
custom_hooks = [
    dict(
        type='ACTVisualizationHook',
        draw=True,
        interval=2,
        modes=['partseg'],
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
