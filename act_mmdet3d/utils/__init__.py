"""Helpers the tools share (one place for each job)."""
from .cli import add_cfg_options, parse_runner_args, set_work_dir
from .config import check_config, load_config
from .runner import build_runner, check_work_dir, shut_down_process_group
from .scalars import (find_scalars, last_val, read_scalars, train_curve,
                      val_curve)
from .stage_run import last_checkpoint, run_stage

__all__ = [
    'add_cfg_options', 'parse_runner_args', 'set_work_dir',
    'build_runner', 'check_config', 'check_work_dir', 'load_config',
    'shut_down_process_group', 'find_scalars', 'last_val', 'read_scalars',
    'train_curve', 'val_curve', 'last_checkpoint', 'run_stage'
]
