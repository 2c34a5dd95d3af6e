"""Exact k-nearest-neighbour search between point clouds."""
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from ._common import (check_backend, check_count, check_point_pair,
                      mmcv_cuda_ops, num_workers, numba_kernels,
                      numba_kernels_for, run_parallel, split_ranges,
                      sq_dist_xyz, to_numpy_f32)
from .gather import gather_unchecked

KNN_BACKENDS = ('auto', 'numba', 'torch', 'mmcv')

#: Default memory budget of the torch path: the (B', M', N) distance block
#: and its temporaries of one chunk stay below this many bytes.
DEFAULT_CHUNK_BYTES = 256 * 2**20

# The torch path on CPU uses chunks of at most this size (fastest measured).
_CPU_CHUNK_BYTES = 16 * 2**20

# Target reference points per grid cell of the numba kernel.
_KNN_PER_CELL = 64


def knn(query: Tensor,
        ref: Tensor,
        k: int,
        backend: str = 'auto',
        chunk_bytes: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """The k nearest reference points of every query point, exactly.

    Neighbours are ordered by (squared distance, index): ascending distance,
    equal distances by ascending index -- exactly the first k columns of a
    stable argsort of all distances. Distances are exact squared Euclidean
    distances ``(dx*dx + dy*dy) + dz*dz`` (no ``|q|^2 + |r|^2 - 2 q.r``
    shortcut), in float32 (float64 for float64 inputs; float16 / bfloat16
    inputs are converted to float32 first).

    Backends:

    * ``'numba'`` (CPU, not float64): a compiled grid-pruned kernel that
      selects (distance, index) keys by quickselect; O(N) extra memory per
      thread; work split over ``torch.get_num_threads()`` threads.
    * ``'torch'``: the reference, any device and dtype; computes (B', M', N)
      distance blocks chunked over the batch and the queries so that one
      chunk needs at most ``chunk_bytes`` (about 20 bytes per distance; on
      CPU at most 16 MiB, which is faster), then
      ``topk`` on int64 keys ``(distance bits << 32) | index`` (float64:
      stable sort), which makes the tie order deterministic.
    * ``'mmcv'``: mmcv's CUDA ``knn`` kernel (k < 100) for the neighbour
      indices; distances are then recomputed exactly and the neighbours
      re-sorted by (distance, index). mmcv rounds with fused multiply-adds,
      so the set can differ from the exact one where distances (nearly) tie.
    * ``'auto'`` (default): CUDA -> ``'mmcv'`` when mmcv has CUDA ops and
      k < 100, else ``'torch'``; CPU -> ``'numba'`` unless the input is
      float64 or numba is missing, else ``'torch'``.

    Args:
        query (Tensor): (B, M, 3) query points.
        ref (Tensor): (B, N, 3) reference points, same batch size, device
            and dtype family (both floating).
        k (int): neighbours per query, 1 <= k <= N.
        backend (str): see above.
        chunk_bytes (int, optional): memory budget of the torch path
            (default :data:`DEFAULT_CHUNK_BYTES`, 256 MiB).

    Returns:
        tuple[Tensor, Tensor]: ``dist`` (B, M, k) squared distances sorted
        ascending (float32, or float64 for float64 inputs) and ``idx``
        (B, M, k) int64 indices into ``ref``.
    """
    check_point_pair(query, 'query', ref, 'ref')
    check_backend(backend, KNN_BACKENDS)
    n = ref.size(1)
    k = check_count(k, 'k', n, 'the number of reference points N')
    if chunk_bytes is not None and (not isinstance(chunk_bytes, int)
                                    or chunk_bytes <= 0):
        raise ValueError(f'chunk_bytes must be a positive int, got '
                         f'{chunk_bytes!r}')
    return knn_unchecked(query, ref, k, backend, chunk_bytes)


def knn_unchecked(query: Tensor,
                  ref: Tensor,
                  k: int,
                  backend: str = 'auto',
                  chunk_bytes: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """:func:`knn` without the input checks (for callers that made them)."""
    b, m, _ = query.shape
    dtype = torch.float64 if torch.float64 in (query.dtype,
                                               ref.dtype) else torch.float32
    if b == 0 or m == 0:
        return (query.new_zeros((b, m, k), dtype=dtype),
                torch.zeros((b, m, k), dtype=torch.long,
                            device=query.device))
    if backend == 'auto':
        backend = _auto_backend(query, dtype, k)
    if backend == 'numba':
        return _knn_numba(query, ref, k, dtype)
    if backend == 'mmcv':
        return _knn_mmcv(query, ref, k)
    return knn_torch(query.to(dtype), ref.to(dtype), k, chunk_bytes)


def _auto_backend(query: Tensor, dtype: torch.dtype, k: int) -> str:
    if query.is_cuda:
        if k < 100 and dtype == torch.float32 and mmcv_cuda_ops():
            return 'mmcv'
        return 'torch'
    if (query.device.type == 'cpu' and dtype == torch.float32
            and numba_kernels() is not None):
        return 'numba'
    return 'torch'


def _select(d: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """k smallest of d (..., N) by (value, index), sorted."""
    if d.dtype == torch.float32:
        n = d.size(-1)
        # non-negative float32 bits order like the floats; unique keys make
        # topk's order (and its choice among ties) deterministic
        key = d.view(torch.int32).to(torch.int64)
        key.bitwise_left_shift_(32)
        key.bitwise_or_(torch.arange(n, device=d.device))
        key = key.topk(k, dim=-1, largest=False, sorted=True)[0]
        idx = key & 0xFFFFFFFF
        dist = (key >> 32).to(torch.int32).view(torch.float32)
        return dist, idx
    dist, idx = torch.sort(d, dim=-1, stable=True)
    return dist[..., :k], idx[..., :k]


def knn_torch(query: Tensor,
              ref: Tensor,
              k: int,
              chunk_bytes: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """The reference kNN in torch ops, chunked (any device, no checks).

    Args and returns as :func:`knn`; ``query`` and ``ref`` must share a
    float32 or float64 dtype.
    """
    budget = DEFAULT_CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    if query.device.type == 'cpu':
        # memory-bound on CPU: cache-sized chunks are faster than big ones
        budget = min(budget, _CPU_CHUNK_BYTES)
    b, m, _ = query.shape
    n = ref.size(1)
    q = query.detach()
    r = ref.detach()
    # bytes per distance: d, a temporary, the int64 key and topk's output
    per = 20 if q.dtype == torch.float32 else 32
    mq = max(1, min(m, budget // max(1, n * per)))
    bq = max(1, min(b, budget // max(1, mq * n * per)))
    dist = q.new_empty((b, m, k))
    idx = torch.empty((b, m, k), dtype=torch.long, device=q.device)
    rx, ry, rz = (c.unsqueeze(1) for c in r.unbind(-1))  # (B, 1, N)
    for b0 in range(0, b, bq):
        b1 = min(b, b0 + bq)
        for m0 in range(0, m, mq):
            m1 = min(m, m0 + mq)
            qc = q[b0:b1, m0:m1]
            d = sq_dist_xyz(qc[..., 0:1], qc[..., 1:2], qc[..., 2:3],
                            rx[b0:b1], ry[b0:b1], rz[b0:b1], inplace=True)
            dist[b0:b1, m0:m1], idx[b0:b1, m0:m1] = _select(d, k)
            del d
    return dist, idx


def _knn_numba(query: Tensor, ref: Tensor, k: int,
               dtype: torch.dtype) -> Tuple[Tensor, Tensor]:
    kernels = numba_kernels_for(query.device, dtype)
    b, m, _ = query.shape
    n = ref.size(1)
    q = to_numpy_f32(query)
    r = to_numpy_f32(ref)
    d_np = np.empty((b, m, k), dtype=np.float32)
    i_np = np.empty((b, m, k), dtype=np.int64)
    # work estimate: the pruned search touches ~ a few hundred points/query
    workers = num_workers(b * m * min(n, 512))
    if b >= workers:
        ranges = split_ranges(b, workers)
        run_parallel(
            lambda b0, b1: kernels.knn(q, r, k, b0, b1, 0, m, d_np, i_np,
                                       _KNN_PER_CELL), ranges)
    else:
        ranges = split_ranges(m, workers)
        run_parallel(
            lambda m0, m1: kernels.knn(q, r, k, 0, b, m0, m1, d_np, i_np,
                                       _KNN_PER_CELL), ranges)
    return torch.from_numpy(d_np), torch.from_numpy(i_np)


def _knn_mmcv(query: Tensor, ref: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    if not query.is_cuda or not mmcv_cuda_ops():
        raise ValueError("backend='mmcv' needs CUDA tensors and mmcv built "
                         'with CUDA ops')
    if k >= 100:
        raise ValueError(f"backend='mmcv' supports k < 100, got k={k}")
    from mmcv.ops import knn as mmcv_knn
    q = query.detach().float().contiguous()
    r = ref.detach().float().contiguous()
    idx = mmcv_knn(k, r, q, False).transpose(1, 2).long()  # (B, M, k)
    nb = gather_unchecked(r, idx)  # (B, M, k, 3)
    qe = q.unsqueeze(2)
    d = sq_dist_xyz(qe[..., 0], qe[..., 1], qe[..., 2], nb[..., 0],
                    nb[..., 1], nb[..., 2], inplace=True)
    # canonical (distance, index) order
    key = d.view(torch.int32).to(torch.int64)
    key.bitwise_left_shift_(32)
    key.bitwise_or_(idx)
    key = key.sort(dim=-1)[0]
    return (key >> 32).to(torch.int32).view(torch.float32), key & 0xFFFFFFFF

