"""Instance and class mIoU of ShapeNetPart part segmentation."""
import logging
from functools import partial
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from terminaltables import AsciiTable

from mmdet3d.registry import METRICS
from ...datasets.shapenet_part import (SHAPENETPART_CATEGORIES,
                                       SHAPENETPART_SEG_CLASSES,
                                       check_seg_classes)
from .utils import sample_field


_get = partial(sample_field, metric='PartSegMetric')


def _mask(sample: Any, field: str) -> np.ndarray:
    """``<field>.pts_semantic_mask`` as a (N,) int64 array."""
    seg = _get(sample, field)
    mask = None if seg is None else _get(seg, 'pts_semantic_mask')
    if mask is None:
        raise KeyError(f'PartSegMetric: a data sample has no '
                       f'"{field}.pts_semantic_mask"')
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    mask = np.asarray(mask)
    if mask.ndim != 1 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f'PartSegMetric: {field}.pts_semantic_mask must be '
                         f'a (N,) integer array of part ids, got shape '
                         f'{mask.shape} dtype {mask.dtype}')
    return mask.astype(np.int64, copy=False)


def _name(sample: Any) -> str:
    parts = [
        f'{k}={_get(sample, k)}' for k in ('sample_idx', 'lidar_path')
        if _get(sample, k) is not None
    ]
    return ', '.join(parts) or 'a data sample'


def shape_part_ious(pred: np.ndarray, gt: np.ndarray,
                    parts: Sequence[int]) -> np.ndarray:
    """IoU of each part of one shape, as the reference computes it.

    Args:
        pred (np.ndarray): (N,) predicted global part ids.
        gt (np.ndarray): (N,) ground-truth global part ids.
        parts (Sequence[int]): the part ids of the shape's category.

    Returns:
        np.ndarray: (len(parts),) IoU in [0, 1]; a part absent from both
        ``pred`` and ``gt`` counts 1.
    """
    ious = np.ones(len(parts))
    for i, part in enumerate(parts):
        in_gt, in_pred = gt == part, pred == part
        union = np.sum(in_gt | in_pred)
        if union:
            ious[i] = np.sum(in_gt & in_pred) / float(union)
    return ious


