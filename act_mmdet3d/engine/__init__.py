from .compat import apply_compat_patches
from .optim_wrapper import BF16AutocastOptimWrapper

__all__ = ['apply_compat_patches', 'BF16AutocastOptimWrapper']
