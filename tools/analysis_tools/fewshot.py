"""Few-shot ModelNet40: train every fold of an N-way K-shot setting.

Each fold is a fresh runner, built as ``tools/train.py`` builds it (the
config as written, checked by ``check_config``; in this process, one after
the other), of a few-shot config whose three datasets are
``ModelNetFewShotDataset``; the tool sets their ``way`` / ``shot`` / ``fold``
and the head's ``num_classes = way``. The reported figure is, as the paper
reports it, mean +- std over the folds of each fold's test accuracy: the
LAST epoch's accuracy by default, the best epoch's with ``--best`` (labelled
as such; that is a maximum over test-set evaluations). std is numpy's
``np.std`` (population, ddof=0).

Example::

    python tools/analysis_tools/fewshot.py configs/act/vit-s_1xb32-coslr-150e_modelnet40-fewshot.py --way 5 --shot 10
    python tools/analysis_tools/fewshot.py configs/demo/vit-s_1xb16-coslr-6e_modelnet40-fewshot-demo.py \
        --way 5 --shot 10 --folds 0 1 --work-dir work_dirs/fewshot_demo

Output: ``WORK_DIR/fewshot_{way}w{shot}s.json`` (rewritten after every fold,
so finished folds survive an interruption) and a table at the end; each
fold's logs and checkpoints are in ``WORK_DIR/{way}way{shot}shot/fold_{k}``.
"""
import argparse
import copy
import gc
import itertools
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import print_log
from terminaltables import AsciiTable

import act_mmdet3d  # noqa: F401  (registers modules)
from act_mmdet3d.compat import apply_all
from act_mmdet3d.utils import (add_cfg_options, build_runner, check_config,
                               load_config)
from mmdet3d.registry import DATASETS

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
DATASET_TYPE = 'ModelNetFewShotDataset'
_RUN_IDS = itertools.count()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Few-shot ModelNet40: train the folds of one N-way '
        'K-shot setting and report mean +- std of their test accuracy')
    parser.add_argument('config', help='few-shot config file')
    parser.add_argument('--way', type=int, required=True,
                        help='N (the paper: 5 or 10)')
    parser.add_argument('--shot', type=int, required=True,
                        help='K (the paper: 10 or 20)')
    parser.add_argument('--folds', type=int, nargs='+',
                        default=list(range(10)),
                        help='folds to run (default: 0..9)')
    parser.add_argument('--work-dir',
                        help='output folder (default: work_dirs/<config>)')
    parser.add_argument(
        '--load-from',
        help='checkpoint whose backbone.* weights initialise the backbone '
        'of every fold (Stage II or fine-tuned); overrides the config')
    parser.add_argument('--scratch', action='store_true',
                        help='train from scratch (no pretrained backbone)')
    parser.add_argument('--seed', type=int,
                        help='seed of every fold (default: the config\'s '
                        'randomness.seed)')
    parser.add_argument(
        '--best', action='store_true',
        help='report each fold\'s best-epoch accuracy instead of its last '
        'epoch\'s (labelled "best epoch")')
    parser.add_argument('--metric', default='overall_acc',
                        help='validation metric to report')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.way < 2 or args.shot < 1:
        parser.error(f'--way must be >= 2 and --shot >= 1, got {args.way}, '
                     f'{args.shot}')
    if min(args.folds) < 0 or len(set(args.folds)) != len(args.folds):
        parser.error(f'--folds must be distinct ints >= 0, got {args.folds}')
    if args.load_from and args.scratch:
        parser.error('--load-from and --scratch exclude each other')
    if args.load_from and not osp.isfile(args.load_from):
        parser.error(f'--load-from checkpoint not found: {args.load_from}')
    return args


class FoldRecorder(Hook):
    """Records the validation metric after every validation of a fold."""

    priority = 'LOWEST'

    def __init__(self, metric: str):
        self.metric = metric
        self.history: List[List[float]] = []  # [epoch, value]

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None):
        if not metrics or self.metric not in metrics:
            raise KeyError(f'few-shot: the validation metrics have no '
                           f'"{self.metric}" (got {sorted(metrics or {})}); '
                           'choose one with --metric')
        self.history.append([int(runner.epoch), float(metrics[self.metric])])


def _type_name(dataset_cfg: dict) -> str:
    kind = dataset_cfg.get('type')
    return kind.__name__ if isinstance(kind, type) else str(kind).split(
        '.')[-1]


