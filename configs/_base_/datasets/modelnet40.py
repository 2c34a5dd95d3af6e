# ModelNet40 shape classification, 1k points from the official FPS cache
# (modelnet40_{train,test}_8192pts_fps.dat), as the reference fine-tunes
# (ModelNet40Dataset's format='auto': the cache when it exists).
dataset_type = 'ModelNet40Dataset'
data_root = 'data/ModelNet/modelnet40_normal_resampled'
num_points = 1024

train_pipeline = [
    dict(type='NormalizePointsToUnitSphere'),
    dict(
        type='PointcloudScaleAndTranslate',
        scale_low=2. / 3.,
        scale_high=3. / 2.,
        translate_range=0.2),
    dict(type='PackPointClsInputs'),
]
test_pipeline = [
    dict(type='NormalizePointsToUnitSphere'),
    dict(type='PackPointClsInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        num_points=num_points,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        num_points=num_points,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='PointClsMetric')
test_evaluator = val_evaluator
