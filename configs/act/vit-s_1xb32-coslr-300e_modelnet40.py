# ACT fine-tune: ModelNet40, 1k points, 10-view vote at test.
# Notes, sources and results: README.md beside this file.
_base_ = [
    '../_base_/models/act_vits_cls.py',
    '../_base_/datasets/modelnet40.py',
    '../_base_/schedules/adamw_cosine_300e.py',
    '../_base_/default_runtime.py',
]

pretrained = 'work_dirs/act_vit-s_1xb128-coslr-300e_shapenet55/epoch_300.pth'
num_classes = 40
cache_points = 8192  # the whole FPS cache, normalised as the reference
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
    head=dict(num_classes=num_classes, label_smoothing=0.),
    num_votes=1,  # validation during training: no vote
    test_num_votes=10,  # the test loop (tools/test.py): the 10-view vote
    vote_scale=(2. / 3., 3. / 2.),
    vote_translate=0.2,
    vote_seed=0)

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

# an FPS of 1200 of 8192 points takes ~9 ms per cloud on one CPU core,
# ~0.3 s per batch of 32: 8 workers keep up with a GPU step
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    dataset=dict(num_points=cache_points, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    dataset=dict(num_points=cache_points, pipeline=test_pipeline))
test_dataloader = val_dataloader

# the reference's add_weight_decay: cls_pos is decayed (see above)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'.cls_pos': dict(decay_mult=1.)}),
    clip_grad=dict(max_norm=10, norm_type=2))
