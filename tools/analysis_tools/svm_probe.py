"""Linear SVM probe of a frozen ACT encoder (the Point-BERT family's test).

Every cloud of the train and test splits of a classification config goes
through the frozen backbone (eval mode, no masking, the config's TEST
pipeline for both splits: no augmentation); its feature is the max-pool and
the mean-pool of the final (LayerNorm-ed) group tokens, concatenated:
(B, G, C) -> (B, 2C). A scikit-learn ``LinearSVC`` fitted on the training
features is scored on the test features.

Example::

    python tools/analysis_tools/svm_probe.py \
        configs/act/vit-s_1xb32-coslr-300e_modelnet40.py \
        work_dirs/act_vit-s_1xb128-coslr-300e_shapenet55/epoch_300.pth
    python tools/analysis_tools/svm_probe.py \
        configs/demo/vit-s_1xb16-coslr-6e_modelnet40-demo.py \
        --out work_dirs/svm_probe/demo_random.json      # random init

CHECKPOINT may be a Stage II pretrainer checkpoint or a fine-tuned
classifier checkpoint (both hold ``backbone.*`` keys, loaded strictly);
without one the backbone keeps its seeded random initialisation (reported
as such).

Reference values: ACT's own ``evaluate_svm`` (tools/runner_pretrain.py)
uses ``LinearSVC()`` (C = 1.0), the default here; ReCon uses C = 0.075
with [max over its 3 special tokens; max + mean of the group tokens],
Point-M2AE a linear ``SVC`` with C = 0.012 on max + mean (summed).
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
import warnings
from typing import Optional, Tuple

import act_mmdet3d.compat.install  # noqa: F401  (registers, applies fixes)
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar
from terminaltables import AsciiTable
from torch import Tensor
from torch.utils.data import DataLoader

from act_mmdet3d.engine.checkpoint import load_prefixed_state_dict
from act_mmdet3d.models.data_preprocessors import (build_data_preprocessor,
                                                   stack_points)
from act_mmdet3d.utils import add_cfg_options
from mmdet3d.registry import DATASETS, MODELS

PREFIX = 'backbone.'
#: the C values ``--C cv`` chooses from
C_GRID = (1e-3, 1e-2, 1e-1, 1., 10.)


def parse_C(text: str):
    """``--C``: a positive number or ``'cv'``."""
    if text == 'cv':
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.
    if not value > 0:
        raise argparse.ArgumentTypeError(
            f'--C {text!r}: expected a positive number or "cv"')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Linear SVM probe of a frozen ACT backbone')
    parser.add_argument('config', help='classification config (backbone, '
                        'train / test datasets, test pipeline)')
    parser.add_argument('checkpoint', nargs='?',
                        help='Stage II or fine-tuned checkpoint with '
                        'backbone.* keys (default: random init)')
    parser.add_argument('--data-root',
                        help='override data_root of both splits')
    parser.add_argument('--C', type=parse_C, default=1.0,
                        help='LinearSVC C (default 1.0: ACT\'s LinearSVC()), '
                        'or "cv": chosen by 5-fold cross-validation on the '
                        f'TRAINING features from {C_GRID}')
    parser.add_argument('--standardize', action='store_true',
                        help='z-score every feature with the training '
                        'split\'s mean and std before the SVM (MAE\'s '
                        'BatchNorm without affine before its linear probe)')
    parser.add_argument('--max-iter', type=int, default=1000,
                        help='LinearSVC max_iter (default 1000, sklearn\'s)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--num-workers', type=int, default=0)
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random init and of LinearSVC')
    parser.add_argument('--device', default=None,
                        help='cuda or cpu (default: cuda when available)')
    parser.add_argument('--out', help='JSON file for the result (default: '
                        'work_dirs/svm_probe/<config>_<checkpoint>.json)')
    parser.add_argument('--save-features',
                        help='also save the features and labels (.npz)')
    add_cfg_options(parser)
    return parser.parse_args(argv)


# --------------------------------------------------------------- backbone
def build_backbone(cfg: Config) -> torch.nn.Module:
    """The config's backbone, unmasked, final tokens only, no init_cfg."""
    backbone_cfg = copy.deepcopy(cfg.model.get('backbone'))
    if backbone_cfg is None:
        raise KeyError(f'{cfg.filename}: no model.backbone')
    backbone_cfg.update(mask_ratio=0., out_indices=-1, init_cfg=None)
    return MODELS.build(backbone_cfg)


