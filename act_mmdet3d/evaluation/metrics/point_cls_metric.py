"""Overall and mean class accuracy of point-cloud classification."""
from functools import partial
from typing import Any, Dict, List, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from terminaltables import AsciiTable

from mmdet3d.registry import METRICS
from .utils import sample_field


_field = partial(sample_field, metric='PointClsMetric')


def _to_int(value, what: str) -> int:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value).reshape(-1)
    if arr.size != 1:
        raise ValueError(f'PointClsMetric: {what} must hold one class index, '
                         f'got shape {np.asarray(value).shape}')
    return int(arr[0])


@METRICS.register_module()
class PointClsMetric(BaseMetric):
    """Overall accuracy (OA) and mean class accuracy (mAcc) in percent.

    The reference reports ``accuracy_score`` and ``balanced_accuracy_score``
    of scikit-learn: mAcc is the mean, over the classes that occur in the
    ground truth, of each class's recall (a class that is never predicted
    counts 0; a class absent from the ground truth is left out). A
    per-class table is logged with the names of
    ``dataset_meta['classes']`` when the runner set them. Results are
    gathered over ranks by mmengine's ``BaseMetric``.

    Each data sample (a dict after mmengine's conversion, or a
    ``Det3DDataSample``) needs ``gt_label`` (1,) and ``pred_label`` (1,)
    or ``pred_score`` (num_classes,), whose argmax is then used.

    Args:
        classwise (bool): also return ``<class>_acc`` entries.
            Defaults to False.
        **kwargs: ``BaseMetric`` arguments: ``collect_device`` ('cpu' or
            'gpu', defaults to 'cpu') and ``prefix`` (of the metric names).
    """

    def __init__(self, classwise: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.classwise = classwise

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Keep (gt_label, pred_label) of every sample of the batch."""
        for sample in data_samples:
            gt = _field(sample, 'gt_label')
            if gt is None:
                raise KeyError('PointClsMetric: a data sample has no '
                               '"gt_label"; pack it with PackPointClsInputs')
            pred = _field(sample, 'pred_label')
            if pred is None:
                score = _field(sample, 'pred_score')
                if score is None:
                    raise KeyError('PointClsMetric: a data sample has neither '
                                   '"pred_label" nor "pred_score"')
                score = torch.as_tensor(score)
                pred = int(score.reshape(-1).argmax())
            self.results.append(
                dict(
                    gt_label=_to_int(gt, 'gt_label'),
                    pred_label=_to_int(pred, 'pred_label')))

    def _class_names(self, num_seen: int) -> List[str]:
        classes = (self.dataset_meta or {}).get('classes')
        if classes is not None and len(classes) >= num_seen:
            return [str(c) for c in classes]
        return [str(i) for i in range(num_seen)]

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """OA and mAcc (percent) from the gathered results."""
        if not results:
            raise ValueError('PointClsMetric: no results to evaluate')
        gt = np.array([r['gt_label'] for r in results], dtype=np.int64)
        pred = np.array([r['pred_label'] for r in results], dtype=np.int64)
        if (gt < 0).any():
            raise ValueError('PointClsMetric: negative gt_label '
                             f'{int(gt[gt < 0][0])}')
        names = self._class_names(int(max(gt.max(), pred.max())) + 1)
        num_classes = len(names)
        correct = gt == pred
        total = np.bincount(gt, minlength=num_classes)
        hits = np.bincount(gt[correct], minlength=num_classes)
        predicted = np.bincount(
            pred[(pred >= 0) & (pred < num_classes)], minlength=num_classes)
        present = total > 0
        class_acc = np.full(num_classes, np.nan)
        class_acc[present] = hits[present] / total[present] * 100.
        metrics = dict(
            overall_acc=float(correct.mean() * 100.),
            mean_acc=float(np.mean(class_acc[present])))

        table = [['class', 'samples', 'predicted', 'acc (%)']]
        for i, name in enumerate(names):
            acc = '-' if not present[i] else f'{class_acc[i]:.2f}'
            table.append([name, int(total[i]), int(predicted[i]), acc])
        table.append([
            'OA / mAcc',
            len(gt), '', f'{metrics["overall_acc"]:.2f} / '
            f'{metrics["mean_acc"]:.2f}'
        ])
        print_log(
            '\n' + AsciiTable(table).table,
            logger='current')
        if self.classwise:
            for i, name in enumerate(names):
                if present[i]:
                    metrics[f'{name}_acc'] = float(class_acc[i])
        return metrics
