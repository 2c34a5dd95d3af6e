"""Batched gather of points or features by index."""
import torch
from torch import Tensor

from ._common import check_tensor


def gather(points: Tensor, idx: Tensor) -> Tensor:
    """Pick rows of every cloud: ``out[b, ...] = points[b, idx[b, ...]]``.

    Differentiable with respect to ``points`` (an ``index_select`` on the
    flattened batch; the backward pass adds, so repeated indices accumulate
    their gradients).

    Args:
        points (Tensor): (B, N, C) points or features, any dtype.
        idx (Tensor): (B, ...) integer indices in [0, N) (e.g. (B, S) from
            :func:`furthest_point_sample` or (B, M, k) from :func:`knn`).

    Returns:
        Tensor: (B, ..., C), the dtype and device of ``points``.
    """
    check_tensor(points, 'points')
    check_tensor(idx, 'idx')
    if points.dim() != 3:
        raise ValueError(f'points must have shape (B, N, C), got '
                         f'{tuple(points.shape)}')
    if idx.dim() < 1:
        raise ValueError('idx must have shape (B, ...), got a 0-d tensor')
    if idx.dtype.is_floating_point or idx.dtype.is_complex or \
            idx.dtype == torch.bool:
        raise ValueError(f'idx must be an integer tensor, got {idx.dtype}')
    if idx.device != points.device:
        raise ValueError(f'points and idx must be on the same device, got '
                         f'{points.device} and {idx.device}')
    b, n, c = points.shape
    if idx.size(0) != b:
        raise ValueError(f'points and idx must have the same batch size, got '
                         f'{b} and {idx.size(0)}')
    if idx.numel():
        lo, hi = torch.aminmax(idx)
        if int(lo) < 0 or int(hi) >= n:
            raise ValueError(f'idx values must be in [0, N) with N={n}, got '
                             f'values in [{int(lo)}, {int(hi)}]')
    return gather_unchecked(points, idx)


def gather_unchecked(points: Tensor, idx: Tensor) -> Tensor:
    """:func:`gather` without the checks: points (B, N, C), idx (B, ...)
    -> (B, ..., C)."""
    # one index_select over the flattened batch: faster than torch.gather
    # with an expanded index, same gradient (index_add)
    b, n, c = points.shape
    offset = torch.arange(b, device=idx.device).mul_(n)
    flat = (idx.reshape(b, -1).long() + offset.unsqueeze(1)).view(-1)
    return points.reshape(b * n, c).index_select(0, flat).view(*idx.shape, c)