def load_backbone(backbone: torch.nn.Module, path: str) -> dict:
    """Load the checkpoint's ``backbone.*`` weights strictly (a Stage II
    pretrainer or a fine-tuned classifier checkpoint); a short report."""
    state = load_prefixed_state_dict(backbone, path, PREFIX)
    return dict(num_tensors=len(state))


# ---------------------------------------------------------------- features
def pooled_features(backbone: torch.nn.Module, points: Tensor) -> Tensor:
    """Max- and mean-pooled final tokens of (B, N, 3+) points: (B, 2C)."""
    out = backbone(points[..., :3].contiguous(), mask=False)
    tokens = out['tokens'][-1]  # (B, G, C), after the final LayerNorm
    return torch.cat([tokens.max(dim=1).values, tokens.mean(dim=1)], dim=-1)


def build_loader(cfg: Config, split_key: str, pipeline: list,
                 data_root: Optional[str], batch_size: int,
                 num_workers: int) -> DataLoader:
    """A sequential loader of one split's dataset with the given pipeline."""
    loader_cfg = cfg.get(split_key)
    if loader_cfg is None or 'dataset' not in loader_cfg:
        raise KeyError(f'{cfg.filename}: no {split_key}.dataset')
    dataset_cfg = copy.deepcopy(loader_cfg.dataset)
    dataset_cfg.update(pipeline=copy.deepcopy(pipeline), test_mode=True)
    if data_root is not None:
        dataset_cfg.data_root = data_root
    dataset = DATASETS.build(dataset_cfg)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=pseudo_collate)


@torch.no_grad()
def extract_features(backbone: torch.nn.Module,
                     preprocessor: torch.nn.Module, loader: DataLoader,
                     name: str) -> Tuple[np.ndarray, np.ndarray]:
    """Features (N, 2C) float32 and labels (N,) int64 of a whole loader."""
    print_log(f'svm probe: {name} features, {len(loader.dataset)} clouds',
              logger='current')
    feats, labels = [], []
    bar = ProgressBar(len(loader))
    for batch in loader:
        data = preprocessor(batch, training=False)
        points = stack_points(data['inputs'])
        feats.append(pooled_features(backbone, points).float().cpu())
        for sample in data['data_samples']:
            labels.append(int(torch.as_tensor(sample.gt_label).view(-1)[0]))
        bar.update()
    sys.stdout.write('\n')
    return torch.cat(feats).numpy(), np.asarray(labels, dtype=np.int64)


# --------------------------------------------------------------------- SVM
def standardize(train_x: np.ndarray, test_x: np.ndarray
                ) -> Tuple[np.ndarray, np.ndarray]:
    """Z-score (N, D) features with the training split's mean and std
    (sklearn's ``StandardScaler``; a constant feature stays 0)."""
    from sklearn.preprocessing import StandardScaler
    scaler = StandardScaler().fit(train_x)
    return scaler.transform(train_x), scaler.transform(test_x)


def choose_C(train_x: np.ndarray, train_y: np.ndarray, max_iter: int,
             seed: int, grid=C_GRID) -> Tuple[float, float]:
    """The C of ``grid`` with the best stratified k-fold accuracy on the
    training features (sklearn's ``GridSearchCV``; k = 5, or the smallest
    class count when below; ties go to the first C of the grid). Returns
    (C, cross-validated accuracy %)."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.svm import LinearSVC
    folds = int(min(5, np.unique(train_y, return_counts=True)[1].min()))
    if folds < 2:
        raise ValueError('--C cv needs at least 2 training clouds of every '
                         'class')
    search = GridSearchCV(
        LinearSVC(max_iter=max_iter, random_state=seed), {'C': list(grid)},
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        refit=False)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        search.fit(train_x, train_y)
    return (float(search.best_params_['C']),
            float(search.best_score_ * 100.))


def evaluate_svm(train_x: np.ndarray, train_y: np.ndarray,
                 test_x: np.ndarray, test_y: np.ndarray, C=1.0,
                 max_iter: int = 1000, seed: int = 0,
                 standardize_features: bool = False) -> dict:
    """Fit ``LinearSVC(C)`` on the training features, score the test set.

    Args:
        C (float | str): the SVM's C, or ``'cv'`` to choose it on the
            training features (:func:`choose_C`); the test split is never
            looked at for it.
        standardize_features (bool): z-score the features first
            (:func:`standardize`).

    Returns:
        dict: ``accuracy`` and ``mean_class_accuracy`` (percent),
        ``converged`` (False when liblinear hit ``max_iter``), ``C`` (the C
        used) and ``cv_accuracy`` (percent, None unless ``C='cv'``).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.svm import LinearSVC
    if standardize_features:
        train_x, test_x = standardize(train_x, test_x)
    cv_accuracy = None
    if C == 'cv':
        C, cv_accuracy = choose_C(train_x, train_y, max_iter, seed)
    clf = LinearSVC(C=C, max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ConvergenceWarning)
        clf.fit(train_x, train_y)
    converged = not any(
        issubclass(w.category, ConvergenceWarning) for w in caught)
    pred = clf.predict(test_x)
    return dict(
        accuracy=float(np.mean(pred == test_y) * 100.),
        mean_class_accuracy=float(
            balanced_accuracy_score(test_y, pred) * 100.),
        converged=converged, C=float(C), cv_accuracy=cv_accuracy)


