# mmdet3d's own Group-Free 3D (6 decoder layers, 256 proposals) on ScanNet
# v2 with the ACT transformer as its backbone: the stock config (mmdet3d's
# ScanNetDataset, pipelines, GroupFree3DHead, IndoorMetric) with the
# backbone swapped; see configs/act/votenet_act-vit-s_8xb8_scannet-3d.py and
# the README (3D object detection).
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
