# A tiny ACT classifier config for the tool tests: same modules as the real
# configs, shrunk; deterministic (no dropout / drop path / random
# augmentation, FPS from index 0) so runs can be compared parameter by
# parameter. The tokenizer is frozen (its BatchNorm in eval mode) so that a
# 2-process run with half batches computes the same gradients as 1 process
# (per-process BatchNorm statistics would differ; SyncBN needs CUDA).
_base_ = ['../../configs/_base_/default_runtime.py']

data_root = 'set-by-the-test'
model = dict(
    type='ACTClassifier',
    data_preprocessor=dict(type='PointDataPreprocessor'),
    backbone=dict(
        type='ACTPointTransformer',
        embed_dims=32,
        depth=2,
        num_heads=2,
        drop_path_rate=0.,
        num_groups=8,
        group_size=8,
        frozen_stages=0),
    head=dict(
        type='ACTClsHead', num_classes=3, in_channels=32,
        hidden_channels=(), dropout=0.))

pipeline = [
    dict(type='NormalizePointsToUnitSphere'),
    dict(type='PackPointClsInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ModelNet40Dataset',
        data_root=data_root,
        split='train',
        num_points=64,
        format='dat',
        pipeline=pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ModelNet40Dataset',
        data_root=data_root,
        split='test',
        num_points=64,
        format='dat',
        test_mode=True,
        pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='PointClsMetric')
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=5))
randomness = dict(seed=0)
