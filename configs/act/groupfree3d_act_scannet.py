# mmdet3d's own Group-Free 3D (6 decoder layers, 256 proposals) on ScanNet
# v2 with the ACT transformer as its backbone: the stock config (mmdet3d's
# ScanNetDataset, pipelines, GroupFree3DHead, IndoorMetric) with the
# backbone swapped; see configs/act/votenet_act_scannet.py and
# the README (3D object detection).
_base_ = ['mmdet3d::groupfree3d/groupfree3d_head-L6-O256_4xb8_scannet-seg.py']
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
        in_channels=3,  # this pipeline adds no height channel
        num_seeds=1024,  # 1024 seeds; the head keeps the top 256 (KPS)
        group_size=32,
        embed_dims=384,
        depth=12,
        num_heads=6,
        drop_path_rate=0.1,
        # a 1x1 conv to the 288 channels of the head's decoder, so the head
        # stays as shipped
        fp_channels=(288, ),
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))

# pretrained transformer backbone: 0.1 x the head's learning rate (added to
# the stock config's decoder multipliers)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
