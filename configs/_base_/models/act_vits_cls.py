# ACT fine-tuning classifier: ViT-S point transformer (the spec's student)
# + [cls; max-pool] -> 256 -> 256 -> classes head.
model = dict(
    type='ACTClassifier',
    data_preprocessor=dict(type='PointDataPreprocessor'),
    backbone=dict(
        type='ACTPointTransformer',
        embed_dims=384,
        depth=12,
        num_heads=6,
        mlp_ratio=4.,
        drop_path_rate=0.1,
        num_groups=64,
        group_size=32,
        mask_ratio=0.),
    head=dict(
        type='ACTClsHead',
        num_classes=40,
        in_channels=384,
        hidden_channels=(256, 256),
        dropout=0.5,
        label_smoothing=0.),
    num_votes=1)
