from .act_pretrainer import ACTPretrainer

__all__ = ['ACTPretrainer']
