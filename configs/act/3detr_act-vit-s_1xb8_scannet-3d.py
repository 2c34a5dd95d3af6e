# ACT's detection setup (the paper's Table: ScanNetV2 AP25 63.8 / AP50
# 42.1 against 3DETR's 62.1 / 37.9): 3DETR on ScanNet v2 with the ACT
# transformer in place of 3DETR's pre-encoder and encoder. The Stage II
# student (configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py) loads with prefix='backbone.';
# its 2048 seed tokens (FPS + 32-NN groups, the mini-PointNet, 12 ViT-S
# blocks) are projected to the 256 channels the 3DETR head reads.
#
# The paper does not give the backbone's learning-rate multiplier (and no
# detection code was released); 0.1 x the head's learning rate, as the
# project's VoteNet / Group-Free 3D swaps, is this config's choice.
_base_ = [
    '../3detr/3detr_1xb8_scannet-3d.py',
    '../_base_/models/act_scene_backbone.py',
]

model = dict(
    backbone=dict(
        _base_.act_scene_backbone,
        num_seeds=2048),  # the 2048 tokens of 3DETR's pre-encoder
    bbox_head=dict(in_channels=256))

optim_wrapper = dict(paramwise_cfg=_base_.act_backbone_paramwise_cfg)
