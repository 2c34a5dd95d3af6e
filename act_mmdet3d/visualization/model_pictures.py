"""Run a model on one dataset sample and draw what it does.

Shared by ``tools/analysis_tools/visualize.py`` (models built from a config
and a checkpoint, see :mod:`.api`) and :class:`ACTVisualizationHook` (the model
being trained). The model may be a whole ACT model or the part a mode
needs: ``groups`` finds the tokenizer (``PointGrouper``) anywhere in it,
``mask`` the masking student (``ACTPointTransformer``: the model or its
``backbone``), ``reconstruction`` the Stage I teacher (the model or its
``target_generator``); ``partseg`` and ``detection`` run the model's own
``test_step``.
"""
import contextlib
import os.path as osp
import random
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from mmengine.dataset import pseudo_collate
from mmengine.model import is_model_wrapper
from torch import nn

from ..engine.hooks import get_rng_states, set_rng_states
from ..models.layers.point_tokenizer import PointGrouper
from ..ops import chamfer_distance_l1
from .clouds import (draw_groups, draw_mask, draw_partseg,
                     draw_reconstruction)
from .detection import draw_detection

#: modes drawn from one dataset sample
SAMPLE_MODES = ('groups', 'mask', 'reconstruction', 'partseg', 'detection')
#: every mode of tools/analysis_tools/visualize.py
MODES = SAMPLE_MODES + ('curves', 'tsne')


def check_mode(mode: str, allowed: Sequence[str] = MODES) -> str:
    if mode not in allowed:
        raise ValueError(f'unknown visualization mode {mode!r}; expected one '
                         f'of {", ".join(allowed)}')
    return mode


