from .dvae_schedule_hook import (DVAEScheduleHook, gumbel_temperature,
                                 kl_weight)

__all__ = ['DVAEScheduleHook', 'gumbel_temperature', 'kl_weight']
