# Runtime shared by every ACT config (mmdet3d conventions).
# act_mmdet3d registers the modules; act_mmdet3d.compat.install applies the
# fixes to torch / mmengine / mmcv / mmdet3d that every runner needs
# (weights_only checkpoint loading, CPU-only distributed launches, mmcv's
# point ops on CPU): see act_mmdet3d/compat/__init__.py.
custom_imports = dict(
    imports=['act_mmdet3d', 'act_mmdet3d.compat.install'],
    allow_failed_imports=False)
default_scope = 'mmdet3d'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # written to <name>.tmp and renamed: a kill while saving never leaves a
    # truncated checkpoint; `last_checkpoint` always names a complete one
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # torch / numpy / python RNG states in every checkpoint, restored on
    # resume by ExactResumeEpochBasedTrainLoop, which also resumes mid-epoch
    # (the train loop the schedules name; a config without a schedule base
    # names it in its own train_cfg)
    rng_state=dict(type='RNGStateHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; act_mmdet3d.compat switches to gloo without CUDA
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)

