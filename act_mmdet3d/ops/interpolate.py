"""Three-nearest-neighbour interpolation (PointNet++ feature propagation).

Same conventions as ``mmcv.ops.three_nn`` / ``mmcv.ops.three_interpolate``
(points channels-last, features channels-first), except that indices are
int64 (mmcv: int32).
"""
from typing import Tuple

import torch
from torch import Tensor

from ._common import (check_float_finite, check_point_pair,
                      check_same_batch_device, check_tensor, mmcv_cuda_ops)
from .knn import knn_unchecked


def three_nn(unknown: Tensor, known: Tensor) -> Tuple[Tensor, Tensor]:
    """The three nearest ``known`` points of every ``unknown`` point.

    ``knn(unknown, known, 3)`` with Euclidean (not squared) distances, like
    mmcv's ``three_nn``: exact, ascending, ties by lowest index; mmcv's
    kernel (through :func:`knn`) on CUDA.

    Args:
        unknown (Tensor): (B, N, 3) points to interpolate at (mmcv:
            ``target``).
        known (Tensor): (B, M, 3) points that carry features, M >= 3 (mmcv:
            ``source``).

    Returns:
        tuple[Tensor, Tensor]: ``dist`` (B, N, 3) Euclidean distances
        (float32, float64 for float64 input) and ``idx`` (B, N, 3) int64
        indices into ``known``.
    """
    check_point_pair(unknown, 'unknown', known, 'known')
    if known.size(1) < 3:
        raise ValueError(f'known must hold at least 3 points per cloud, got '
                         f'shape {tuple(known.shape)}')
    dist2, idx = knn_unchecked(unknown, known, 3)
    return torch.sqrt(dist2), idx


def three_interpolate(features: Tensor, idx: Tensor, weight: Tensor) -> Tensor:
    """Weighted sum of three features per target point.

    ``out[b, c, n] = sum_j weight[b, n, j] * features[b, c, idx[b, n, j]]``.
    Differentiable w.r.t. ``features`` and ``weight`` (pure torch). mmcv's
    CUDA kernel is used for float32 CUDA inputs when ``weight`` needs no
    gradient (mmcv's backward only covers ``features``).

    Typical weights: ``w = 1 / (dist + 1e-8); w = w / w.sum(-1, keepdim=
    True)`` with ``dist`` from :func:`three_nn`.

    Args:
        features (Tensor): (B, C, M) features of the known points.
        idx (Tensor): (B, N, 3) integer indices in [0, M).
        weight (Tensor): (B, N, 3) weights.

    Returns:
        Tensor: (B, C, N) interpolated features.
    """
    check_tensor(features, 'features')
    check_tensor(idx, 'idx')
    check_tensor(weight, 'weight')
    if features.dim() != 3:
        raise ValueError(f'features must have shape (B, C, M), got '
                         f'{tuple(features.shape)}')
    if idx.dim() != 3 or idx.size(-1) != 3:
        raise ValueError(f'idx must have shape (B, N, 3), got '
                         f'{tuple(idx.shape)}')
    if weight.shape != idx.shape:
        raise ValueError(f'weight must have the shape of idx '
                         f'{tuple(idx.shape)}, got {tuple(weight.shape)}')
    if idx.dtype.is_floating_point or idx.dtype == torch.bool:
        raise ValueError(f'idx must be an integer tensor, got {idx.dtype}')
    check_float_finite(features, 'features')
    check_float_finite(weight, 'weight')
    check_same_batch_device(features, 'features', idx, 'idx')
    check_same_batch_device(features, 'features', weight, 'weight')
    b, c, m = features.shape
    n = idx.size(1)
    if idx.numel():
        lo, hi = torch.aminmax(idx)
        if int(lo) < 0 or int(hi) >= m:
            raise ValueError(f'idx values must be in [0, M) with M={m}, got '
                             f'values in [{int(lo)}, {int(hi)}]')
    if (features.is_cuda and features.dtype == torch.float32
            and weight.dtype == torch.float32 and not weight.requires_grad
            and mmcv_cuda_ops()):
        from mmcv.ops import three_interpolate as mmcv_three_interpolate
        return mmcv_three_interpolate(features.contiguous(),
                                      idx.int().contiguous(),
                                      weight.contiguous())
    flat = idx.reshape(b, 1, n * 3).long().expand(b, c, n * 3)
    picked = features.gather(2, flat).view(b, c, n, 3)
    return (picked * weight.to(features.dtype).unsqueeze(1)).sum(-1)
