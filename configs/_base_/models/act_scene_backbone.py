# The ACT transformer as an mmdet3d detector's backbone: the Stage II
# student (FPS + 32-NN groups, the mini-PointNet, 12 ViT-S blocks) over
# `num_seeds` scene tokens, propagated back to the seeds and projected by
# a 1x1 conv to `fp_channels`, the channels the detector's head reads.
# A detection config swaps it in with
#   model = dict(backbone=dict(_base_.act_scene_backbone, num_seeds=...))
#   optim_wrapper = dict(paramwise_cfg=_base_.act_backbone_paramwise_cfg)
pretrained = 'work_dirs/act_vit-s_1xb128-coslr-300e_shapenet55/epoch_300.pth'

act_scene_backbone = dict(
    _delete_=True,
    type='ACTSceneBackbone',
    in_channels=3,
    num_seeds=1024,
    group_size=32,
    embed_dims=384,
    depth=12,
    num_heads=6,
    drop_path_rate=0.1,
    fp_channels=(256, ),
    init_cfg=dict(
        type='Pretrained', checkpoint=pretrained, prefix='backbone.'))

# the pretrained backbone trains at 0.1 x the head's learning rate (the
# paper gives no multiplier; this is the project's choice)
act_backbone_paramwise_cfg = dict(custom_keys={'backbone': dict(lr_mult=0.1)})
