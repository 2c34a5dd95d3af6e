# ACT part segmentation (the reference part_segmentation/models/pt.py):
# ViT-S point transformer without a cls token over 128 groups x 32 of 2048
# points; blocks 3, 7, 11 (0-based), each through the final LayerNorm, are
# concatenated (3 x 384 = 1152), max- and average-pooled, joined with a 64-d
# embedding of the shape's category, and propagated back to every point
# (three nearest centres, inverse squared distance) -> 1024 -> 512 -> 256
# -> 50 parts. A shape's prediction is restricted to its category's parts.
model = dict(
    type='ACTSegmentor',
    data_preprocessor=dict(type='PointDataPreprocessor'),
    backbone=dict(
        type='ACTPointTransformer',
        embed_dims=384,
        depth=12,
        num_heads=6,
        mlp_ratio=4.,
        drop_path_rate=0.1,
        num_groups=128,
        group_size=32,
        out_indices=(3, 7, 11),
        norm_all_outputs=True,
        with_cls_token=False),
    decode_head=dict(
        type='ACTSegHead',
        num_classes=50,
        in_channels=3 * 384,
        num_categories=16,
        category_channels=64,
        point_channels=3,
        fp_channels=(1536, 1024),
        mid_channels=512,
        channels=256,
        dropout_ratio=0.5,
        squared_distance=True),
    # parts per ShapeNetPart category, official order (Airplane 0-3,
    # Bag 4-5, Cap 6-7, Car 8-11, Chair 12-15, Earphone 16-18, Guitar 19-21,
    # Knife 22-23, Lamp 24-27, Laptop 28-29, Motorbike 30-35, Mug 36-37,
    # Pistol 38-40, Rocket 41-43, Skateboard 44-46, Table 47-49)
    category_num_parts=(4, 2, 2, 4, 4, 3, 3, 2, 4, 2, 6, 2, 3, 3, 3, 3),
    train_cfg=None,
    test_cfg=dict(mode='whole'))