@METRICS.register_module()
class PartSegMetric(BaseMetric):
    """ShapeNetPart metrics of the reference (``part_segmentation/main.py``).

    For every shape, the IoU of each part of its category is computed over
    its points (a part absent from both prediction and ground truth counts
    1) and their mean is the shape's IoU. Then:

    - ``instance_mIoU``: mean shape IoU over all shapes;
    - ``class_mIoU``: mean over categories of the mean shape IoU of the
      category (categories without shapes are left out; the reference
      would give NaN, and never meets one on the full test set);
    - ``accuracy``: fraction of correctly labelled points;
    - ``class_avg_accuracy``: mean over parts of the per-part point recall
      (parts that never occur in the ground truth are left out);
    - ``<Category>_mIoU`` (with ``classwise``): mean shape IoU of each
      category that has shapes.

    All values are in percent (as the reference logs them, and as
    ``PointClsMetric``). A per-category table is logged.

    Each data sample (a dict after mmengine's conversion, or a
    ``Det3DDataSample``) needs ``pred_pts_seg.pts_semantic_mask`` and
    ``gt_pts_seg.pts_semantic_mask``, both (N,) global part ids, and
    ``category`` (its metainfo: index in ``dataset_meta['classes']``). A
    sample without ``category`` takes the category of its first point's
    label, as the reference does. Category names and the part ids of each
    category come from ``dataset_meta`` (``classes``, ``seg_classes``), set
    by the runner from ``ShapeNetPartDataset.metainfo``; without them the
    official 16 categories / 50 parts are used.

    A ground-truth part id outside the shape's category, or a prediction
    outside ``[0, num_parts)``, is an error naming the sample. Predicted
    ids of another category are counted as wrong (the model is expected
    to restrict its argmax to the category's parts, as the reference).

    Args:
        classwise (bool): also return ``<Category>_mIoU``.
            Defaults to True.
        **kwargs: ``BaseMetric`` arguments: ``collect_device`` ('cpu' or
            'gpu', defaults to 'cpu') and ``prefix`` (of the metric names).
    """

    default_prefix: Optional[str] = None

    def __init__(self, classwise: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.classwise = classwise

    # ------------------------------------------------------------ tables
    def _tables(self):
        """(category names, seg_classes, part -> category index, #parts)."""
        meta = self.dataset_meta or {}
        names = tuple(
            meta.get('classes', [n for n, _ in SHAPENETPART_CATEGORIES]))
        seg_classes = meta.get('seg_classes', SHAPENETPART_SEG_CLASSES)
        num_parts = check_seg_classes(seg_classes,
                                      'PartSegMetric dataset_meta')
        missing = [n for n in names if n not in seg_classes]
        if missing:
            raise KeyError(f'PartSegMetric: dataset_meta["seg_classes"] has '
                           f'no part ids for categories {missing}')
        part_to_cat = np.full(num_parts, -1, dtype=np.int64)
        for i, name in enumerate(names):
            part_to_cat[list(seg_classes[name])] = i
        return names, seg_classes, part_to_cat, num_parts

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Per-shape IoU and point counts of every sample of the batch."""
        names, seg_classes, part_to_cat, num_parts = self._tables()
        for sample in data_samples:
            pred = _mask(sample, 'pred_pts_seg')
            gt = _mask(sample, 'gt_pts_seg')
            where = _name(sample)
            if pred.shape != gt.shape or gt.size == 0:
                raise ValueError(f'PartSegMetric: {where}: {pred.size} '
                                 f'predicted vs {gt.size} ground-truth '
                                 'labels')
            bad = (gt < 0) | (gt >= num_parts)
            if bad.any():
                raise ValueError(
                    f'PartSegMetric: {where}: ground-truth part id '
                    f'{int(gt[bad][0])} is outside [0, {num_parts})')
            bad = (pred < 0) | (pred >= num_parts)
            if bad.any():
                raise ValueError(
                    f'PartSegMetric: {where}: predicted part id '
                    f'{int(pred[bad][0])} is outside [0, {num_parts})')
            category = _get(sample, 'category')
            if category is None:
                category = int(part_to_cat[gt[0]])
            category = int(category)
            if not 0 <= category < len(names):
                raise ValueError(f'PartSegMetric: {where}: category '
                                 f'{category} is outside [0, {len(names)})')
            parts = [int(p) for p in seg_classes[names[category]]]
            outside = ~np.isin(gt, parts)
            if outside.any():
                raise ValueError(
                    f'PartSegMetric: {where}: ground-truth part id '
                    f'{int(gt[outside][0])} is not a part of '
                    f'{names[category]} (its parts: {parts})')
            correct = pred == gt
            self.results.append(
                dict(
                    category=category,
                    shape_iou=float(
                        shape_part_ious(pred, gt, parts).mean()),
                    num_correct=int(correct.sum()),
                    num_points=int(gt.size),
                    num_foreign=int((~np.isin(pred, parts)).sum()),
                    part_seen=np.bincount(gt, minlength=num_parts),
                    part_hits=np.bincount(
                        gt[correct], minlength=num_parts)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """The metrics (percent) from the gathered per-shape results."""
        if not results:
            raise ValueError('PartSegMetric: no results to evaluate')
        names = self._tables()[0]
        cats = np.array([r['category'] for r in results])
        ious = np.array([r['shape_iou'] for r in results])
        seen = np.sum([r['part_seen'] for r in results], axis=0)
        hits = np.sum([r['part_hits'] for r in results], axis=0)
        present = [i for i in range(len(names)) if (cats == i).any()]
        cat_iou = {i: ious[cats == i].mean() * 100. for i in present}
        metrics = dict(
            instance_mIoU=float(ious.mean() * 100.),
            class_mIoU=float(np.mean(list(cat_iou.values()))),
            accuracy=float(
                sum(r['num_correct'] for r in results) * 100. /
                sum(r['num_points'] for r in results)),
            class_avg_accuracy=float(
                np.mean(hits[seen > 0] / seen[seen > 0]) * 100.))

        table = [['category', 'shapes', 'mIoU (%)']]
        for i, name in enumerate(names):
            table.append([
                name, int((cats == i).sum()),
                f'{cat_iou[i]:.2f}' if i in cat_iou else '-'
            ])
        table.append(['class mIoU', len(present),
                      f'{metrics["class_mIoU"]:.2f}'])
        table.append(['instance mIoU', len(results),
                      f'{metrics["instance_mIoU"]:.2f}'])
        table.append(['point accuracy', '', f'{metrics["accuracy"]:.2f}'])
        print_log('\n' + AsciiTable(table).table, logger='current')
        foreign = sum(r['num_foreign'] for r in results)
        if foreign:
            print_log(
                f'PartSegMetric: {foreign} predicted labels are parts of '
                'another category than the shape (counted as wrong)',
                logger='current',
                level=logging.WARNING)
        if self.classwise:
            for i in present:
                metrics[f'{names[i]}_mIoU'] = float(cat_iou[i])
        return metrics
