"""What mmdet3d's ``tools/train.py`` and ``tools/test.py`` share on the
command line: the launcher arguments and where the work dir goes."""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config, DictAction


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options key=value ...``: mmengine's ``DictAction``, the
    config overrides every config-reading tool takes."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None):
    """Add ``--cfg-options``, ``--launcher`` and ``--local_rank`` (the
    arguments last in mmdet3d's train and test tools) to ``parser``, parse
    ``argv`` and export ``--local_rank`` as ``LOCAL_RANK`` unless the
    launcher has set it."""
    add_cfg_options(parser)
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


def set_work_dir(cfg: Config, work_dir: Optional[str], config: str) -> None:
    """``cfg.work_dir``: ``--work-dir`` when given, else the config's own,
    else ``./work_dirs/<config file name>`` (mmdet3d's order)."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
