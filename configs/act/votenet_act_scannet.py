# mmdet3d's own VoteNet on ScanNet v2 (18 classes) with the ACT transformer
# as its backbone: the stock config (mmdet3d's ScanNetDataset, pipelines,
# VoteHead, IndoorMetric mAP_0.25 / mAP_0.50, schedule) with the backbone
# swapped. The paper evaluates ACT inside 3DETR (AP25 63.8):
# configs/act/3detr_act_scannet.py.
#
# Data: mmdet3d's `python tools/create_data.py scannet --root-path
# ./data/scannet --out-dir ./data/scannet --extra-tag scannet` layout.
# Weights: the Stage II checkpoint of configs/act/pretrain_shapenet.py
# (or pass --cfg-options model.backbone.init_cfg=None to start from
# scratch).
_base_ = ['mmdet3d::votenet/votenet_8xb8_scannet-3d.py']
# act_mmdet3d.compat.install: mmcv's point / box ops on CPU, mmdet3d's
# indoor_eval under numpy >= 2.4, checkpoint loading (act_mmdet3d/compat)
custom_imports = dict(
    imports=['act_mmdet3d', 'act_mmdet3d.compat.install'],
    allow_failed_imports=False)
# the runtime of configs/_base_/default_runtime.py, on mmdet3d's own base:
# atomic checkpoints carrying the RNG states, exact (mid-epoch) resume
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),
    rng_state=dict(type='RNGStateHook'))
train_cfg = dict(type='ExactResumeEpochBasedTrainLoop')

pretrained = 'work_dirs/pretrain_shapenet/epoch_300.pth'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ACTSceneBackbone',
        in_channels=4,  # xyz + height from the pipeline; xyz enter ACT
        num_seeds=1024,  # VoteHead's 1024 seeds, as PointNet2SASSG gives
        group_size=32,
        embed_dims=384,
        depth=12,
        num_heads=6,
        drop_path_rate=0.1,
        # a 1x1 conv to the 256 channels VoteHead's vote module reads, so
        # the head stays as shipped
        fp_channels=(256, ),
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))

# The backbone is a pretrained transformer: it trains at 0.1 x the head's
# learning rate (the only change outside the backbone).
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