def read_label_names(value, config: str) -> Optional[List[str]]:
    """``label_names`` of the config: None, a list, or a names txt file."""
    if value is None:
        return None
    if isinstance(value, str):
        if not osp.isfile(value):
            raise FileNotFoundError(f'{config}: label_names file not found: '
                                    f'{value}')
        with open(value) as f:
            return [line.strip() for line in f if line.strip()]
    return [str(v) for v in value]


def fold_class_names(dataset_cfg: dict, names: Sequence[str]) -> List[str]:
    """Names of a fold's episode labels 0..way-1, read from its pickle.

    Args:
        dataset_cfg (dict): the fold's training dataset config.
        names (Sequence[str]): names of the pickles' third tuple element.
    """
    cfg = copy.deepcopy(dataset_cfg)
    cfg.update(split='train', pipeline=[], serialize_data=False)
    cfg.pop('metainfo', None)
    dataset = DATASETS.build(cfg)
    way = dataset.way
    mapping = {}
    for info in dataset.data_list:
        if 'modelnet_label' in info:
            mapping[info['gt_label']] = info['modelnet_label']
    out = []
    for label in range(way):
        index = mapping.get(label)
        if index is None or not 0 <= index < len(names):
            raise ValueError(
                f'{dataset.ann_file}: episode label {label} has class index '
                f'{index}, not in the {len(names)} label_names')
        out.append(names[index])
    return out


def fold_config(base: Config, way: int, shot: int, fold: int, work_dir: str,
                seed: Optional[int], load_from: Optional[str],
                scratch: bool) -> Config:
    """The config of one fold: datasets, head size, work dir, seed."""
    cfg = copy.deepcopy(base)
    for key in DATALOADERS:
        loader = cfg.get(key)
        if loader is None:
            continue
        dataset = loader.get('dataset')
        if dataset is None or _type_name(dataset) != DATASET_TYPE:
            raise ValueError(
                f'{base.filename}: {key}.dataset must be a {DATASET_TYPE}, '
                f'got {None if dataset is None else dataset.get("type")!r}')
        if dataset.get('ann_file'):
            raise ValueError(f'{base.filename}: {key}.dataset.ann_file is '
                             'set; it would override way/shot/fold')
        dataset.update(way=way, shot=shot, fold=fold)
    for key in ('train_dataloader', 'val_dataloader'):
        if cfg.get(key) is None:
            raise KeyError(f'{base.filename}: no {key} (the fold\'s test '
                           'split is validated as val_dataloader)')
    cfg.model.head.num_classes = way
    if load_from:
        cfg.model.backbone.init_cfg = dict(
            type='Pretrained', checkpoint=load_from, prefix='backbone.')
    elif scratch:
        cfg.model.backbone.init_cfg = None
    init = cfg.model.backbone.get('init_cfg')
    if isinstance(init, dict) and init.get('type') == 'Pretrained' and \
            not osp.isfile(init.get('checkpoint', '')):
        raise FileNotFoundError(
            f'{base.filename}: pretrained backbone checkpoint not found: '
            f'{init.get("checkpoint")} (give one with --load-from, or train '
            'from scratch with --scratch)')
    names = read_label_names(cfg.get('label_names'), base.filename)
    if names is not None:
        classes = fold_class_names(cfg.train_dataloader.dataset, names)
        for key in DATALOADERS:
            if cfg.get(key) is not None:
                cfg[key].dataset.metainfo = dict(classes=classes)
    randomness = dict(cfg.get('randomness') or {})
    if seed is not None:
        randomness['seed'] = seed
    cfg.randomness = randomness
    cfg.work_dir = osp.join(work_dir, f'{way}way{shot}shot', f'fold_{fold}')
    # unique per run in this process (mmengine appends the timestamp): the
    # logger, message hub and visualizer of a fold are looked up by it
    cfg.experiment_name = (f'fewshot_{way}w{shot}s_fold{fold}_'
                           f'{os.getpid()}_{next(_RUN_IDS)}')
    return cfg


def _init_description(cfg: Config) -> str:
    init = cfg.model.backbone.get('init_cfg')
    if isinstance(init, dict) and init.get('type') == 'Pretrained':
        return f'pretrained: {init.get("checkpoint")}'
    return 'from scratch'


