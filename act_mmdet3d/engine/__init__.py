from .compat import apply_compat_patches
from .hooks import *  # noqa: F401,F403
from .optim_wrapper import BF16AutocastOptimWrapper

__all__ = ['apply_compat_patches', 'BF16AutocastOptimWrapper']
