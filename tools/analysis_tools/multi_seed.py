"""Train a config with several seeds and report mean +- std of its results.

ACT's reported numbers vary from seed to seed (a known complaint about the
reference code); a figure is only meaningful with its spread. Each seed is
a plain ``tools/train.py --seed S`` run (with ``--deterministic`` if asked)
in ``WORK_DIR/seed<S>`` (``seed<S>_run<k>`` when a seed is repeated, e.g.
to check that a seed reproduces itself). The figure of a run is its last
validation record (``vis_data/scalars.json``); a config without validation
(pretraining) reports its last training ``loss``.

Example::

    python tools/analysis_tools/multi_seed.py \\
        configs/act/vit-s_1xb32-coslr-300e_modelnet40.py \\
        --seeds 0 1 2 --work-dir work_dirs/mn40_seeds --metric overall_acc
    # extra train.py arguments follow the known ones:
    python tools/analysis_tools/multi_seed.py CONFIG --seeds 0 1 \\
        --cfg-options train_cfg.max_epochs=10

Writes ``WORK_DIR/multi_seed.json``: ``runs`` (seed, work dir, figures) and
``summary`` (per metric: ``mean``, ``std`` (sample, ddof=1), ``n``).
"""
import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
from collections import Counter

from act_mmdet3d.utils import find_scalars, read_scalars

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SKIP = {'step', 'iter', 'epoch', 'time', 'data_time', 'lr', 'base_lr'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Run a config with several seeds; mean +- std')
    parser.add_argument('config')
    parser.add_argument(
        '--seeds', type=int, nargs='+', default=[0, 1, 2], metavar='S')
    parser.add_argument('--work-dir', help='default: work_dirs/<config>_seeds')
    parser.add_argument(
        '--metric', nargs='+', metavar='KEY',
        help='figures to report (default: every number of the last '
        'validation record, else the last training loss)')
    parser.add_argument(
        '--gpus', type=int, default=1,
        help='processes per run (> 1: tools/dist_train.sh)')
    parser.add_argument('--deterministic', action='store_true')
    args, train_args = parser.parse_known_args(argv)
    args.train_args = train_args
    if args.work_dir is None:
        name = osp.splitext(osp.basename(args.config))[0]
        args.work_dir = osp.join('work_dirs', f'{name}_seeds')
    return args


def run_dirs(work_dir, seeds):
    """``seed<S>``, or ``seed<S>_run<k>`` for the k-th repeat of a seed."""
    total, seen, dirs = Counter(seeds), Counter(), []
    for seed in seeds:
        seen[seed] += 1
        name = f'seed{seed}'
        if total[seed] > 1:
            name += f'_run{seen[seed]}'
        dirs.append(osp.join(work_dir, name))
    return dirs


def read_figures(run_dir, metrics=None):
    """The figures of the newest mmengine log in ``run_dir``."""
    log = find_scalars(run_dir)
    records = read_scalars(log)
    if metrics:
        found = [r for r in records if all(m in r for m in metrics)]
        if not found:
            raise KeyError(f'{log}: no record has {metrics}')
        return {m: float(found[-1][m]) for m in metrics}
    val = [r for r in records if 'iter' not in r]
    if val:
        return {
            k: float(v)
            for k, v in val[-1].items()
            if k not in SKIP and isinstance(v, (int, float))
        }
    train = [r for r in records if 'loss' in r]
    if not train:
        raise KeyError(f'{log}: no validation record and no loss')
    return {'loss': float(train[-1]['loss'])}


def summarize(figures):
    """Per metric: mean, sample std (ddof=1; 0 for one run), n, values."""
    summary = {}
    for key in figures[0]:
        values = [f[key] for f in figures]
        n = len(values)
        mean = sum(values) / n
        std = math.sqrt(sum((v - mean)**2
                            for v in values) / (n - 1)) if n > 1 else 0.
        summary[key] = dict(mean=mean, std=std, n=n, values=values)
    return summary


def train_command(args, seed, run_dir):
    extra = ['--work-dir', run_dir, '--seed', str(seed)]
    if args.deterministic:
        extra.append('--deterministic')
    if args.gpus > 1:
        return ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'),
                args.config, str(args.gpus), *extra, *args.train_args]
    return [sys.executable, osp.join(ROOT, 'tools', 'train.py'),
            args.config, *extra, *args.train_args]


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    env = dict(os.environ, PYTHON=sys.executable)
    runs = []
    for seed, run_dir in zip(args.seeds, run_dirs(args.work_dir,
                                                  args.seeds)):
        print(f'[multi_seed] seed {seed} -> {run_dir}', flush=True)
        proc = subprocess.run(train_command(args, seed, run_dir), env=env)
        if proc.returncode != 0:
            raise RuntimeError(f'seed {seed}: tools/train.py failed '
                               f'(exit {proc.returncode}); see {run_dir}')
        runs.append(dict(seed=seed, work_dir=run_dir,
                         figures=read_figures(run_dir, args.metric)))
    keys = set(runs[0]['figures'])
    for run in runs[1:]:
        if set(run['figures']) != keys:
            raise KeyError(
                f'{run["work_dir"]} reports {sorted(run["figures"])}, '
                f'{runs[0]["work_dir"]} {sorted(keys)}: pass --metric')
    summary = summarize([r['figures'] for r in runs])
    os.makedirs(args.work_dir, exist_ok=True)
    out = osp.join(args.work_dir, 'multi_seed.json')
    with open(out, 'w') as f:
        json.dump(dict(config=args.config, runs=runs, summary=summary), f,
                  indent=2)
    print(f'[multi_seed] {args.config}, seeds {args.seeds}:')
    for key, s in summary.items():
        values = ', '.join(f'{v:.4f}' for v in s['values'])
        print(f'  {key}: {s["mean"]:.4f} +- {s["std"]:.4f} '
              f'(n={s["n"]}; {values})')
    print(f'[multi_seed] wrote {out}')
    return summary


if __name__ == '__main__':
    main()
