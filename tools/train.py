"""Train a model from an mmengine config (mmdet3d's ``tools/train.py`` CLI).

Example::

    python tools/train.py configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py
    python tools/train.py CONFIG --work-dir work_dirs/x --resume
    python tools/train.py CONFIG --cfg-options train_dataloader.batch_size=16
    python tools/train.py CONFIG --seed 1 --accumulate 2

The config is trained as written: its runtime (``configs/_base_/``:
atomic checkpoints, RNG states in checkpoints, the exact-resume loop, so
``--resume`` continues a killed run exactly, even mid-epoch) is not
rewritten here. The flags below only set the config keys they name.
"""
import argparse
import logging
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import print_log

import act_mmdet3d  # noqa: F401  (registers modules)
from act_mmdet3d.compat import apply_all
from act_mmdet3d.engine.hooks import (CheckpointMatchHook,
                                      find_last_complete_checkpoint,
                                      is_complete_checkpoint)
from act_mmdet3d.utils import (build_runner, check_config, check_work_dir,
                               load_config, parse_runner_args, set_work_dir,
                               shut_down_process_group)


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
    return parse_runner_args(parser, argv)


def build_config(args) -> Config:
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    check_config(cfg)

    set_work_dir(cfg, args.work_dir, args.config)

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
    apply_all()
    args = parse_args(argv)
    cfg = build_config(args)
    runner = build_runner(cfg)
    if cfg.resume and cfg.load_from:
        runner.register_hook(CheckpointMatchHook(cfg.load_from))
    try:
        runner.train()
    finally:
        del runner
        shut_down_process_group()


if __name__ == '__main__':
    main()
