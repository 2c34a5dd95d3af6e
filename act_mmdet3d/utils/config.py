"""Loading and checking a config, as every runner-building tool does.

``tools/train.py``, ``tools/test.py`` and ``tools/analysis_tools/
fewshot.py`` read a config with :func:`load_config` and train it as written:
the runtime (atomic checkpoints, RNG states, exact-resume loop) is chosen
by the config (``configs/_base_/``), never rewritten by a tool.
"""
import argparse
import difflib
import numbers
import os.path as osp
from typing import Optional, Sequence, Union

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

# top-level config keys the runners read (a near miss is a typo)
RUNNER_KEYS = (
    'model', 'work_dir', 'experiment_name', 'train_dataloader',
    'val_dataloader', 'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg',
    'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'auto_scale_lr', 'default_hooks', 'custom_hooks', 'data_preprocessor',
    'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor',
    'log_level', 'visualizer', 'default_scope', 'randomness', 'runner_type',
    'strategy', 'custom_imports', 'sync_bn', 'find_unused_parameters',
    'model_wrapper_cfg', 'compile', 'activation_checkpointing',
    'efficient_conv_bn_eval', 'cfg')


def load_config(path: str,
                cfg_options: Optional[Union[dict, Sequence[str]]] = None
                ) -> Config:
    """``Config.fromfile`` with errors that name the file, then the
    overrides (a dict, or ``--cfg-options``' ``['key=value', ...]``); the
    config's ``default_scope`` becomes the current scope."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except (FileNotFoundError, ImportError, KeyError) as e:
        if path in str(e):
            raise
        raise type(e)(f'{path}: {e}') from e
    except Exception as e:  # syntax errors, bad JSON / YAML
        if path in str(e):
            raise
        raise ValueError(f'{path}: cannot parse the config '
                         f'({type(e).__name__}: {e})') from e
    if cfg_options and not isinstance(cfg_options, dict):
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg_options = parser.parse_args(['--o', *cfg_options]).o
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    return cfg


def _positive_int(cfg, dotted: str, minimum: int = 1):
    """Raise naming ``dotted`` unless that config value is an int >=
    ``minimum`` (a missing key passes)."""
    node = cfg
    for part in dotted.split('.'):
        if not isinstance(node, (dict, Config)) or part not in node:
            return
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int) \
            or node < minimum:
        raise TypeError(f'config key {dotted} must be an int >= {minimum}, '
                        f'got {node!r}')


def _check_points_vs_groups(cfg: Config) -> None:
    """The tokenizer's FPS centres and kNN groups need enough points: the
    smallest ``num_points`` of the training data / pipeline must be >=
    ``model.backbone.num_groups`` and ``group_size``."""
    backbone = cfg.model.get('backbone')
    dataset = cfg.train_dataloader.get('dataset')
    if not isinstance(backbone, dict) or not isinstance(dataset, dict):
        return
    sizes = []
    if isinstance(dataset.get('num_points'), int):
        sizes.append((dataset.num_points,
                      'train_dataloader.dataset.num_points'))
    for i, step in enumerate(dataset.get('pipeline') or []):
        if isinstance(step, dict) and isinstance(step.get('num_points'),
                                                 int):
            sizes.append((step['num_points'],
                          f'train_dataloader.dataset.pipeline[{i}]'
                          '.num_points'))
    if not sizes:
        return
    points, source = min(sizes)
    for key in ('num_groups', 'group_size'):
        value = backbone.get(key)
        if isinstance(value, int) and value > points:
            raise ValueError(f'model.backbone.{key}={value} exceeds the '
                             f'{points} points per cloud of {source}')


def check_config(cfg: Config) -> None:
    """Fail early, naming the key, on the training-config mistakes that
    mmengine reports late or not at all: a misspelt top-level key (silently
    ignored), a missing / non-dict section, wrong types of the main
    numbers."""
    for key in cfg.keys():
        if key in RUNNER_KEYS:
            continue
        close = difflib.get_close_matches(key, RUNNER_KEYS, n=1, cutoff=0.85)
        if close:
            raise KeyError(f'config key {key!r} is not read by the runner; '
                           f'did you mean {close[0]!r}?')
    for key in ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper'):
        if key not in cfg or cfg[key] is None:
            raise KeyError(f'config key {key!r} is missing: training needs '
                           'model, train_dataloader, train_cfg and '
                           'optim_wrapper')
        if not isinstance(cfg[key], dict):
            raise TypeError(f'config key {key!r} must be a dict, got '
                            f'{type(cfg[key]).__name__}')
    _positive_int(cfg, 'train_dataloader.batch_size')
    _positive_int(cfg, 'train_dataloader.num_workers', minimum=0)
    _positive_int(cfg, 'train_cfg.max_epochs')
    _positive_int(cfg, 'train_cfg.max_iters')
    _positive_int(cfg, 'optim_wrapper.accumulative_counts')
    _check_points_vs_groups(cfg)
    lr = cfg.optim_wrapper.get('optimizer', {}).get('lr')
    if lr is not None and (isinstance(lr, bool)
                           or not isinstance(lr, numbers.Real) or lr <= 0):
        raise TypeError('config key optim_wrapper.optimizer.lr must be a '
                        f'positive number, got {lr!r}')
