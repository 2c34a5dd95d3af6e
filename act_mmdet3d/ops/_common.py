"""Shared helpers of :mod:`act_mmdet3d.ops`: input checks, backend detection,
and the thread pool that runs the CPU kernels over a batch.

Not public API.
"""
import functools
import operator
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import Tensor

# ----------------------------------------------------------------- checks


def check_tensor(x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise ValueError(f'{name} must be a torch.Tensor, got '
                         f'{type(x).__name__}')
    return x


def check_points(x, name: str, finite: bool = True) -> Tensor:
    """``x`` must be a floating point tensor of shape (B, N, 3), finite
    unless ``finite=False`` (then call :func:`check_float_finite` later)."""
    check_tensor(x, name)
    if x.dim() != 3 or x.size(-1) != 3:
        raise ValueError(f'{name} must have shape (B, N, 3), got '
                         f'{tuple(x.shape)} (ndim={x.dim()})')
    if not x.is_floating_point():
        raise ValueError(f'{name} must be a floating point tensor, got '
                         f'{x.dtype}')
    if finite:
        check_float_finite(x, name)
    return x


def check_point_pair(a, a_name: str, b, b_name: str) -> None:
    """Two (B, *, 3) point tensors: shapes, then batch / device, then
    finiteness."""
    check_points(a, a_name, finite=False)
    check_points(b, b_name, finite=False)
    check_same_batch_device(a, a_name, b, b_name)
    check_float_finite(a, a_name)
    check_float_finite(b, b_name)


def check_float_finite(x: Tensor, name: str) -> Tensor:
    if not x.is_floating_point():
        raise ValueError(f'{name} must be a floating point tensor, got '
                         f'{x.dtype}')
    if x.numel() and not _all_finite(x):
        raise ValueError(f'{name} contains NaN or inf values')
    return x


_NUMPY_FLOATS = (torch.float16, torch.float32, torch.float64)


def _all_finite(x: Tensor) -> bool:
    if x.device.type == 'cpu' and x.dtype in _NUMPY_FLOATS:
        # numpy: no wake-up of torch's OpenMP pool, whose spinning threads
        # would then compete with the kernels' own threads
        return bool(np.isfinite(x.detach().numpy()).all())
    return bool(torch.isfinite(x).all())


def to_numpy_f32(x: Tensor) -> np.ndarray:
    """A C-contiguous float32 numpy copy/view of a CPU tensor."""
    x = x.detach()
    if x.dtype in _NUMPY_FLOATS:
        a = x.numpy()
        if a.dtype != np.float32:
            a = a.astype(np.float32)
    else:
        a = x.float().numpy()
    return np.ascontiguousarray(a)


def check_same_batch_device(a: Tensor, a_name: str, b: Tensor,
                            b_name: str) -> None:
    if a.device != b.device:
        raise ValueError(f'{a_name} and {b_name} must be on the same device, '
                         f'got {a.device} and {b.device}')
    if a.size(0) != b.size(0):
        raise ValueError(f'{a_name} and {b_name} must have the same batch '
                         f'size, got {a.size(0)} and {b.size(0)}')


def check_int(value, name: str) -> int:
    """``value`` must be an integer (Python, numpy or 0-d integer tensor)."""
    if isinstance(value, bool):
        raise ValueError(f'{name} must be an integer, got {value!r}')
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f'{name} must be an integer, got {value!r}') from None


def check_count(value, name: str, upper: int, upper_name: str) -> int:
    """``value`` must be an int in [1, upper]."""
    value = check_int(value, name)
    if value <= 0:
        raise ValueError(f'{name} must be positive, got {value}')
    if value > upper:
        raise ValueError(f'{name} ({value}) must not exceed {upper_name} '
                         f'({upper})')
    return value


def check_backend(backend: str, allowed) -> str:
    if backend not in allowed:
        raise ValueError(f'backend must be one of {tuple(allowed)}, got '
                         f'{backend!r}')
    return backend


