# mmdet3d's own VoteNet on ScanNet v2 (18 classes) with the ACT transformer
# as its backbone: the stock config (mmdet3d's ScanNetDataset, pipelines,
# VoteHead, IndoorMetric mAP_0.25 / mAP_0.50, schedule) with the backbone
# swapped. The paper evaluates ACT inside 3DETR (AP25 63.8):
# configs/act/3detr_act-vit-s_1xb8_scannet-3d.py.
#
# Data: mmdet3d's `python tools/create_data.py scannet --root-path
# ./data/scannet --out-dir ./data/scannet --extra-tag scannet` layout.
# Weights: the Stage II checkpoint of configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py
# (or pass --cfg-options model.backbone.init_cfg=None to start from
# scratch).
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
