"""Evaluate a checkpoint on a config's test set (mmdet3d's CLI).

Example::

    python tools/test.py configs/act/vit-s_1xb32-coslr-300e_modelnet40.py ckpt.pth
"""
import argparse
import os.path as osp

import act_mmdet3d  # noqa: F401  (registers modules)
from act_mmdet3d.compat import apply_all
from act_mmdet3d.engine.hooks import (CheckpointMatchHook,
                                      is_complete_checkpoint)
from act_mmdet3d.utils import (build_runner, check_work_dir, load_config,
                               parse_runner_args, set_work_dir,
                               shut_down_process_group)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test an ACT model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    return parse_runner_args(parser, argv)


def main(argv=None):
    apply_all()
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: '
                                f'{args.checkpoint}')
    if not is_complete_checkpoint(args.checkpoint):
        raise ValueError(f'checkpoint {args.checkpoint} is truncated or '
                         'corrupt (not a complete torch.save file)')
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)
    check_work_dir(cfg.work_dir)
    cfg.load_from = args.checkpoint
    runner = build_runner(cfg)
    # mmengine loads with strict=False: refuse another model's checkpoint
    runner.register_hook(CheckpointMatchHook(args.checkpoint))
    try:
        return runner.test()
    finally:
        del runner
        shut_down_process_group()


if __name__ == '__main__':
    main()