def compute_dtype(x: Tensor) -> torch.dtype:
    """Distances are computed in float64 for float64 inputs, else float32."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def sq_dist_xyz(ax: Tensor,
                ay: Tensor,
                az: Tensor,
                bx: Tensor,
                by: Tensor,
                bz: Tensor,
                inplace: bool = False) -> Tensor:
    """Exact squared distance ``(dx*dx + dy*dy) + dz*dz``, broadcasting.

    This evaluation order, with one rounding per operation and no fused
    multiply-add, is the definition every backend of the package reproduces
    bit for bit (the numba kernels are compiled without ``contract``).
    ``inplace=True`` reuses the first temporary (no autograd).
    """
    d = ax - bx
    t = ay - by
    if inplace:
        d.mul_(d)
        t.mul_(t)
        d.add_(t)
        t = az - bz
        t.mul_(t)
        return d.add_(t)
    d = d * d
    d = d + t * t
    t = az - bz
    return d + t * t


# ----------------------------------------------------------------- backends


@functools.lru_cache(maxsize=None)
def mmcv_cuda_ops() -> bool:
    """True when mmcv's compiled ops import and were built with CUDA."""
    if not torch.cuda.is_available():
        return False
    try:
        from mmcv.ops import get_compiling_cuda_version
        version = get_compiling_cuda_version()
    except Exception:  # noqa: BLE001 - any import problem means "no"
        return False
    return bool(version) and version != 'not available'


def numba_kernels_for(device: torch.device, dtype: torch.dtype):
    """The compiled kernels for ``backend='numba'`` on tensors of this
    device and compute dtype; a ``ValueError`` saying why they cannot run."""
    kernels = numba_kernels()
    if kernels is None:
        raise ValueError("backend='numba' needs numba, which failed to "
                         'import')
    if device.type != 'cpu':
        raise ValueError(f"backend='numba' needs CPU tensors, got {device}")
    if dtype == torch.float64:
        raise ValueError("backend='numba' computes in float32; use "
                         "backend='torch' for float64 points")
    return kernels


@functools.lru_cache(maxsize=None)
def numba_kernels():
    """The compiled CPU kernels module, or None when numba is unusable."""
    if os.environ.get('ACT_OPS_DISABLE_NUMBA', '0') not in ('', '0'):
        return None
    try:
        from . import _kernels
    except Exception:  # noqa: BLE001 - fall back to the torch path
        return None
    return _kernels


# ----------------------------------------------------------------- threads

_POOL_LOCK = threading.Lock()
_POOL = None
_POOL_KEY = None


def _get_pool(workers: int) -> ThreadPoolExecutor:
    global _POOL, _POOL_KEY
    key = (os.getpid(), workers)  # a forked child needs its own threads
    with _POOL_LOCK:
        if _POOL is None or _POOL_KEY != key:
            _POOL = ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix='act_ops')
            _POOL_KEY = key
        return _POOL


def split_ranges(total: int, parts: int):
    """Split ``range(total)`` into ``parts`` contiguous (start, stop)."""
    parts = max(1, min(parts, total))
    base, extra = divmod(total, parts)
    out, start = [], 0
    for i in range(parts):
        stop = start + base + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def run_parallel(fn, ranges) -> None:
    """Run ``fn(start, stop)`` for every range, on torch's thread count.

    The kernels release the GIL, so the ranges run concurrently. Uses at most
    ``torch.get_num_threads()`` threads (the caller's thread included).
    """
    if len(ranges) == 1:
        fn(*ranges[0])
        return
    pool = _get_pool(max(len(ranges), torch.get_num_threads()) - 1)
    futures = [pool.submit(fn, *r) for r in ranges[1:]]
    fn(*ranges[0])
    for f in futures:
        f.result()


def num_workers(work: float, min_work_per_thread: float = 2e5) -> int:
    """How many threads a job of ``work`` elementary steps deserves."""
    threads = max(1, torch.get_num_threads())
    return int(max(1, min(threads, work // min_work_per_thread)))
