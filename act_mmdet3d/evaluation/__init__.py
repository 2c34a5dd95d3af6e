"""Evaluation metrics of ACT (registered in mmdet3d's METRICS)."""
from .metrics import *  # noqa: F401,F403
from .metrics import __all__  # noqa: F401
