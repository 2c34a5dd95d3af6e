# ScanObjectNN object classification (15 classes; the official h5 files,
# every cloud 2048 points), read as the ACT reference fine-tunes on it
# (cfgs/dataset_configs/ScanObjectNN_*.yaml, tools/runner_finetune.py):
#   train: the dataset shuffles the point order, the runner takes an FPS of
#          min(2400, 2048) = all points and a random 2048 of them (another
#          permutation), then PointcloudRotate (random angle about y);
#   test:  the clouds as stored (the runner's FPS of 2048 of 2048 only
#          reorders them from point 0, the backbone's own FPS start).
# No normalisation (the reference uses the stored coordinates).
#
# `variant` picks the files (ScanObjectNNDataset):
#   'obj_bg'   main_split/{training,test}_objectdataset.h5
#   'obj_only' main_split_nobg/{training,test}_objectdataset.h5
#   'hardest'  main_split/{training,test}_objectdataset_augmentedrot_scale75.h5
#              (PB_T50_RS)
# A config inheriting this file and changing `variant` must also set it in
# the three dataloaders (base variables are substituted when this file is
# read), e.g. train_dataloader = dict(dataset=dict(variant=variant)).
dataset_type = 'ScanObjectNNDataset'
data_root = 'data/ScanObjectNN'  # an h5_files/ level in between is found
variant = 'hardest'
num_points = 2048  # every stored cloud; all points are used

train_pipeline = [
    dict(type='PointShuffle'),  # mmdet3d's; the reference's point shuffle
    dict(type='PointcloudRotate', axis=1),  # about y, angle U[0, 2*pi)
    dict(type='PackPointClsInputs'),
]
test_pipeline = [
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
        variant=variant,
        split='train',
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
        variant=variant,
        split='test',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# overall accuracy (OA) and mean class accuracy (mAcc), in percent
val_evaluator = dict(type='PointClsMetric')
test_evaluator = val_evaluator
