# Mmdet3d's VoteNet on SUN RGB-D, the ACT transformer as backbone.
# Notes, sources and results: README.md beside this file.
_base_ = [
    'mmdet3d::votenet/votenet_8xb16_sunrgbd-3d.py',
    '../_base_/models/act_scene_backbone.py',
]
custom_imports = dict(imports=['act_mmdet3d'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _base_.act_scene_backbone,
        in_channels=4,  # xyz + height from the pipeline; xyz enter ACT
        num_seeds=1024,  # of the 20,000 points the pipeline samples
        fp_channels=(256, )))  # VoteHead's vote module reads 256 channels

optim_wrapper = dict(paramwise_cfg=_base_.act_backbone_paramwise_cfg)
