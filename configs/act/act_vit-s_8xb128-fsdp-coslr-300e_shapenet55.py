# ACT Stage II on mmengine's FlexibleRunner with FSDP (sharded).
# Notes, sources and results: README.md beside this file.
_base_ = ['./act_vit-s_1xb128-coslr-300e_shapenet55.py']

runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        use_orig_params=True,
        sharding_strategy='FULL_SHARD',
        auto_wrap_policy=dict(type='act_vit_block_wrap_policy')),
    state_dict_cfg='full')
