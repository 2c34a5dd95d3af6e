from .fsdp_policy import act_vit_block_wrap_policy
from .hooks import *  # noqa: F401,F403
from .optim_wrapper import BF16AutocastOptimWrapper
from .runner import ExactResumeEpochBasedTrainLoop

__all__ = [
    'BF16AutocastOptimWrapper', 'ExactResumeEpochBasedTrainLoop',
    'act_vit_block_wrap_policy'
]
