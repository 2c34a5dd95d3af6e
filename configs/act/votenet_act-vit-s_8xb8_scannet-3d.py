# Mmdet3d's VoteNet on ScanNet v2, the ACT transformer as backbone.
# Notes, sources and results: README.md beside this file.
_base_ = [
    'mmdet3d::votenet/votenet_8xb8_scannet-3d.py',
    '../_base_/models/act_scene_backbone.py',
]
custom_imports = dict(imports=['act_mmdet3d'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _base_.act_scene_backbone,
        in_channels=4,  # xyz + height from the pipeline; xyz enter ACT
        num_seeds=1024,  # VoteHead's 1024 seeds, as PointNet2SASSG gives
        # the 256 channels VoteHead's vote module reads: the head stays as
        # shipped
        fp_channels=(256, )))

# the only change outside the backbone
optim_wrapper = dict(paramwise_cfg=_base_.act_backbone_paramwise_cfg)
