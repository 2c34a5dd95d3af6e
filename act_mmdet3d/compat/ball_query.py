"""Ball query: the first points of a cloud that lie within a radius.

Same result as mmcv's ``ball_query`` CUDA kernel (batched and stacked
layouts), in torch ops on any device.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..ops._common import (check_count, check_point_pair, check_points,
                           sq_dist_xyz)

# Memory budget of one (B', M', N) block of distances and its temporaries.
_CHUNK_BYTES = 32 * 2**20
# bytes per (centre, point) pair: distance, bool mask, int32 rank, int64 slot
_BYTES_PER_PAIR = 4 + 1 + 4 + 8


def ball_query(center: Tensor,
               xyz: Tensor,
               max_radius: float,
               sample_num: int,
               min_radius: float = 0.) -> Tensor:
    """Indices of up to ``sample_num`` points in a shell around each centre.

    The definition of mmcv's kernel: scan the points of the cloud in index
    order and take, for every centre, the first ``sample_num`` points with
    squared distance ``d2 == 0`` or ``min_radius**2 <= d2 < max_radius**2``.
    When fewer qualify, the remaining slots repeat the first one found; when
    none qualifies, all slots are 0. ``d2`` is ``(dx*dx + dy*dy) + dz*dz`` in
    float32 (float64 for float64 input); the squared radii are rounded to
    float32 as in the kernel.

    Args:
        center (Tensor): (B, M, 3) query centres (mmcv: ``center_xyz``).
        xyz (Tensor): (B, N, 3) points.
        max_radius (float): outer radius (exclusive), > ``min_radius``.
        sample_num (int): K, slots per centre (K >= 1; K > N is allowed).
        min_radius (float): inner radius (inclusive). Defaults to 0.

    Returns:
        Tensor: (B, M, K) int64 indices into ``xyz``.
    """
    check_point_pair(center, 'center', xyz, 'xyz')
    sample_num = check_count(sample_num, 'sample_num', 2**31 - 1, '2**31-1')
    if not 0. <= float(min_radius) < float(max_radius):
        raise ValueError('radii must satisfy 0 <= min_radius < max_radius, '
                         f'got min_radius={min_radius}, '
                         f'max_radius={max_radius}')
    return ball_query_torch(center, xyz, float(max_radius), sample_num,
                            float(min_radius))[0]


def _float32_square(r: float) -> float:
    """``r * r`` rounded as the kernel's ``float r2 = r * r``."""
    r32 = torch.tensor(r, dtype=torch.float32)
    return float(r32 * r32)


