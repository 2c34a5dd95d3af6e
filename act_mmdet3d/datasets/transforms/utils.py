"""Point-cloud helpers shared by the ACT datasets and transforms.

They take and return numpy arrays: they run in data-loader workers on the
CPU.
"""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch

from mmdet3d.structures.points import DepthPoints
from ...ops import furthest_point_sample


def farthest_point_sample(xyz: np.ndarray,
                          num_samples: int,
                          start: int = 0) -> np.ndarray:
    """:func:`act_mmdet3d.ops.furthest_point_sample` of one numpy cloud.

    The first index is ``start``, then each step takes the point farthest
    from the already chosen set (lowest index on ties), in float32 as the
    reference. Because FPS is greedy, the first M indices of an FPS of
    N > M points are the FPS of M points from the same start.

    Args:
        xyz (np.ndarray): (N, 3+) points; only the first 3 columns are used.
        num_samples (int): number of indices to return, <= N.
        start (int): index of the first picked point. Defaults to 0 (the
            CUDA kernel); the reference numpy FPS draws it at random.

    Returns:
        np.ndarray: (num_samples,) int64 indices into ``xyz``.
    """
    points = torch.from_numpy(np.asarray(xyz)[None, :, :3].astype(np.float32))
    return furthest_point_sample(points, num_samples, start)[0].numpy()


def check_points(points, source: str,
                 min_points: Optional[int] = None) -> np.ndarray:
    """Validate one cloud read from disk and return it as float32.

    Args:
        points: what the file held for this sample.
        source (str): file (and key / index) named in error messages.
        min_points (int, optional): minimum number of points.

    Returns:
        np.ndarray: (N, C) float32, C >= 3.

    Raises:
        TypeError / ValueError naming ``source`` for a non-array, a wrong
        shape or dtype, NaN / inf coordinates or too few points.
    """
    return _check_clouds(points, source, min_points, batched=False)


def check_point_batch(data, source: str,
                      min_points: Optional[int] = None) -> np.ndarray:
    """:func:`check_points` for a (B, N, C) stack of clouds (an h5 ``data``
    array); NaN / inf are reported per cloud.

    Returns:
        np.ndarray: (B, N, C) float32.
    """
    return _check_clouds(data, source, min_points, batched=True)


def _check_clouds(data, source: str, min_points: Optional[int],
                  batched: bool) -> np.ndarray:
    """The checks of :func:`check_points` (one (N, C) cloud) and
    :func:`check_point_batch` ((B, N, C) clouds)."""
    ndim, layout, unit, first = ((3, '(B, N, C>=3)', 'cloud(s)',
                                  'first: sample') if batched else
                                 (2, '(N, C>=3)', 'point(s)', 'first at row'))
    if not isinstance(data, np.ndarray):
        raise TypeError(f'{source}: expected a numpy array of points, got '
                        f'{type(data).__name__}')
    if data.dtype == object or not (np.issubdtype(data.dtype, np.floating)
                                    or np.issubdtype(data.dtype, np.integer)):
        raise TypeError(f'{source}: points have dtype {data.dtype}, '
                        'expected a float array')
    if data.ndim != ndim or data.shape[-1] < 3:
        raise ValueError(f'{source}: points must be a {layout} array, got '
                         f'shape {tuple(data.shape)} (corrupt or '
                         'truncated file?)')
    if min_points is not None and data.shape[-2] < min_points:
        raise ValueError(f'{source}: {data.shape[-2]} points per cloud, '
                         f'fewer than num_points={min_points}')
    data = data.astype(np.float32, copy=False)
    bad = np.flatnonzero(~np.isfinite(data).all(axis=tuple(range(1, ndim))))
    if len(bad):
        raise ValueError(f'{source}: {len(bad)} {unit} with NaN/inf '
                         f'values ({first} {int(bad[0])})')
    return data


def check_choice(owner: str, name: str, value, choices) -> None:
    """Raise ``ValueError`` ``'<owner>: unknown <name> <value>; expected one
    of <choices>'`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f'{owner}: unknown {name} {value!r}; expected one '
                         f'of {tuple(choices)}')


def make_points(points: np.ndarray, use_normals: bool = False) -> DepthPoints:
    """Wrap an (N, C) array as mmdet3d ``DepthPoints``.

    With ``use_normals`` the columns 3:6 are the normals and are recorded
    as ``attribute_dims={'normal': [3, 4, 5]}``; otherwise only xyz is kept.
    """
    if use_normals:
        if points.shape[1] < 6:
            raise ValueError('use_normals=True needs (N, 6) points '
                             f'(x, y, z, nx, ny, nz), got {points.shape}')
        return DepthPoints(
            np.ascontiguousarray(points[:, :6]),
            points_dim=6,
            attribute_dims=dict(normal=[3, 4, 5]))
    return DepthPoints(np.ascontiguousarray(points[:, :3]), points_dim=3)


def check_exists(path: str, what: str, hint: str = '') -> str:
    """Raise ``FileNotFoundError`` naming ``path`` unless it exists."""
    if not osp.exists(path):
        msg = f'{what} not found: {path}'
        if hint:
            msg += f' ({hint})'
        raise FileNotFoundError(msg)
    return path


def read_lines(path: str, what: str) -> List[str]:
    """Non-empty, stripped lines of a text file (clear error if missing)."""
    check_exists(path, what)
    with open(path, 'r') as f:
        return [line.strip() for line in f if line.strip()]


class SharedArrays:
    """Holder of the loaded point arrays of a dataset.

    mmengine deep-copies every dataset attribute in ``get_subset``;
    a holder that returns itself from ``__deepcopy__`` keeps the (possibly
    gigabyte-sized) arrays shared instead. In forked data-loader workers the
    arrays are shared copy-on-write as well.
    """

    def __init__(self, arrays: Sequence):
        self.arrays = arrays

    def __getitem__(self, idx):
        return self.arrays[idx]

    def __len__(self):
        return len(self.arrays)

    def __deepcopy__(self, memo):
        return self
