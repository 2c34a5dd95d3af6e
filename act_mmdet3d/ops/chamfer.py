"""Chamfer distance between point clouds (the ACT / Point-BERT losses)."""
from typing import Tuple

import torch
from torch import Tensor

from ._common import check_point_pair, sq_dist_xyz
from .gather import gather_unchecked
from .knn import knn_unchecked

#: Squared distances below this get a zero gradient through the square root
#: of ``norm=1`` (d/dx sqrt(x) is infinite at 0); the values are unchanged.
SQRT_EPS = 1e-12

_REDUCTIONS = ('mean', 'sum', 'none')


def chamfer_distance(a: Tensor,
                     b: Tensor,
                     norm: int = 2,
                     reduction: str = 'mean') -> Tuple[Tensor, Tensor]:
    """Both directions of the Chamfer distance between two batches of clouds.

    With ``d_a[b, i] = min_j |a[b, i] - b[b, j]|^2`` (exact squared
    Euclidean distance to the nearest point of the other cloud) and
    ``d_b[b, j] = min_i |b[b, j] - a[b, i]|^2``:

    * ``norm=2``: per-point terms are ``d_a`` and ``d_b``;
    * ``norm=1``: per-point terms are ``sqrt(d_a)`` and ``sqrt(d_b)``
      (Euclidean distances).

    ``reduction`` then turns each direction into: ``'none'`` the per-point
    terms, (B, N) and (B, M); ``'mean'`` their mean over all B*N (resp. B*M)
    points; ``'sum'`` their sum.

    The reference losses (``extensions/chamfer_dist`` of ACT / Point-BERT)
    in these terms, with ``reduction='mean'``:

    * ``ChamferDistanceL2(a, b) = mean(d_a) + mean(d_b)``
      ``= sum(chamfer_distance(a, b, norm=2))`` -> :func:`chamfer_distance_l2`
    * ``ChamferDistanceL1(a, b) = (mean(sqrt d_a) + mean(sqrt d_b)) / 2``
      ``= sum(chamfer_distance(a, b, norm=1)) / 2``
      -> :func:`chamfer_distance_l1`

    Gradients flow through the nearest-point distances, as in the reference
    CUDA op: the nearest neighbours are found without autograd and the
    distances to them recomputed differentiably, so ``d_a[b, i]`` has the
    gradient ``2 (a_i - b_j*)`` w.r.t. ``a_i`` and the opposite w.r.t.
    ``b_j*``. For ``norm=1`` the square root is evaluated exactly but
    differentiated as ``sqrt(max(d, SQRT_EPS))`` (``SQRT_EPS = 1e-12``): a
    point lying exactly on its nearest neighbour gets a zero gradient instead
    of NaN.

    Nearest neighbours come from :func:`~act_mmdet3d.ops.knn` (exact;
    float16 / bfloat16 inputs are computed in float32, and the result is
    float32 then).

    Args:
        a (Tensor): (B, N, 3) first clouds.
        b (Tensor): (B, M, 3) second clouds, same batch size and device.
        norm (int): 2 (squared distances) or 1 (distances).
        reduction (str): 'mean', 'sum' or 'none'.

    Returns:
        tuple[Tensor, Tensor]: ``(dist_a_to_b, dist_b_to_a)``, scalars, or
        (B, N) and (B, M) for ``reduction='none'``.
    """
    check_point_pair(a, 'a', b, 'b')
    if norm not in (1, 2) or isinstance(norm, bool):
        raise ValueError(f'norm must be 1 or 2, got {norm!r}')
    if reduction not in _REDUCTIONS:
        raise ValueError(f'reduction must be one of {_REDUCTIONS}, got '
                         f'{reduction!r}')
    if a.size(1) == 0 or b.size(1) == 0:
        raise ValueError(f'a and b must hold at least one point each, got '
                         f'shapes {tuple(a.shape)} and {tuple(b.shape)}')
    dtype = torch.float64 if torch.float64 in (a.dtype,
                                               b.dtype) else torch.float32
    a = a.to(dtype)
    b = b.to(dtype)
    with torch.no_grad():
        _, idx_ab = knn_unchecked(a, b, 1)  # (B, N, 1)
        _, idx_ba = knn_unchecked(b, a, 1)  # (B, M, 1)
    d_ab = _nearest_sq_dist(a, b, idx_ab)
    d_ba = _nearest_sq_dist(b, a, idx_ba)
    if norm == 1:
        d_ab = _safe_sqrt(d_ab)
        d_ba = _safe_sqrt(d_ba)
    if reduction == 'mean':
        return d_ab.mean(), d_ba.mean()
    if reduction == 'sum':
        return d_ab.sum(), d_ba.sum()
    return d_ab, d_ba


def _nearest_sq_dist(x: Tensor, y: Tensor, idx: Tensor) -> Tensor:
    """|x_i - y_idx[i]|^2 as (B, N), differentiable in x and y."""
    nearest = gather_unchecked(y, idx)[:, :, 0]  # (B, N, 3)
    return sq_dist_xyz(x[..., 0], x[..., 1], x[..., 2], nearest[..., 0],
                       nearest[..., 1], nearest[..., 2])


def _safe_sqrt(d: Tensor) -> Tensor:
    """sqrt(d) in value; the gradient of sqrt(max(d, SQRT_EPS))."""
    return torch.where(d >= SQRT_EPS, torch.sqrt(d.clamp_min(SQRT_EPS)),
                       torch.sqrt(d.detach()))


def chamfer_distance_l2(a: Tensor, b: Tensor) -> Tensor:
    """Reference ``ChamferDistanceL2`` of (B, N, 3) ``a`` and (B, M, 3)
    ``b``: the scalar ``mean(d_a) + mean(d_b)`` (see
    :func:`chamfer_distance`)."""
    d_ab, d_ba = chamfer_distance(a, b, norm=2, reduction='mean')
    return d_ab + d_ba


def chamfer_distance_l1(a: Tensor, b: Tensor) -> Tensor:
    """Reference ``ChamferDistanceL1`` of (B, N, 3) ``a`` and (B, M, 3)
    ``b``: the scalar ``(mean(sqrt d_a) + mean(sqrt d_b)) / 2`` (see
    :func:`chamfer_distance`)."""
    d_ab, d_ba = chamfer_distance(a, b, norm=1, reduction='mean')
    return (d_ab + d_ba) / 2
