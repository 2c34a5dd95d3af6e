# mmdet3d's own VoteNet on SUN RGB-D v1 (10 classes, yaw-rotated boxes)
# with the ACT transformer as its backbone: the stock config (mmdet3d's
# SUNRGBDDataset, pipelines, VoteHead, IndoorMetric) with the backbone
# swapped; see configs/act/votenet_act_scannet.py and the README
# (3D object detection).
#
# Data: mmdet3d's `python tools/create_data.py sunrgbd --root-path
# ./data/sunrgbd --out-dir ./data/sunrgbd --extra-tag sunrgbd` layout.
_base_ = ['mmdet3d::votenet/votenet_8xb16_sunrgbd-3d.py']
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
        num_seeds=1024,  # of the 20,000 points the pipeline samples
        group_size=32,
        embed_dims=384,
        depth=12,
        num_heads=6,
        drop_path_rate=0.1,
        fp_channels=(256, ),  # VoteHead's vote module reads 256 channels
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))

# pretrained transformer backbone: 0.1 x the head's learning rate
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
