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
train_pipeline = [
    dict(
        type='LoadPointsFromFile',
        coord_type='DEPTH',
        shift_height=False,
        load_dim=6,
        use_dim=[0, 1, 2]),
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
    dict(
        type='Pack3DDetInputs',
        keys=['points', 'gt_bboxes_3d', 'gt_labels_3d'])
]
test_pipeline = [
    dict(
        type='LoadPointsFromFile',
        coord_type='DEPTH',
        shift_height=False,
        load_dim=6,
        use_dim=[0, 1, 2]),
    dict(type='PointSample', num_points=num_points),
    dict(type='Pack3DDetInputs', keys=['points'])
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
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / 7e-4,
        by_epoch=True,
        begin=0,
        end=9,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=1071,
        eta_min=1e-6,
        by_epoch=True,
        begin=9,
        end=1080,
        convert_to_iter_based=True)
]
