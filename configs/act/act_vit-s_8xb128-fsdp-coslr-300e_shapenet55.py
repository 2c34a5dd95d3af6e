# ACT Stage II (configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py) on mmengine's
# FlexibleRunner with FSDPStrategy: parameters, gradients and optimizer
# states sharded across processes, for large teachers (e.g. a ViT-L
# teacher: vit_name='vit_large_patch16_384', encoder/tokens/decoder dims
# 1024) or a scaled-up student.
#
#   tools/dist_train.sh configs/act/act_vit-s_8xb128-fsdp-coslr-300e_shapenet55.py 8
#   (multi-node and the batch / learning-rate rule: README, "Scale and
#   reliability")
#
# Every ViT block (student encoder, decoder, the teacher's prompted ViT) is
# its own FSDP unit (act_vit_block_wrap_policy); the rest of the model,
# frozen teacher parts included, forms the root unit, so
# use_orig_params=True (frozen and trained parameters in one unit). The
# teacher itself must not be a unit: the pretrainer calls its
# extract_targets method, which FSDP would not gather. Checkpoints are
# full state dicts written by rank 0 ('full'): the same keys as the plain
# Stage II config, so downstream configs load them unchanged
# (prefix='backbone.'). On GPUs FSDP runs on each process's CUDA device;
# without CUDA (tests) on the CPU with gloo.
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
