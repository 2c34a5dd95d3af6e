# ACT Stage II (the reference cfgs/pretrain/pretrain_act_distill.yaml):
# ViT-S student (mask 80% of 64 groups of 32, visible tokens only)
# -> 2-block decoder with mask tokens -> linear 384->384 at the masked
# groups -> 1 + mean(-cos) against the frozen Stage I teacher's features
# (after its second DGCNN) of the same groups.
_base_ = ['./act_teacher_vit-b.py']

model = dict(
    type='ACTPretrainer',
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
        mask_ratio=0.8,
        mask_type='rand'),
    neck=dict(
        type='ACTDecoder',
        embed_dims=384,
        depth=2,
        num_heads=6,
        mlp_ratio=4.,
        drop_path_rate=0.1),
    head=dict(type='ACTDistillHead', in_channels=384, out_channels=384),
    # The Stage I teacher (frozen). Its weights, the frozen ViT included,
    # come from the Stage I checkpoint through its init_cfg (set by the
    # experiment config); the random ViT it is built with is overwritten.
    target_generator=_base_.teacher,
    # 'reference': the teacher module follows train()/eval() as in the
    # reference (BatchNorm batch statistics, prompt dropout in training);
    # 'eval' keeps it in eval mode.
    teacher_mode='reference',
    # the reference's forward_tokenizer_features: hard Gumbel, tau 1
    target_kwargs=dict(hard=True, tau=1.0),
    teacher_dtype='float32')
