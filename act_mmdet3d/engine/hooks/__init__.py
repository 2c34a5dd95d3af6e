from .checkpoint_hook import (AtomicCheckpointHook, CheckpointMatchHook,
                              find_last_complete_checkpoint,
                              is_complete_checkpoint)
from .dvae_schedule_hook import (DVAEScheduleHook, gumbel_temperature,
                                 kl_weight)
from .precise_bn_hook import PreciseBNHook, update_bn_stats
from .rng_state_hook import RNGStateHook, get_rng_states, set_rng_states

__all__ = [
    'AtomicCheckpointHook', 'CheckpointMatchHook', 'DVAEScheduleHook',
    'PreciseBNHook', 'RNGStateHook', 'find_last_complete_checkpoint',
    'get_rng_states', 'gumbel_temperature', 'is_complete_checkpoint',
    'kl_weight', 'set_rng_states', 'update_bn_stats'
]
