# ShapeNetPart part segmentation (16 categories, 50 parts), read as the ACT
# reference does (part_segmentation/dataset.py PartNormalDataset, main.py):
#   train on 'trainval' (train + val lists, 14,007 shapes), test on 'test'
#   (2,874); xyz only (the reference's default, no --normal);
#   each shape: normalise xyz to the unit sphere over all its points, then
#   np.random.choice(N, 2048, replace=True) (shapes may have < 2048 points);
#   train augmentation (provider.py, per cloud, xyz only): one random scale
#   U[0.8, 1.25] then a shift U[-0.1, 0.1]^3.
# The reference also draws the test points at random at every evaluation;
# here the test draw is seeded per sample (PointSubsample seed=0): the same
# 2048 points of a shape in every evaluation and run. Remove `seed` for the
# reference's fresh draws.
#
# Samples are packed by mmdet3d's Pack3DDetInputs: inputs['points'] (2048, 3)
# float32, data_samples.gt_pts_seg.pts_semantic_mask (2048,) int64 global
# part ids in [0, 50), metainfo 'category' (index in synsetoffset2category.txt)
dataset_type = 'ShapeNetPartDataset'
data_root = 'data/shapenetcore_partanno_segmentation_benchmark_v0_normal'
num_points = 2048
use_normals = False

meta_keys = ('category', 'category_name', 'taxonomy_id', 'model_id',
             'sample_idx', 'lidar_path', 'num_pts_feats', 'pcd_scale_factor',
             'pcd_trans')
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
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='trainval',
        use_normals=use_normals,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        use_normals=use_normals,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# instance mIoU, class mIoU, point accuracy, per-category mIoU; in percent
val_evaluator = dict(type='PartSegMetric')
test_evaluator = val_evaluator
