# ACT few-shot classification on ModelNet40 (tools/analysis_tools/fewshot.py runs folds).
# Notes, sources and results: README.md beside this file.
_base_ = [
    '../_base_/models/act_vits_cls.py',
    '../_base_/datasets/modelnet40.py',
    '../_base_/schedules/adamw_cosine_300e.py',
    '../_base_/default_runtime.py',
]

pretrained = 'work_dirs/act_vit-s_1xb128-coslr-300e_shapenet55/epoch_300.pth'
data_root = 'data/ModelNetFewshot'
dataset_type = 'ModelNetFewShotDataset'
way, shot, fold = 5, 10, 0  # set per fold by tools/analysis_tools/fewshot.py
# names of the third tuple element of the fold pickles (the ModelNet40
# index); None: the dataset's own ModelNet40 names
label_names = None
num_points = 1024
fps_candidates = 1200  # the reference's point_all for 1024 points

model = dict(
    backbone=dict(
        drop_path_rate=0.1,
        num_groups=64,
        group_size=32,
        fps_skip_near_origin=True,  # FPS as the reference (pointnet2_ops)
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=way, label_smoothing=0.),
    num_votes=1)

train_pipeline = [
    dict(type='NormalizePointsToUnitSphere'),
    dict(
        type='PointSubsample',
        num_points=num_points,
        mode='fps_random',
        num_candidates=fps_candidates,
        fps_start='random'),
    dict(
        type='PointcloudScaleAndTranslate',
        scale_low=2. / 3.,
        scale_high=3. / 2.,
        translate_range=0.2),
    dict(type='PackPointClsInputs'),
]
test_pipeline = [
    dict(type='NormalizePointsToUnitSphere'),
    dict(type='PointSubsample', num_points=num_points, mode='first'),
    dict(type='PackPointClsInputs'),
]

# the base's loaders with the fold's episodes (all 8192 points of a cloud:
# the pipelines subsample)
_episodes = dict(
    type=dataset_type,
    data_root=data_root,
    way=way,
    shot=shot,
    fold=fold,
    num_points=None)
train_dataloader = dict(dataset=dict(**_episodes, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(**_episodes, pipeline=test_pipeline))
test_dataloader = val_dataloader
del _episodes

# the reference's add_weight_decay: cls_pos is decayed (as fine-tuning)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'.cls_pos': dict(decay_mult=1.)}),
    clip_grad=dict(max_norm=10, norm_type=2))

max_epochs = 150
warmup_epochs = 10
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
train_cfg = dict(max_epochs=max_epochs, val_interval=1)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=-1,
        save_last=True,
        save_optimizer=False,
        save_param_scheduler=False))
