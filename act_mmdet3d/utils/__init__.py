"""Helpers the tools share (one place for each job)."""
from .scalars import (find_scalars, last_val, read_scalars, train_curve,
                      val_curve)
from .stage_run import last_checkpoint, run_stage

__all__ = [
    'find_scalars', 'last_val', 'read_scalars', 'train_curve', 'val_curve',
    'last_checkpoint', 'run_stage'
]
