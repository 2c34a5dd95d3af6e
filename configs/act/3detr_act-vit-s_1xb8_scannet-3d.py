# ACT's detection row: 3DETR on ScanNet v2 with the ACT transformer as encoder.
# Notes, sources and results: README.md beside this file.
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
