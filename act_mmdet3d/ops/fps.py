"""Farthest point sampling (FPS)."""
import numpy as np
import torch
from torch import Tensor

from ._common import (check_backend, check_count, check_int, check_points,
                      compute_dtype, mmcv_cuda_ops, num_workers, numba_kernels,
                      numba_kernels_for, run_parallel, split_ranges,
                      to_numpy_f32)

FPS_BACKENDS = ('auto', 'numba', 'torch', 'quickfps', 'mmcv')

# Target points per grid cell of the numba kernel (tuned with
# tools/analysis_tools/benchmark.py on 2 cores; 64..512 are all within ~10%).
_FPS_PER_CELL = 128

# The reference kernel's float32 ``mag <= 1e-3`` (a double) is ``mag <=
# _NEAR_F32``, the largest float32 <= 1e-3 (float32(1e-3) is above 1e-3).
_NEAR_F32 = np.nextafter(np.float32(1e-3), np.float32(0))


def furthest_point_sample(points: Tensor,
                          num_samples: int,
                          start_idx: int = 0,
                          backend: str = 'auto',
                          skip_near_origin: bool = False) -> Tensor:
    """Farthest point sampling: indices of ``num_samples`` spread-out points.

    Exact: the result equals, index for index, the naive O(N*S) loop that
    starts at ``start_idx``, keeps for every point its squared distance to
    the nearest sample so far, and takes the next sample as ``argmax`` of
    those distances, ties going to the lowest index (``torch.argmax``).
    Squared distances are ``(dx*dx + dy*dy) + dz*dz`` rounded after every
    operation, in float32 (float64 for float64 input; float16 / bfloat16
    input is converted to float32 first).

    ``skip_near_origin=True`` reproduces the reference code's
    ``pointnet2_ops`` CUDA kernel (``furthest_point_sampling_kernel``), which
    never selects a point whose squared norm ``(x*x + y*y) + z*z`` is
    <= 1e-3 (``if (mag <= 1e-3) continue;``): such points keep no running
    distance and are never a candidate; the first sample is still
    ``start_idx``; a step with no candidate left (every point near the
    origin) returns index 0, the kernel's initial ``besti``. The official
    ACT checkpoints were trained with this rule; without it (the default,
    as mmcv, which comments the line out) a cloud with a point within 0.032
    of the origin can get other centres (1024 -> 64: 7 of 100 flat-disc
    clouds, 2 of 100 Gaussian clouds). Backends ``'numba'`` and
    ``'torch'`` implement it (``'auto'`` picks one of them).

    Backends:

    * ``'numba'`` (CPU, float16/bfloat16/float32): a compiled grid-pruned
      kernel, exact as above, batch split over ``torch.get_num_threads()``
      threads. The fastest exact CPU path (see
      ``tools/analysis_tools/benchmark.py``).
    * ``'torch'``: the reference, a loop of S vectorised torch steps over the
      whole batch; any device and dtype, scriptable/exportable.
    * ``'quickfps'``: ``torch_quickfps.sample_idx(points, S, start_idx=...)``
      (CPU/CUDA, if installed). Same indices as the reference except when
      distances tie exactly (e.g. duplicate or grid points): it does not
      break ties by lowest index.
    * ``'mmcv'``: mmcv's CUDA kernel (CUDA tensors, ``start_idx == 0`` only,
      float32). Rounds with fused multiply-adds and breaks exact ties by
      thread order, so it matches the reference up to ties.
    * ``'auto'`` (default): CUDA -> ``'mmcv'`` when mmcv was built with CUDA
      ops, ``start_idx == 0`` and not ``skip_near_origin``, else
      ``'torch'``; CPU -> ``'numba'`` when
      numba is importable and the input is not float64, else ``'torch'``.

    Args:
        points (Tensor): (B, N, 3) finite coordinates.
        num_samples (int): S, 1 <= S <= N.
        start_idx (int): index of the first sample in every cloud, in
            [0, N) (negative values count from the end).
        backend (str): see above.
        skip_near_origin (bool): the reference kernel's rule, see above.

    Returns:
        Tensor: (B, S) int64 indices into ``points``; the first column is
        ``start_idx``.
    """
    check_points(points, 'points')
    check_backend(backend, FPS_BACKENDS)
    b, n, _ = points.shape
    num_samples = check_count(num_samples, 'num_samples', n,
                              'the number of points N')
    start_idx = _check_start(start_idx, n)
    if b == 0:
        return torch.zeros(0, num_samples, dtype=torch.long,
                           device=points.device)
    if backend == 'auto':
        backend = _auto_backend(points, start_idx, skip_near_origin)
    if skip_near_origin and backend in ('quickfps', 'mmcv'):
        raise ValueError(f'backend={backend!r} has no skip_near_origin; use '
                         "'numba', 'torch' or 'auto'")
    if backend == 'numba':
        return _fps_numba(points, num_samples, start_idx, skip_near_origin)
    if backend == 'quickfps':
        return _fps_quickfps(points, num_samples, start_idx)
    if backend == 'mmcv':
        return _fps_mmcv(points, num_samples, start_idx)
    return fps_torch(points, num_samples, start_idx, skip_near_origin)


