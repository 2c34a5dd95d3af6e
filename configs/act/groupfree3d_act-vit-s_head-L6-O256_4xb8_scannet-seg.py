# mmdet3d's Group-Free 3D on ScanNet v2, the ACT transformer as backbone.
# Notes, sources and results: README.md beside this file.
_base_ = [
    'mmdet3d::groupfree3d/groupfree3d_head-L6-O256_4xb8_scannet-seg.py',
    '../_base_/models/act_scene_backbone.py',
]
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

model = dict(
    backbone=dict(
        _base_.act_scene_backbone,
        in_channels=3,  # this pipeline adds no height channel
        num_seeds=1024,  # 1024 seeds; the head keeps the top 256 (KPS)
        # the 288 channels of the head's decoder: the head stays as shipped
        fp_channels=(288, )))

# added to the stock config's decoder multipliers
optim_wrapper = dict(paramwise_cfg=_base_.act_backbone_paramwise_cfg)
