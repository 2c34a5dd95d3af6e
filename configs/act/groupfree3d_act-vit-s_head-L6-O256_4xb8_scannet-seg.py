# Mmdet3d's Group-Free 3D on ScanNet v2, the ACT transformer as backbone.
# Notes, sources and results: README.md beside this file.
_base_ = [
    'mmdet3d::groupfree3d/groupfree3d_head-L6-O256_4xb8_scannet-seg.py',
    '../_base_/models/act_scene_backbone.py',
]
custom_imports = dict(imports=['act_mmdet3d'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _base_.act_scene_backbone,
        in_channels=3,  # this pipeline adds no height channel
        num_seeds=1024,  # 1024 seeds; the head keeps the top 256 (KPS)
        # the 288 channels of the head's decoder: the head stays as shipped
        fp_channels=(288, )))

# added to the stock config's decoder multipliers
optim_wrapper = dict(paramwise_cfg=_base_.act_backbone_paramwise_cfg)
