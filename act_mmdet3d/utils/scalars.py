"""mmengine's ``vis_data/scalars.json``: the records of one training run.

mmengine's ``LocalVisBackend`` appends one JSON object per line: training
records (every ``LoggerHook`` interval) carry ``iter`` and e.g. ``loss``,
``lr``, ``acc``; validation records carry the metrics and ``step`` = the
epoch, without ``iter``.
"""
import glob
import json
import os.path as osp
from typing import List, Sequence, Tuple


def find_scalars(path: str) -> str:
    """The ``scalars.json`` of ``path``: the file itself, or in a work
    dir the newest run's ``<timestamp>/vis_data/scalars.json``."""
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path}: no such work dir or scalars.json')
    files = sorted(
        glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')) +
        glob.glob(osp.join(path, 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{path}: no mmengine log (<timestamp>/vis_data/scalars.json); '
            'is it the work dir of a tools/train.py run?')
    # timestamped run folders sort by time: the last is the newest
    return files[-1]


def read_scalars(path: str) -> List[dict]:
    """The records of one run, in logging order (``path``: see
    :func:`find_scalars`). A line that is not JSON (a run killed while
    logging) raises ``ValueError`` naming the file and line."""
    path = find_scalars(path)
    records = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}, line {n}: not JSON ({e}); was '
                                 'the run killed while logging?') from e
    if not records:
        raise ValueError(f'{path}: no records')
    return records


def train_curve(records: Sequence[dict],
                key: str) -> Tuple[List[int], List[float]]:
    """``(iters, values)`` of ``key`` in the training records."""
    pairs = [(r['iter'], r[key]) for r in records if key in r and 'iter' in r]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def val_curve(records: Sequence[dict],
              key: str) -> Tuple[List[int], List[float]]:
    """``(epochs, values)`` of ``key`` in the validation records."""
    pairs = [(r['step'], r[key]) for r in records
             if key in r and 'iter' not in r and 'step' in r]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def last_val(records: Sequence[dict], key: str) -> float:
    """The last validation value of ``key``; ``KeyError`` when none."""
    _, values = val_curve(records, key)
    if not values:
        raise KeyError(f'no validation {key!r} in the log')
    return values[-1]