@contextlib.contextmanager
def seeded(seed: int):
    """Seed python / numpy / torch for a block, then restore their states
    (a picture drawn during training leaves its random streams alone)."""
    states = get_rng_states()
    try:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        yield
    finally:
        set_rng_states(states)


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """``model.eval()`` for a block, its previous mode restored."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


# ------------------------------------------------------------ model parts
def unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def find_grouper(model: nn.Module) -> PointGrouper:
    """The first ``PointGrouper`` (the ACT tokenizer's FPS + kNN) in
    ``model`` (the student's, for a Stage II model)."""
    for module in model.modules():
        if isinstance(module, PointGrouper):
            return module
    raise TypeError(f'{type(model).__name__} has no PointGrouper: mode '
                    '"groups" draws the ACT tokenizer of an ACT model')


def find_student(model: nn.Module) -> nn.Module:
    """The masking encoder: ``model`` or ``model.backbone`` with
    ``group`` and ``random_mask`` (``ACTPointTransformer``)."""
    for module in (model, getattr(model, 'backbone', None)):
        if hasattr(module, 'random_mask') and hasattr(module, 'group'):
            return module
    raise TypeError(f'{type(model).__name__} has no masking encoder '
                    '(ACTPointTransformer with random_mask): mode "mask" '
                    'needs a Stage II (ACTPretrainer) or ACT backbone config')


def find_teacher(model: nn.Module) -> nn.Module:
    """The Stage I autoencoder: ``model`` or ``model.target_generator``
    with ``reconstruct``."""
    for module in (model, getattr(model, 'target_generator', None)):
        if hasattr(module, 'reconstruct'):
            return module
    raise TypeError(f'{type(model).__name__} has no reconstruct(points): '
                    'mode "reconstruction" needs a Stage I '
                    '(ACTTeacherAutoencoder) or Stage II config')


def _device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device('cpu')


def sample_points(item: dict, device=None) -> torch.Tensor:
    """(1, N, 3) float xyz of a dataset item (``inputs['points']``)."""
    points = item['inputs']['points']
    points = getattr(points, 'tensor', points)
    points = torch.as_tensor(points)
    if points.dim() != 2 or points.size(-1) < 3:
        raise ValueError('a sample must hold (N, 3+) points, got shape '
                         f'{tuple(points.shape)}')
    return points[None, :, :3].float().contiguous().to(device)


def sample_name(item: dict, index: int, split: str,
                metainfo: Optional[dict] = None) -> str:
    """e.g. ``test[3] Airplane 04e4507b``: split, index, and the class and
    shape / scene the data sample's metainfo names."""
    meta = item['data_samples'].metainfo
    metainfo = metainfo or {}
    words = [f'{split}[{index}]']
    category = meta.get('category_name')
    synsets, classes = metainfo.get('synsets'), metainfo.get('classes')
    if category is None and meta.get('taxonomy_id') is not None:
        category = meta['taxonomy_id']
        if synsets and classes and category in synsets:
            category = classes[list(synsets).index(category)]
    if category is not None:
        words.append(str(category))
    for key in ('shape_id', 'model_id'):
        if meta.get(key) is not None:
            words.append(str(meta[key])[:8 if key == 'model_id' else 24])
            break
    if len(words) == 1 and meta.get('lidar_path'):
        words.append(osp.basename(str(meta['lidar_path'])))
    return ' '.join(words)


# ---------------------------------------------------------- per-mode runs
@torch.no_grad()
def groups_arrays(model: nn.Module, points: torch.Tensor) -> dict:
    """FPS centres and kNN groups of (1, N, 3) points."""
    groups = find_grouper(model)(points)
    return dict(points=points[0], centers=groups.centers[0],
                neighbor_idx=groups.neighbor_idx[0])


@torch.no_grad()
def mask_arrays(model: nn.Module, points: torch.Tensor,
                mask_ratio: Optional[float] = None) -> dict:
    """The student's groups and one Stage II mask draw of (1, N, 3) points.

    ``mask_ratio`` overrides the model's for this draw (e.g. 0 vs 0.8).
    """
    student = find_student(model)
    groups = student.group(points)
    saved = student.mask_ratio
    if mask_ratio is not None:
        if not 0. <= mask_ratio < 1.:
            raise ValueError(f'mask_ratio must be in [0, 1), got '
                             f'{mask_ratio}')
        student.mask_ratio = mask_ratio
    try:
        mask = student.random_mask(groups.centers)
    finally:
        student.mask_ratio = saved
    return dict(points=points[0], centers=groups.centers[0],
                neighbor_idx=groups.neighbor_idx[0], mask=mask[0])


@torch.no_grad()
def reconstruction_arrays(model: nn.Module, points: torch.Tensor) -> dict:
    """Coarse and fine reconstructions of (1, N, 3) points and their
    CD-L1 x 1000 (fine vs input, as ``ChamferDistanceMetric``)."""
    rec = find_teacher(model).reconstruct(points)
    cd = chamfer_distance_l1(rec['fine'].float(), points.float())
    return dict(points=points[0], coarse=rec['coarse'][0],
                fine=rec['fine'][0], cd_l1=float(cd) * 1000.)


@torch.no_grad()
def _predict(model: nn.Module, item: dict):
    return model.test_step(pseudo_collate([item]))[0]


def partseg_arrays(model: nn.Module, item: dict, metainfo: dict) -> dict:
    """Predicted and true part ids of one ShapeNetPart item, with the
    part ids of its category (``metainfo['seg_classes']``)."""
    out = _predict(model, item)
    if 'pred_pts_seg' not in out or 'gt_pts_seg' not in item['data_samples']:
        raise KeyError('mode "partseg" needs a segmentor (pred_pts_seg) and '
                       'samples with gt_pts_seg (a ShapeNetPart config)')
    category, parts = None, None
    cat = out.metainfo.get('category')
    classes, seg_classes = metainfo.get('classes'), metainfo.get(
        'seg_classes')
    if cat is not None and classes is not None and seg_classes:
        category = classes[int(cat)]
        parts = seg_classes[category]
    return dict(points=sample_points(item)[0],
                pred=out.pred_pts_seg.pts_semantic_mask,
                gt=item['data_samples'].gt_pts_seg.pts_semantic_mask,
                parts=parts, category=category)


def detection_arrays(model: nn.Module, item: dict, metainfo: dict) -> dict:
    """Predicted boxes (``pred_instances_3d``) and ground truth
    (``eval_ann_info``) of one scene."""
    out = _predict(model, item)
    if 'pred_instances_3d' not in out:
        raise KeyError(f'{type(model).__name__}.test_step gave no '
                       'pred_instances_3d: mode "detection" needs an mmdet3d '
                       '3D detector')
    pred = out.pred_instances_3d
    ann = item['data_samples'].get('eval_ann_info') or {}
    return dict(points=sample_points(item)[0], pred_boxes=pred.bboxes_3d,
                pred_scores=pred.scores_3d, pred_labels=pred.labels_3d,
                gt_boxes=ann.get('gt_bboxes_3d'),
                gt_labels=ann.get('gt_labels_3d'),
                class_names=metainfo.get('classes'))


def sample_arrays(mode: str, model: nn.Module, item: dict, metainfo: dict,
                  mask_ratio: Optional[float] = None) -> dict:
    """The arrays ``draw_<mode>`` takes, from ``model`` on ``item``."""
    check_mode(mode, SAMPLE_MODES)
    if mode in ('partseg', 'detection'):
        fn = partseg_arrays if mode == 'partseg' else detection_arrays
        return fn(model, item, metainfo)
    points = sample_points(item, _device(model))
    if mode == 'groups':
        return groups_arrays(model, points)
    if mode == 'mask':
        return mask_arrays(model, points, mask_ratio)
    return reconstruction_arrays(model, points)


DRAW = dict(groups=draw_groups, mask=draw_mask,
            reconstruction=draw_reconstruction, partseg=draw_partseg,
            detection=draw_detection)


def draw_sample(mode: str,
                model: nn.Module,
                dataset,
                index: int,
                *,
                split: str = 'test',
                seed: int = 0,
                mask_ratio: Optional[float] = None,
                draw_kwargs: Optional[Dict] = None,
                model_name: Optional[str] = None,
                checkpoint: Optional[str] = None) -> Figure:
    """One picture of ``model`` on ``dataset[index]``.

    Args:
        mode (str): one of :data:`SAMPLE_MODES`.
        model (nn.Module): the model (or the part the mode needs).
        dataset: an mmengine dataset whose items are packed
            (``inputs`` / ``data_samples``).
        index (int): the sample, in ``[0, len(dataset))``.
        split (str): named in the title.
        seed (int): seeds the data pipeline, the mask and the Gumbel
            noise; the global random states are restored afterwards.
        mask_ratio (float, optional): ``mask`` only: override the model's.
        draw_kwargs (dict, optional): passed to ``draw_<mode>`` (size, dpi,
            views, up, score_thr, ...).
        model_name, checkpoint (str, optional): for the title.

    Raises:
        IndexError: ``index`` out of range (the message gives the range).
    """
    check_mode(mode, SAMPLE_MODES)
    n = len(dataset)
    if not isinstance(index, (int, np.integer)) or not 0 <= index < n:
        raise IndexError(f'sample index {index} is out of range: the {split} '
                         f'split has {n} samples (0..{n - 1})')
    model = unwrap(model)
    with seeded(seed), eval_mode(model):
        item = dataset[int(index)]
        arrays = sample_arrays(mode, model, item,
                               getattr(dataset, 'metainfo', {}) or {},
                               mask_ratio)
    kwargs = dict(draw_kwargs or {})
    kwargs.setdefault('sample', sample_name(
        item, int(index), split, getattr(dataset, 'metainfo', None)))
    kwargs.setdefault('model', model_name or type(model).__name__)
    kwargs.setdefault('checkpoint', checkpoint)
    return DRAW[mode](**arrays, **kwargs)


# ---------------------------------------------------------------- t-SNE
def find_encoder(model: nn.Module) -> nn.Module:
    """The point encoder of a model: ``model.backbone`` or the model."""
    backbone = getattr(model, 'backbone', None)
    return backbone if backbone is not None else model


@torch.no_grad()
def pooled_features(encoder: nn.Module, points: torch.Tensor) -> torch.Tensor:
    """Max- and mean-pooled final tokens of (B, N, 3) points: (B, 2C), as
    ``tools/analysis_tools/svm_probe.py``."""
    out = encoder(points, mask=False)
    tokens = out['tokens'][-1]
    return torch.cat([tokens.max(dim=1).values, tokens.mean(dim=1)], dim=-1)


@torch.no_grad()
def dataset_features(model: nn.Module, dataset, max_samples: Optional[int]
                     = None, batch_size: int = 32, seed: int = 0):
    """Frozen-encoder features (N, 2C) and class labels (N,) of a
    classification dataset (``gt_label``): every item, or ``max_samples``
    evenly spaced over it (datasets are often sorted by class)."""
    encoder = unwrap(find_encoder(model))
    order = np.arange(len(dataset))
    if max_samples is not None and max_samples < len(dataset):
        order = np.unique(
            np.linspace(0, len(dataset) - 1, max_samples).round().astype(
                np.int64))
    feats, labels = [], []
    device = _device(encoder)
    with seeded(seed), eval_mode(encoder):
        for start in range(0, len(order), batch_size):
            items = [dataset[int(i)] for i in order[start:start + batch_size]]
            points = torch.cat([sample_points(it, device) for it in items])
            feats.append(pooled_features(encoder, points).float().cpu())
            for it in items:
                label = it['data_samples'].get('gt_label')
                if label is None:
                    raise KeyError('mode "tsne" colours clouds by class: the '
                                   'samples need gt_label (a '
                                   'classification config)')
                labels.append(int(torch.as_tensor(label).view(-1)[0]))
    return torch.cat(feats).numpy(), np.asarray(labels, dtype=np.int64)
