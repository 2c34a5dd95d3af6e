# ACT fine-tune: S3DIS Area 5 semantic segmentation.
# Notes, sources and results: README.md beside this file.
_base_ = [
    'mmdet3d::_base_/datasets/s3dis-seg.py',
    '../_base_/models/act_vits_partseg.py',
    '../_base_/schedules/adamw_cosine_300e.py',
    '../_base_/default_runtime.py',
]

pretrained = 'work_dirs/act_vit-s_1xb128-coslr-300e_shapenet55/epoch_300.pth'
num_points = 2048
num_classes = 13
max_epochs = 60
warmup_epochs = 10

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(
        num_classes=num_classes,
        num_categories=0,
        ignore_index=num_classes,
        loss_decode=dict(
            type='mmdet.CrossEntropyLoss',
            use_sigmoid=False,
            class_weight=None,
            loss_weight=1.0)),
    category_num_parts=None,
    test_cfg=dict(
        mode='slide',
        num_points=num_points,
        block_size=1.0,
        sample_rate=0.5,
        use_normalized_coord=True,
        batch_size=24))

train_pipeline = [
    dict(
        type='LoadPointsFromFile',
        coord_type='DEPTH',
        shift_height=False,
        use_color=True,
        load_dim=6,
        use_dim=[0, 1, 2, 3, 4, 5]),
    dict(
        type='LoadAnnotations3D',
        with_bbox_3d=False,
        with_label_3d=False,
        with_mask_3d=False,
        with_seg_3d=True),
    dict(type='PointSegClassMapping'),
    dict(
        type='IndoorPatchPointSample',
        num_points=num_points,
        block_size=1.0,
        ignore_index=num_classes,
        use_normalized_coord=True,
        enlarge_size=0.2,
        min_unique_num=None),
    # the reference's provider.random_scale_point_cloud + shift_point_cloud
    dict(
        type='PointcloudScaleAndTranslate',
        scale_low=0.8,
        scale_high=1.25,
        translate_range=0.1,
        isotropic=True),
    dict(type='NormalizePointsColor', color_mean=None),
    dict(type='Pack3DDetInputs', keys=['points', 'pts_semantic_mask'])
]
train_dataloader = dict(
    batch_size=32, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05))
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
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
auto_scale_lr = dict(enable=False, base_batch_size=32)