def default_out(config: str, checkpoint: Optional[str]) -> str:
    name = osp.splitext(osp.basename(config))[0]
    ckpt = (osp.splitext(osp.basename(checkpoint))[0]
            if checkpoint else 'random_init')
    return osp.join('work_dirs', 'svm_probe', f'{name}_{ckpt}.json')


def main(argv=None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))

    torch.manual_seed(args.seed)
    backbone = build_backbone(cfg)
    if args.checkpoint:
        loaded = load_backbone(backbone, args.checkpoint)
        init = f'checkpoint {args.checkpoint}'
    else:
        backbone.init_weights()
        loaded = None
        init = f'random init (seed {args.seed})'
    backbone.to(device).eval()
    preprocessor = build_data_preprocessor(
        cfg.model.get('data_preprocessor')).to(device)
    print_log(f'svm probe: backbone {init}', logger='current')

    test_key = 'test_dataloader' if cfg.get('test_dataloader') \
        else 'val_dataloader'
    pipeline = cfg[test_key].dataset.get('pipeline', [])
    start = time.time()
    split_feats = {}
    for name, key in (('train', 'train_dataloader'), ('test', test_key)):
        loader = build_loader(cfg, key, pipeline, args.data_root,
                              args.batch_size, args.num_workers)
        split_feats[name] = extract_features(backbone, preprocessor, loader,
                                             name)
    extract_s = time.time() - start
    (train_x, train_y), (test_x, test_y) = (split_feats['train'],
                                            split_feats['test'])
    if args.save_features:
        os.makedirs(osp.dirname(osp.abspath(args.save_features)),
                    exist_ok=True)
        np.savez(args.save_features, train_x=train_x, train_y=train_y,
                 test_x=test_x, test_y=test_y)

    start = time.time()
    svm = evaluate_svm(train_x, train_y, test_x, test_y, args.C,
                       args.max_iter, args.seed, args.standardize)
    svm_s = time.time() - start

    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        backbone=init,
        loaded=loaded,
        feature='concat(max, mean) of the final tokens',
        feature_dim=int(train_x.shape[1]),
        standardize=args.standardize,
        C_arg=args.C,
        max_iter=args.max_iter,
        num_train=int(len(train_y)),
        num_test=int(len(test_y)),
        num_classes=int(len(np.unique(np.concatenate([train_y, test_y])))),
        **svm,
        extract_time_s=round(extract_s, 2),
        svm_time_s=round(svm_s, 2),
        device=str(device))
    out = args.out or default_out(args.config, args.checkpoint)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)
    result['json'] = out

    rows = [['backbone', init],
            ['feature', f'max + mean of final tokens, {train_x.shape[1]}-d'],
            ['train / test clouds', f'{len(train_y)} / {len(test_y)}'],
            ['features z-scored', 'yes' if args.standardize else 'no'],
            ['LinearSVC C', f'{svm["C"]:g}' + (
                f' (5-fold CV on train: {svm["cv_accuracy"]:.2f}%)'
                if svm['cv_accuracy'] is not None else '') + (
                '' if svm['converged'] else ' (not converged)')],
            ['accuracy (%)', f'{svm["accuracy"]:.2f}'],
            ['mean class accuracy (%)', f'{svm["mean_class_accuracy"]:.2f}'],
            ['features / SVM time (s)', f'{extract_s:.1f} / {svm_s:.1f}']]
    print_log('\n' + AsciiTable(rows, ' linear SVM probe ').table +
              f'\nwritten to {out}', logger='current')
    return result


if __name__ == '__main__':
    main()
