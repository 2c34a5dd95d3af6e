# ShapeNet-55 (Point-BERT's release) at 1024 points, as the ACT reference
# reads it: a random 1024 of the 8192 stored points, normalised to the unit
# sphere. Stage I (the dVAE teacher) trains on split='train' and validates
# on 'test' (act_dvae_with_pretrained_transformer.yaml); Stage II
# pretraining uses split='whole' (train + test) and adds scale/translate.
dataset_type = 'ShapeNet55Dataset'
data_root = 'data/ShapeNet55-34'
num_points = 1024

train_pipeline = [
    dict(type='PointSubsample', num_points=num_points, mode='random'),
    dict(type='NormalizePointsToUnitSphere'),
    dict(type='PackPointClsInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# dVAE reconstruction: CD-L1 / CD-L2 (x1000) of the reconstruction
val_evaluator = dict(type='ChamferDistanceMetric')
test_evaluator = val_evaluator
