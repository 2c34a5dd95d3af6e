from .checkpoint_hook import (AtomicCheckpointHook, CheckpointMatchHook,
                              find_last_complete_checkpoint,
                              is_complete_checkpoint)
from .dvae_schedule_hook import (DVAEScheduleHook, gumbel_temperature,
                                 kl_weight)
from .exact_resume import (ExactResumeEpochBasedTrainLoop, RNGStateHook,
                           get_rng_states, set_rng_states)
from .fsdp_policy import act_vit_block_wrap_policy
from .precise_bn_hook import PreciseBNHook, update_bn_stats

__all__ = [
    'AtomicCheckpointHook', 'CheckpointMatchHook', 'DVAEScheduleHook',
    'ExactResumeEpochBasedTrainLoop', 'PreciseBNHook', 'RNGStateHook',
    'act_vit_block_wrap_policy', 'find_last_complete_checkpoint',
    'get_rng_states', 'gumbel_temperature', 'is_complete_checkpoint',
    'kl_weight', 'set_rng_states', 'update_bn_stats'
]
