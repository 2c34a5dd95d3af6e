# 3DETR on SUN RGB-D v1 (scripts/sunrgbd_ep1080.sh) in mmdet3d: its
# SUNRGBDDataset, pipelines and IndoorMetric. Reference: AP25 58.0 /
# AP50 30.3 (1080 epochs).
#
# Changes from the ScanNet recipe, as the script: 10 classes, 12 heading
# bins, 128 queries, base lr 7e-4, the matcher 1 x class + 5 x objectness +
# 5 x centre L1 + 3 x GIoU (rotated boxes), no GIoU loss, "no object"
# weight 0.1. Data as the reference: 20000 points, flip x (p 0.5),
# rotation U(-30, 30) degrees, scale U(0.85, 1.15); the reference's
# RandomCuboid crop has no mmdet3d transform and is left out.
_base_ = [
    './3detr_1xb8_scannet-3d.py',
]

num_classes = 10
class_names = ('bed', 'table', 'sofa', 'chair', 'toilet', 'desk', 'dresser',
               'night_stand', 'bookshelf', 'bathtub')
model = dict(
    bbox_head=dict(
        num_classes=num_classes,
        num_angle_bins=12,
        num_queries=128,
        assigner=dict(
            type='mmdet.HungarianAssigner',
            match_costs=[
                dict(type='mmdet.ClassificationCost', weight=1.),
                dict(type='ObjectnessCost', weight=5.),
                dict(type='Center3DL1Cost', weight=5.),
                dict(type='RotatedGIoU3DCost', weight=3.)
            ]),
        loss_weights=dict(
            sem_cls=1., angle_cls=0.1, angle_reg=0.5, center=5., size=1.,
            giou=0.),
        no_object_weight=0.1))

num_points = 20000
# the ScanNet recipe's loading (xyz of the 6 stored dims) and packing steps
train_pipeline = [
    _base_.train_pipeline[0],
    dict(type='LoadAnnotations3D'),
    dict(
        type='RandomFlip3D',
        sync_2d=False,
        flip_ratio_bev_horizontal=0.5),
    dict(
        type='GlobalRotScaleTrans',
        rot_range=[-0.523599, 0.523599],
        scale_ratio_range=[0.85, 1.15],
        shift_height=False),
    dict(type='PointSample', num_points=num_points),
    _base_.train_pipeline[-1],
]
test_pipeline = [
    _base_.test_pipeline[0],
    dict(type='PointSample', num_points=num_points),
    _base_.test_pipeline[-1],
]
_dataset = dict(
    type='SUNRGBDDataset',
    data_root='data/sunrgbd/',
    metainfo=dict(classes=class_names),
    box_type_3d='Depth')
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        ann_file='sunrgbd_infos_train.pkl',
        pipeline=train_pipeline,
        filter_empty_gt=False,
        **_dataset))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        ann_file='sunrgbd_infos_val.pkl',
        pipeline=test_pipeline,
        test_mode=True,
        **_dataset))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=7e-4))
# the ScanNet recipe's schedule, its warm-up from 1e-6 to the higher base lr
param_scheduler = _base_.param_scheduler
param_scheduler[0]['start_factor'] = 1e-6 / 7e-4
