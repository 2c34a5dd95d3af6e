"""Train a model from an mmengine config (mmdet3d's ``tools/train.py`` CLI).

Example::

    python tools/train.py configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py
    python tools/train.py CONFIG --work-dir work_dirs/x --resume
    python tools/train.py CONFIG --cfg-options train_dataloader.batch_size=16
    python tools/train.py CONFIG --seed 1 --accumulate 2

Reliability defaults (README, "Scale and reliability"): checkpoints are
written atomically (``AtomicCheckpointHook``, also in place of a config's plain
``CheckpointHook``), carry the RNG states (``RNGStateHook``), and
epoch-based configs train with ``ExactResumeEpochBasedTrainLoop``, so
``--resume`` continues a killed run exactly, even mid-epoch.
"""
import argparse
import difflib
import gc
import logging
import numbers
import os
import os.path as osp
import sys
import tempfile

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import act_mmdet3d  # noqa: E402,F401  (registers modules, applies fixes)
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from act_mmdet3d.engine.hooks import (  # noqa: E402
    CheckpointMatchHook, find_last_complete_checkpoint,
    is_complete_checkpoint)

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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train an ACT model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='mixed precision: float16 AmpOptimWrapper on GPU, bfloat16 '
        'autocast on CPU')
    parser.add_argument(
        '--sync_bn',
        choices=['none', 'torch', 'mmcv'],
        default='none',
        help='convert BatchNorm layers to SyncBatchNorm')
    parser.add_argument(
        '--accumulate',
        type=int,
        default=1,
        metavar='N',
        help='gradient accumulation: one optimizer step every N iterations '
        '(optim_wrapper.accumulative_counts); batch B with N accumulations '
        'trains like batch N*B (exactly so without BatchNorm statistics)')
    parser.add_argument(
        '--seed', type=int, help='random seed (randomness.seed)')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic algorithms (randomness.deterministic)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        default=False,
        help='scale the learning rate by the actual total batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, from the '
        'newest complete checkpoint in the work dir')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


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


def load_config(path: str) -> Config:
    """``Config.fromfile`` with errors that name the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    try:
        return Config.fromfile(path)
    except (FileNotFoundError, ImportError, KeyError) as e:
        if path in str(e):
            raise
        raise type(e)(f'{path}: {e}') from e
    except Exception as e:  # syntax errors, bad JSON / YAML
        if path in str(e):
            raise
        raise ValueError(f'{path}: cannot parse the config '
                         f'({type(e).__name__}: {e})') from e


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
    """Fail early, naming the key, on the config mistakes that mmengine
    reports late or not at all: a misspelt top-level key (silently
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


def check_work_dir(work_dir: str) -> None:
    """Raise ``PermissionError`` naming ``work_dir`` unless it can be
    created and written (before any training is done)."""
    try:
        os.makedirs(work_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=work_dir):
            pass
    except OSError as e:
        raise PermissionError(f'work dir {work_dir} is not writable '
                              f'({type(e).__name__}: {e})') from e


def use_reliable_runtime(cfg: Config) -> None:
    """Atomic checkpoints, RNG states in checkpoints, exact mid-epoch
    resume: swap mmengine's ``CheckpointHook`` / ``EpochBasedTrainLoop``
    for their drop-in subclasses (same arguments)."""
    hooks = cfg.setdefault('default_hooks', {})
    ckpt = hooks.get('checkpoint')
    if isinstance(ckpt, dict) and ckpt.get('type') == 'CheckpointHook':
        ckpt['type'] = 'AtomicCheckpointHook'
    if 'rng_state' not in hooks:
        hooks['rng_state'] = dict(type='RNGStateHook')
    loop = cfg.get('train_cfg')
    if isinstance(loop, dict):
        if loop.get('type') == 'EpochBasedTrainLoop':
            loop['type'] = 'ExactResumeEpochBasedTrainLoop'
        elif 'type' not in loop and loop.get('by_epoch', False):
            loop.pop('by_epoch')
            loop['type'] = 'ExactResumeEpochBasedTrainLoop'


def build_config(args) -> Config:
    cfg = load_config(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_config(cfg)
    use_reliable_runtime(cfg)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper in ('AmpOptimWrapper', 'BF16AutocastOptimWrapper'):
            print_log('AMP training is already enabled in your config.',
                      logger='current', level=logging.WARNING)
        elif torch.cuda.is_available():
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
        else:
            cfg.optim_wrapper.type = 'BF16AutocastOptimWrapper'

    if args.sync_bn != 'none':
        if args.launcher != 'none' and not torch.cuda.is_available():
            raise RuntimeError(
                f'--sync_bn {args.sync_bn} needs CUDA: SyncBatchNorm runs on '
                'GPUs only (torch refuses CPU tensors); train without it on '
                'CPU')
        if cfg.get('runner_type') == 'FlexibleRunner':
            cfg.strategy.sync_bn = args.sync_bn
        else:
            cfg.sync_bn = args.sync_bn

    if args.accumulate < 1:
        raise ValueError(f'--accumulate must be >= 1, got {args.accumulate}')
    if args.accumulate > 1:
        cfg.optim_wrapper.accumulative_counts = args.accumulate
    if args.seed is not None:
        cfg.setdefault('randomness', {})['seed'] = args.seed
    if args.deterministic:
        cfg.setdefault('randomness', {})['deterministic'] = True

    if args.auto_scale_lr:
        if 'auto_scale_lr' in cfg and 'enable' in cfg.auto_scale_lr \
                and 'base_batch_size' in cfg.auto_scale_lr:
            cfg.auto_scale_lr.enable = True
        else:
            raise KeyError('--auto-scale-lr needs `auto_scale_lr` with '
                           '`enable` and `base_batch_size` in the config')
    counts = cfg.optim_wrapper.get('accumulative_counts', 1)
    if counts > 1 and cfg.get('auto_scale_lr', {}).get('enable', False):
        # mmengine scales by world_size x batch_size only; one optimizer
        # step here sees accumulative_counts times that many samples
        cfg.auto_scale_lr.base_batch_size = (
            cfg.auto_scale_lr.base_batch_size / counts)

    if args.resume not in (None, 'auto'):
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume checkpoint not found: '
                                    f'{args.resume}')
        if not is_complete_checkpoint(args.resume):
            raise ValueError(f'--resume checkpoint {args.resume} is '
                             'truncated or corrupt (not a complete '
                             'torch.save file)')
    check_work_dir(cfg.work_dir)
    if args.resume == 'auto':
        # the newest *complete* checkpoint (mmengine would take whatever
        # last_checkpoint names); none: train from scratch
        cfg.load_from = find_last_complete_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
        if cfg.load_from is None:
            print_log(f'--resume: no complete checkpoint in {cfg.work_dir}; '
                      'training from scratch', logger='current',
                      level=logging.WARNING)
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    if cfg.resume and cfg.load_from:
        runner.register_hook(CheckpointMatchHook(cfg.load_from))
    try:
        runner.train()
    finally:
        del runner
        shut_down_process_group()


def shut_down_process_group():
    """Free the DDP model, then destroy the process group, before exit.

    Leaving gloo's worker threads (held by the process group and by DDP's
    reducer) to the interpreter's teardown sometimes aborted a rank after
    training had finished ("terminate called without an active exception").
    """
    gc.collect()
    if torch.distributed.is_available() and \
            torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == '__main__':
    main()
