# mmdet3d's VoteNet on SUN RGB-D, the ACT transformer as backbone.
# Notes, sources and results: README.md beside this file.
_base_ = [
    'mmdet3d::votenet/votenet_8xb16_sunrgbd-3d.py',
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
        in_channels=4,  # xyz + height from the pipeline; xyz enter ACT
        num_seeds=1024,  # of the 20,000 points the pipeline samples
        fp_channels=(256, )))  # VoteHead's vote module reads 256 channels

optim_wrapper = dict(paramwise_cfg=_base_.act_backbone_paramwise_cfg)