def ball_query_torch(center: Tensor,
                     xyz: Tensor,
                     max_radius: float,
                     sample_num: int,
                     min_radius: float = 0.,
                     inner_zero: bool = True) -> Tuple[Tensor, Tensor]:
    """:func:`ball_query` without input checks, also returning the counts.

    ``inner_zero=True`` also accepts ``d2 == 0`` points inside
    ``min_radius`` (the batched kernel); the stacked kernel has neither a
    minimum radius nor that rule.

    Returns:
        tuple[Tensor, Tensor]: (B, M, K) int64 indices and (B, M) int64
        numbers of qualifying points (capped at K).
    """
    b, m, _ = center.shape
    n = xyz.size(1)
    k = sample_num
    out = torch.zeros((b, m, k), dtype=torch.long, device=center.device)
    count = torch.zeros((b, m), dtype=torch.long, device=center.device)
    if b == 0 or m == 0 or n == 0:
        return out, count
    dtype = (torch.float64 if torch.float64 in (center.dtype, xyz.dtype)
             else torch.float32)
    c = center.detach().to(dtype)
    p = xyz.detach().to(dtype)
    max2 = _float32_square(max_radius)
    min2 = _float32_square(min_radius)
    px, py, pz = (t.unsqueeze(1) for t in p.unbind(-1))  # (B, 1, N)
    step = max(1, _CHUNK_BYTES // max(1, b * n * _BYTES_PER_PAIR))
    arange_n = torch.arange(n, device=center.device)
    arange_k = torch.arange(k, device=center.device)
    for m0 in range(0, m, step):
        m1 = min(m, m0 + step)
        cc = c[:, m0:m1]
        d2 = sq_dist_xyz(cc[..., 0:1], cc[..., 1:2], cc[..., 2:3], px, py,
                         pz, inplace=True)  # (B, M', N)
        ok = (d2 >= min2) & (d2 < max2)
        if inner_zero:
            ok |= d2 == 0
        del d2
        out[:, m0:m1], count[:, m0:m1] = first_k(ok, k, arange_n,
                                                 arange_k)
    return out, count


def first_k(ok: Tensor, k: int, arange_n: Tensor,
            arange_k: Tensor) -> Tuple[Tensor, Tensor]:
    """The first ``k`` True positions of every row of ``ok`` (..., N).

    Rows with fewer repeat their first position; rows with none are 0.
    Returns (..., k) int64 positions and (...) int64 counts (capped at k).
    """
    rank = ok.cumsum(-1, dtype=torch.int32)  # qualifiers up to and incl. j
    slot = torch.where(ok & (rank <= k), rank.long() - 1, k)
    buf = torch.zeros((*ok.shape[:-1], k + 1), dtype=torch.long,
                      device=ok.device)
    # every slot < k receives exactly one index; slot k collects the rest
    buf.scatter_(-1, slot, arange_n.expand_as(slot))
    found = buf[..., :k]
    count = rank[..., -1:].long().clamp(max=k)
    return (torch.where(arange_k < count, found, found[..., :1]),
            count.squeeze(-1))


def stack_ball_query(center: Tensor, center_batch_cnt: Tensor, xyz: Tensor,
                     xyz_batch_cnt: Tensor, max_radius: float,
                     sample_num: int) -> Tensor:
    """Ball query on stacked clouds (mmcv's ``stack_ball_query`` kernel).

    Cloud i holds ``xyz_batch_cnt[i]`` consecutive rows of ``xyz`` and
    ``center_batch_cnt[i]`` consecutive rows of ``center``. A point qualifies
    when ``d2 < max_radius**2``; indices are local to the cloud; a centre
    with no point gets ``-1`` in its first slot (and 0 in the others).

    Args:
        center (Tensor): (M1 + M2 + ..., 3) centres.
        center_batch_cnt (Tensor): (B, ) int centres per cloud.
        xyz (Tensor): (N1 + N2 + ..., 3) points.
        xyz_batch_cnt (Tensor): (B, ) int points per cloud.
        max_radius (float): radius (exclusive).
        sample_num (int): K, slots per centre.

    Returns:
        Tensor: (M1 + M2 + ..., K) int64.
    """
    check_points(center.unsqueeze(0), 'center')
    check_points(xyz.unsqueeze(0), 'xyz')
    sample_num = check_count(sample_num, 'sample_num', 2**31 - 1, '2**31-1')
    m_counts = _counts(center_batch_cnt, 'center_batch_cnt', center.size(0))
    n_counts = _counts(xyz_batch_cnt, 'xyz_batch_cnt', xyz.size(0))
    if len(m_counts) != len(n_counts):
        raise ValueError('center_batch_cnt and xyz_batch_cnt must have the '
                         f'same length, got {len(m_counts)} and '
                         f'{len(n_counts)}')
    out = []
    for c, p in zip(center.split(m_counts), xyz.split(n_counts)):
        idx, count = ball_query_torch(
            c[None], p[None], max_radius, sample_num, inner_zero=False)
        idx = idx[0]
        idx[count[0] == 0, 0] = -1
        out.append(idx)
    return torch.cat(out) if out else torch.zeros(
        (0, sample_num), dtype=torch.long, device=center.device)


def _counts(cnt: Optional[Tensor], name: str, total: int):
    if cnt is None or cnt.dim() != 1 or cnt.dtype.is_floating_point:
        raise ValueError(f'{name} must be a 1-d integer tensor')
    counts = [int(v) for v in cnt.tolist()]
    if any(v < 0 for v in counts) or sum(counts) != total:
        raise ValueError(f'{name} must hold non-negative counts summing to '
                         f'{total}, got {counts}')
    return counts