def _check_start(start_idx, n: int) -> int:
    start_idx = check_int(start_idx, 'start_idx')
    if not -n <= start_idx < n:
        raise ValueError(f'start_idx ({start_idx}) must be in [-N, N) with '
                         f'N={n}')
    return start_idx % n


def _auto_backend(points: Tensor, start_idx: int,
                  skip_near_origin: bool) -> str:
    if points.is_cuda:
        if start_idx == 0 and not skip_near_origin and mmcv_cuda_ops():
            return 'mmcv'
        return 'torch'
    if (points.device.type == 'cpu' and points.dtype != torch.float64
            and numba_kernels() is not None):
        return 'numba'
    return 'torch'


def fps_torch(points: Tensor,
              num_samples: int,
              start_idx: int = 0,
              skip_near_origin: bool = False) -> Tensor:
    """The reference FPS in plain torch ops (any device, no checks).

    Vectorised over the batch: per step one gather of the new sample, the
    exact squared distances of all B*N points in struct-of-arrays layout,
    an in-place minimum and one argmax. Points near the origin
    (``skip_near_origin``) hold -inf, which the minimum keeps and argmax
    passes over (an all -inf row gives index 0). Arguments as in
    :func:`furthest_point_sample`.
    """
    b, n, _ = points.shape
    dtype = compute_dtype(points)
    xyz = points.detach().to(dtype).transpose(1, 2).contiguous()  # (B, 3, N)
    dist = torch.full((b, n), float('inf'), dtype=dtype, device=xyz.device)
    if skip_near_origin:
        x, y, z = xyz.unbind(1)
        mag = (x * x + y * y) + z * z
        near = 1e-3 if dtype == torch.float64 else float(_NEAR_F32)
        dist.masked_fill_(mag <= near, float('-inf'))
    sq = torch.empty_like(xyz)
    d = torch.empty_like(dist)
    out = torch.empty((b, num_samples), dtype=torch.long, device=xyz.device)
    far = torch.full((b, 1, 1), start_idx, dtype=torch.long,
                     device=xyz.device)
    for s in range(num_samples):
        out[:, s] = far.view(b)
        centre = xyz.gather(2, far.expand(b, 3, 1))  # (B, 3, 1)
        torch.sub(xyz, centre, out=sq)
        sq.mul_(sq)
        torch.add(sq[:, 0], sq[:, 1], out=d)
        d.add_(sq[:, 2])
        torch.minimum(dist, d, out=dist)
        far = dist.argmax(dim=1).view(b, 1, 1)
    return out


def _fps_numba(points: Tensor, num_samples: int, start_idx: int,
               skip_near_origin: bool) -> Tensor:
    kernels = numba_kernels_for(points.device, points.dtype)
    near = _NEAR_F32 if skip_near_origin else np.float32(-1)  # mag >= 0
    b, n, _ = points.shape
    xyz = to_numpy_f32(points)
    out_np = np.empty((b, num_samples), dtype=np.int64)
    ranges = split_ranges(b, num_workers(b * n * min(num_samples, 64)))
    run_parallel(
        lambda b0, b1: kernels.fps(xyz, num_samples, start_idx, near, out_np,
                                   b0, b1, _FPS_PER_CELL), ranges)
    return torch.from_numpy(out_np)


def _fps_quickfps(points: Tensor, num_samples: int, start_idx: int) -> Tensor:
    try:
        import torch_quickfps
    except ImportError as e:
        raise ValueError("backend='quickfps' needs the torch-quickfps "
                         'package') from e
    xyz = points.detach()
    if xyz.dtype not in (torch.float32, torch.float64):
        xyz = xyz.float()
    return torch_quickfps.sample_idx(
        xyz.contiguous(), num_samples, start_idx=start_idx).long()


def _fps_mmcv(points: Tensor, num_samples: int, start_idx: int) -> Tensor:
    if not points.is_cuda or not mmcv_cuda_ops():
        raise ValueError("backend='mmcv' needs CUDA points and mmcv built "
                         'with CUDA ops')
    if start_idx != 0:
        raise ValueError("backend='mmcv' always starts at index 0, got "
                         f'start_idx={start_idx}')
    from mmcv.ops import furthest_point_sample as mmcv_fps
    xyz = points.detach().float().contiguous()
    return mmcv_fps(xyz, num_samples).long()
