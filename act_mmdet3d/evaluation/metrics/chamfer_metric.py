"""Chamfer-distance reconstruction metric of the ACT Stage I dVAE."""
from collections import defaultdict
from functools import partial
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmdet3d.registry import METRICS
from act_mmdet3d.ops import chamfer_distance_l1, chamfer_distance_l2
from .utils import sample_field


_get = partial(sample_field, metric='ChamferDistanceMetric')


def _cloud(value, key: str) -> torch.Tensor:
    if value is None:
        raise KeyError(f'ChamferDistanceMetric: data sample has no "{key}"; '
                       'the model\'s predict must set it '
                       '(ACTTeacherAutoencoder does)')
    t = torch.as_tensor(value).detach().float().cpu()
    if t.dim() != 2 or t.size(-1) < 3:
        raise ValueError(f'ChamferDistanceMetric: {key} must be (N, 3), got '
                         f'{tuple(t.shape)}')
    return t[:, :3].unsqueeze(0)


@METRICS.register_module()
class ChamferDistanceMetric(BaseMetric):
    """CD-L1 / CD-L2 between reconstructed and input clouds (x1000).

    As the reference's ``runner_autoencoder.validate``: per test cloud,
    ``ChamferDistanceL1`` and ``ChamferDistanceL2`` of the dense (fine)
    reconstruction and of the sparse (coarse) one against the input points,
    times 1000. Reported:

    * ``CDL1``, ``CDL2``: dense, mean over clouds (the reference's
      ``DenseLossL1`` / ``DenseLossL2``);
    * ``sparse_CDL1``, ``sparse_CDL2``: the same for the coarse clouds;
    * ``CDL1_cat``, ``CDL2_cat``: dense, mean over categories of the
      per-category means (the reference's "Overall" table row), when the
      samples carry ``taxonomy_id``.

    Args:
        scale (float): multiplier of the distances (1000).
        collect_device (str): 'cpu' or 'gpu'.
        prefix (str, optional): metric name prefix.
    """

    default_prefix = None

    def __init__(self,
                 scale: float = 1000.,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.scale = scale

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            gt = _cloud(_get(sample, 'gt_points'), 'gt_points')
            fine = _cloud(_get(sample, 'pred_points'), 'pred_points')
            res = dict(
                taxonomy_id=_get(sample, 'taxonomy_id'),
                CDL1=float(chamfer_distance_l1(fine, gt)) * self.scale,
                CDL2=float(chamfer_distance_l2(fine, gt)) * self.scale)
            coarse = _get(sample, 'pred_coarse_points')
            if coarse is not None:
                coarse = _cloud(coarse, 'pred_coarse_points')
                res['sparse_CDL1'] = float(chamfer_distance_l1(
                    coarse, gt)) * self.scale
                res['sparse_CDL2'] = float(chamfer_distance_l2(
                    coarse, gt)) * self.scale
            self.results.append(res)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('ChamferDistanceMetric: no results to evaluate')
        metrics = {}
        for key in ('CDL1', 'CDL2', 'sparse_CDL1', 'sparse_CDL2'):
            vals = [r[key] for r in results if key in r]
            if vals:
                metrics[key] = float(np.mean(vals))
        if all(r.get('taxonomy_id') is not None for r in results):
            for key in ('CDL1', 'CDL2'):
                per_cat = defaultdict(list)
                for r in results:
                    per_cat[r['taxonomy_id']].append(r[key])
                metrics[f'{key}_cat'] = float(
                    np.mean([np.mean(v) for v in per_cat.values()]))
        return metrics