def run_fold(cfg: Config, metric: str) -> dict:
    """Train one fold; its seed, validation history, last / best value."""
    check_config(cfg)
    runner = build_runner(cfg)
    recorder = FoldRecorder(metric)
    runner.register_hook(recorder)
    runner.logger.info(f'few-shot fold {cfg.train_dataloader.dataset.fold}: '
                       f'seed {runner.seed}, backbone '
                       f'{_init_description(cfg)}')
    start = time.time()
    try:
        runner.train()
        max_epochs = runner.max_epochs
        if not recorder.history or recorder.history[-1][0] != max_epochs:
            runner.val()  # the last epoch had no validation
        result = dict(
            seed=int(runner.seed),
            train_file=runner.train_dataloader.dataset.ann_file,
            num_train=len(runner.train_dataloader.dataset),
            num_test=len(runner.val_dataloader.dataset),
            classes=list(runner.val_dataloader.dataset.metainfo['classes']),
            num_classes=getattr(
                getattr(runner.model, 'head', None), 'num_classes', None),
            max_epochs=int(max_epochs),
            time_s=round(time.time() - start, 2),
            work_dir=cfg.work_dir)
    finally:
        del runner
        gc.collect()
    history = recorder.history
    best = max(history, key=lambda item: item[1])  # first of ties
    result.update(
        last_epoch=history[-1][0],
        last_acc=history[-1][1],
        best_epoch=best[0],
        best_acc=best[1],
        history=history)
    return result


def summarize(folds: List[dict], best: bool) -> dict:
    """mean / std (numpy, ddof=0) of the reported per-fold accuracies."""
    key = 'best_acc' if best else 'last_acc'
    accs = np.array([f[key] for f in folds], dtype=np.float64)
    return dict(
        report='best epoch' if best else 'last epoch',
        accuracies=accs.tolist(),
        mean=float(accs.mean()),
        std=float(accs.std()),
        num_folds=len(accs))


def format_table(result: dict) -> str:
    """The per-fold table with the mean +- std row."""
    rows = [['fold', 'seed', 'train / test', 'last acc (epoch)',
             'best acc (epoch)', 'time (s)']]
    for f in result['per_fold']:
        rows.append([
            f['fold'], f['seed'], f'{f["num_train"]} / {f["num_test"]}',
            f'{f["last_acc"]:.2f} ({f["last_epoch"]})',
            f'{f["best_acc"]:.2f} ({f["best_epoch"]})', f'{f["time_s"]:.1f}'
        ])
    summary = ['mean +- std', '', '', '', '', '']
    col = 4 if result['report'] == 'best epoch' else 3
    summary[col] = f'{result["mean"]:.2f} +- {result["std"]:.2f}'
    rows.append(summary)
    title = (f' {result["way"]}-way {result["shot"]}-shot, '
             f'{result["num_folds"]} folds, {result["report"]} '
             f'{result["metric"]} ')
    return AsciiTable(rows, title).table


def main(argv=None) -> dict:
    apply_all()
    args = parse_args(argv)
    base = load_config(args.config, args.cfg_options)
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    os.makedirs(work_dir, exist_ok=True)
    out_file = osp.join(work_dir, f'fewshot_{args.way}w{args.shot}s.json')

    result = dict(
        config=args.config,
        way=args.way,
        shot=args.shot,
        folds=args.folds,
        metric=args.metric,
        backbone=None,
        cfg_options=args.cfg_options,
        per_fold=[])
    for fold in args.folds:
        cfg = fold_config(base, args.way, args.shot, fold, work_dir,
                          args.seed, args.load_from, args.scratch)
        result['backbone'] = _init_description(cfg)
        print_log(
            f'few-shot {args.way}-way {args.shot}-shot: fold {fold} '
            f'({len(result["per_fold"]) + 1}/{len(args.folds)}), seed '
            f'{cfg.randomness.get("seed")}, work dir {cfg.work_dir}',
            logger='current')
        fold_result = dict(fold=fold, **run_fold(cfg, args.metric))
        result['per_fold'].append(fold_result)
        result.update(summarize(result['per_fold'], args.best))
        with open(out_file, 'w') as f:
            json.dump(result, f, indent=2)
        print_log(
            f'few-shot fold {fold}: seed {fold_result["seed"]}, last '
            f'{fold_result["last_acc"]:.2f} (epoch '
            f'{fold_result["last_epoch"]}), best {fold_result["best_acc"]:.2f}'
            f' (epoch {fold_result["best_epoch"]}), '
            f'{fold_result["time_s"]:.1f} s',
            logger='current')
    print_log('\n' + format_table(result), logger='current')
    print_log(
        f'few-shot {args.way}w{args.shot}s ({result["report"]}): '
        f'{result["mean"]:.2f} +- {result["std"]:.2f} over '
        f'{result["num_folds"]} folds; {result["backbone"]}; written to '
        f'{out_file}',
        logger='current')
    result['json'] = out_file
    return result


if __name__ == '__main__':
    main()
