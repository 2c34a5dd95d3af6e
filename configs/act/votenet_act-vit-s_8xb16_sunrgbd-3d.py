# mmdet3d's own VoteNet on SUN RGB-D v1 (10 classes, yaw-rotated boxes)
# with the ACT transformer as its backbone: the stock config (mmdet3d's
# SUNRGBDDataset, pipelines, VoteHead, IndoorMetric) with the backbone
# swapped; see configs/act/votenet_act-vit-s_8xb8_scannet-3d.py and the README
# (3D object detection).
#
# Data: mmdet3d's `python tools/create_data.py sunrgbd --root-path
# ./data/sunrgbd --out-dir ./data/sunrgbd --extra-tag sunrgbd` layout.
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
