"""mmcv 2.1's CUDA-only point / box ops on CPU tensors, dispatched
by device, so that mmdet3d's point-based detectors (VoteNet, GroupFree3D,
...) and their heads run on CPU tensors unchanged.

mmcv 2.1 ships ``furthest_point_sample``, ``ball_query``,
``grouping_operation``, ``gather_points``, ``three_nn``, ``knn``,
``points_in_boxes_all`` / ``_part`` and the ``iou3d`` ops (``nms3d`` ...)
with CUDA kernels only: on CPU tensors they raise "implementation for device
cpu not found" (or allocate ``torch.cuda`` tensors). Each function below has
mmcv's signature, argument conventions and output dtypes; it calls mmcv's
own kernel for tensors on a device mmcv has kernels for (CUDA with a CUDA
build of mmcv, or any other accelerator) and the project's torch / numba
implementation otherwise (ball query and points-in-boxes, which only this
shim needs, live beside it in :mod:`.ball_query` / :mod:`.points_in_boxes`):

=============================  =========================================
mmcv op                        CPU path (act_mmdet3d.ops)
=============================  =========================================
furthest_point_sample          :func:`act_mmdet3d.ops.furthest_point_sample`
furthest_point_sample_with_    :func:`fps_with_dist_torch` (this module)
dist
ball_query                     :func:`.ball_query.ball_query` (batched)
                               :func:`.ball_query.stack_ball_query`
grouping_operation             :func:`act_mmdet3d.ops.gather`
gather_points                  :func:`act_mmdet3d.ops.gather`
three_nn / three_interpolate   :func:`act_mmdet3d.ops.three_nn` / ...
knn                            :func:`act_mmdet3d.ops.knn`
points_in_boxes_all / _part    :mod:`.points_in_boxes`
boxes_overlap_bev, boxes_iou3d :mod:`act_mmdet3d.ops.box_iou` (exact
                               polygon clipping)
nms3d, nms3d_normal            :mod:`act_mmdet3d.ops.box_iou`
=============================  =========================================

(``box_iou_rotated``, ``nms`` and ``nms_rotated``, which mmdet3d's
``IndoorMetric`` and box structures use, have CPU kernels in mmcv already.)

How the dispatch is installed -- nothing on disk is edited:
:func:`install` (called by :func:`act_mmdet3d.compat.apply_all`, never
by importing ``act_mmdet3d``) rebinds each name

1. in ``mmcv.ops`` and in the mmcv module that defines it (so every later
   ``from mmcv.ops import X`` and every mmcv-internal call through module
   globals, e.g. ``PointsSampler`` -> ``furthest_point_sample``,
   ``QueryAndGroup`` -> ``ball_query`` / ``grouping_operation``, gets the
   dispatcher), and
2. in every module already imported that bound mmcv's function at import
   time (``from mmcv.ops import X`` copies the reference): the sites listed
   in :data:`KNOWN_SITES` (imported here first, so they are always covered)
   plus any other ``mmcv`` / ``mmdet`` / ``mmdet3d`` module found holding
   the original function.

:func:`installed_sites` lists what was rebound. ``ACT_MMCV_FALLBACK=0`` in
the environment turns the installation off.
"""
import importlib
import inspect
import os
import sys
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

from ..ops import box_iou as _box_iou
from ..ops import furthest_point_sample as _fps
from ..ops import gather as _gather
from ..ops import knn as _knn
from ..ops import three_interpolate as _three_interpolate
from ..ops import three_nn as _three_nn
from ..ops._common import mmcv_cuda_ops
from . import points_in_boxes as _pib
from .ball_query import ball_query as _ball_query
from .ball_query import stack_ball_query

# ----------------------------------------------------------------- dispatch

#: mmcv's original functions by name (filled by :func:`install`).
MMCV_ORIGINALS: Dict[str, object] = {}


def use_mmcv_kernel(*tensors: Optional[Tensor]) -> bool:
    """True when mmcv has a kernel for the device of the first tensor:
    CUDA with a CUDA build of mmcv, or any other non-CPU device."""
    for t in tensors:
        if isinstance(t, Tensor):
            if t.device.type == 'cpu':
                return False
            return t.device.type != 'cuda' or mmcv_cuda_ops()
    return False


def _original(name: str):
    fn = MMCV_ORIGINALS.get(name)
    if fn is None:
        module = importlib.import_module(_MMCV_DEFINED_IN[name])
        fn = getattr(module, name)
    return fn


def _as_int(x: Tensor) -> Tensor:
    return x.to(torch.int32).contiguous()


def fps_with_dist_torch(points_dist: Tensor, num_points: int) -> Tensor:
    """FPS over a (B, N, N) distance matrix, from index 0 (mmcv's
    ``furthest_point_sample_with_dist``): each step takes the argmax (lowest
    index among ties) of the running minimum distance to the samples.

    Returns (B, num_points) int64.
    """
    b, n, _ = points_dist.shape
    dist = points_dist.detach().float()
    out = torch.zeros((b, num_points), dtype=torch.long,
                      device=points_dist.device)
    temp = torch.full((b, n), 1e10, device=points_dist.device)
    batch = torch.arange(b, device=points_dist.device)
    old = torch.zeros(b, dtype=torch.long, device=points_dist.device)
    for j in range(1, num_points):
        temp = torch.minimum(temp, dist[batch, old])
        old = temp.argmax(dim=1)
        out[:, j] = old
    return out


def group_points(features: Tensor, indices: Tensor) -> Tensor:
    """``out[b, c, m, k] = features[b, c, indices[b, m, k]]``.

    Differentiable w.r.t. ``features`` (features (B, C, N), indices
    (B, M, K) integer) -> (B, C, M, K).
    """
    return _gather(features.transpose(1, 2), indices).permute(0, 3, 1,
                                                              2).contiguous()


def furthest_point_sample(points_xyz: Tensor, num_points: int) -> Tensor:
    """mmcv's ``furthest_point_sample``: (B, N, 3) -> (B, num_points)
    int32, starting at index 0."""
    if use_mmcv_kernel(points_xyz):
        return _original('furthest_point_sample')(points_xyz, num_points)
    return _as_int(_fps(points_xyz, num_points))


def furthest_point_sample_with_dist(points_dist: Tensor,
                                   num_points: int) -> Tensor:
    """mmcv's ``furthest_point_sample_with_dist``: (B, N, N) distances ->
    (B, num_points) int32."""
    if use_mmcv_kernel(points_dist):
        return _original('furthest_point_sample_with_dist')(points_dist,
                                                            num_points)
    if points_dist.dim() != 3 or points_dist.size(1) != points_dist.size(2):
        raise ValueError('points_dist must have shape (B, N, N), got '
                         f'{tuple(points_dist.shape)}')
    return _as_int(fps_with_dist_torch(points_dist, num_points))


def ball_query(min_radius: float,
               max_radius: float,
               sample_num: int,
               xyz: Tensor,
               center_xyz: Tensor,
               xyz_batch_cnt: Optional[Tensor] = None,
               center_xyz_batch_cnt: Optional[Tensor] = None) -> Tensor:
    """mmcv's ``ball_query``: batched (B, N, 3) / (B, M, 3) -> (B, M, K)
    int32, or stacked (N1+N2.., 3) with counts -> (M1+M2.., K) int32."""
    if use_mmcv_kernel(xyz):
        return _original('ball_query')(min_radius, max_radius, sample_num,
                                       xyz, center_xyz, xyz_batch_cnt,
                                       center_xyz_batch_cnt)
    if not min_radius < max_radius:
        raise ValueError(f'ball_query needs min_radius < max_radius, got '
                         f'{min_radius} and {max_radius}')
    if xyz_batch_cnt is not None and center_xyz_batch_cnt is not None:
        return _as_int(
            stack_ball_query(center_xyz, center_xyz_batch_cnt, xyz,
                             xyz_batch_cnt, float(max_radius), sample_num))
    return _as_int(
        _ball_query(center_xyz, xyz, max_radius, sample_num, min_radius))


def grouping_operation(features: Tensor,
                       indices: Tensor,
                       features_batch_cnt: Optional[Tensor] = None,
                       indices_batch_cnt: Optional[Tensor] = None) -> Tensor:
    """mmcv's ``grouping_operation``: features (B, C, N), indices
    (B, M, K) -> (B, C, M, K); or stacked features (N1+N2.., C), indices
    (M1+M2.., K) with counts -> (M1+M2.., C, K). Differentiable."""
    if use_mmcv_kernel(features):
        return _original('grouping_operation')(features, indices,
                                               features_batch_cnt,
                                               indices_batch_cnt)
    if features_batch_cnt is not None and indices_batch_cnt is not None:
        out = []
        feats = features.split(features_batch_cnt.tolist())
        idxs = indices.split(indices_batch_cnt.tolist())
        for f, i in zip(feats, idxs):
            # (N_b, C) -> (1, C, N_b); indices are local to the cloud
            out.append(group_points(f.t()[None], i[None])[0].transpose(0, 1))
        return torch.cat(out)
    if features.dim() != 3 or indices.dim() != 3:
        raise ValueError('grouping_operation expects features (B, C, N) and '
                         f'indices (B, M, K), got {tuple(features.shape)} '
                         f'and {tuple(indices.shape)}')
    return group_points(features, indices)


def gather_points(features: Tensor, indices: Tensor) -> Tensor:
    """mmcv's ``gather_points``: features (B, C, N), indices (B, M) ->
    (B, C, M). Differentiable."""
    if use_mmcv_kernel(features):
        return _original('gather_points')(features, indices)
    if features.dim() != 3 or indices.dim() != 2:
        raise ValueError('gather_points expects features (B, C, N) and '
                         f'indices (B, M), got {tuple(features.shape)} and '
                         f'{tuple(indices.shape)}')
    return _gather(features.transpose(1, 2), indices).transpose(1,
                                                                2).contiguous()


def three_nn(target: Tensor, source: Tensor) -> Tuple[Tensor, Tensor]:
    """mmcv's ``three_nn``: (B, N, 3), (B, M, 3) -> Euclidean distances
    (B, N, 3) and int32 indices (B, N, 3)."""
    if use_mmcv_kernel(target):
        return _original('three_nn')(target, source)
    dist, idx = _three_nn(target, source)
    return dist.float(), _as_int(idx)


def three_interpolate(features: Tensor, indices: Tensor,
                      weight: Tensor) -> Tensor:
    """mmcv's ``three_interpolate``: (B, C, M), (B, N, 3), (B, N, 3) ->
    (B, C, N)."""
    if use_mmcv_kernel(features):
        return _original('three_interpolate')(features, indices, weight)
    return _three_interpolate(features, indices, weight)


def knn(k: int,
        xyz: Tensor,
        center_xyz: Optional[Tensor] = None,
        transposed: bool = False) -> Tensor:
    """mmcv's ``knn``: the k nearest of ``xyz`` for each centre, as
    (B, k, npoint) int32 (inputs (B, 3, *) when ``transposed``)."""
    if use_mmcv_kernel(xyz):
        return _original('knn')(k, xyz, center_xyz, transposed)
    if center_xyz is None:
        center_xyz = xyz
    if transposed:
        xyz = xyz.transpose(2, 1)
        center_xyz = center_xyz.transpose(2, 1)
    idx = _knn(center_xyz.contiguous(), xyz.contiguous(), k)[1]
    return _as_int(idx.transpose(1, 2))


def points_in_boxes_all(points: Tensor, boxes: Tensor) -> Tensor:
    """mmcv's ``points_in_boxes_all``: (B, M, 3), (B, T, 7) -> (B, M, T)
    int32 membership."""
    if use_mmcv_kernel(points):
        return _original('points_in_boxes_all')(points, boxes)
    return _pib.points_in_boxes_all(points, boxes)


def points_in_boxes_part(points: Tensor, boxes: Tensor) -> Tensor:
    """mmcv's ``points_in_boxes_part``: (B, M, 3), (B, T, 7) -> (B, M)
    int32 first box index, -1 for none."""
    if use_mmcv_kernel(points):
        return _original('points_in_boxes_part')(points, boxes)
    return _pib.points_in_boxes_part(points, boxes)


def boxes_overlap_bev(boxes_a: Tensor, boxes_b: Tensor) -> Tensor:
    """mmcv's ``boxes_overlap_bev``: (N, 7), (M, 7) -> (N, M) areas."""
    if use_mmcv_kernel(boxes_a):
        return _original('boxes_overlap_bev')(boxes_a, boxes_b)
    return _box_iou.boxes_overlap_bev(boxes_a, boxes_b)


def boxes_iou3d(boxes_a: Tensor, boxes_b: Tensor) -> Tensor:
    """mmcv's ``boxes_iou3d``: (N, 7), (M, 7) -> (N, M) 3D IoU."""
    if use_mmcv_kernel(boxes_a):
        return _original('boxes_iou3d')(boxes_a, boxes_b)
    return _box_iou.boxes_iou3d(boxes_a, boxes_b)


def nms3d(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """mmcv's ``nms3d`` (rotated BEV IoU): int64 kept indices."""
    if use_mmcv_kernel(boxes):
        return _original('nms3d')(boxes, scores, iou_threshold)
    return _box_iou.nms3d(boxes, scores, iou_threshold)


def nms3d_normal(boxes: Tensor, scores: Tensor,
                 iou_threshold: float) -> Tensor:
    """mmcv's ``nms3d_normal`` (axis-aligned BEV IoU): int64 indices."""
    if use_mmcv_kernel(boxes):
        return _original('nms3d_normal')(boxes, scores, iou_threshold)
    return _box_iou.nms3d_normal(boxes, scores, iou_threshold)


# ----------------------------------------------------------------- install

# where mmcv defines each op
_MMCV_DEFINED_IN = {
    'furthest_point_sample': 'mmcv.ops.furthest_point_sample',
    'furthest_point_sample_with_dist': 'mmcv.ops.furthest_point_sample',
    'ball_query': 'mmcv.ops.ball_query',
    'grouping_operation': 'mmcv.ops.group_points',
    'gather_points': 'mmcv.ops.gather_points',
    'three_nn': 'mmcv.ops.three_nn',
    'three_interpolate': 'mmcv.ops.three_interpolate',
    'knn': 'mmcv.ops.knn',
    'points_in_boxes_all': 'mmcv.ops.points_in_boxes',
    'points_in_boxes_part': 'mmcv.ops.points_in_boxes',
    'boxes_overlap_bev': 'mmcv.ops.iou3d',
    'boxes_iou3d': 'mmcv.ops.iou3d',
    'nms3d': 'mmcv.ops.iou3d',
    'nms3d_normal': 'mmcv.ops.iou3d',
}

#: The dispatchers, by mmcv name.
DISPATCHERS = {name: globals()[name] for name in _MMCV_DEFINED_IN}

#: Where mmcv 2.1 / mmdet3d 1.4 look these names up through module globals
#: bound at import time (besides ``mmcv.ops`` and the defining modules):
#: (module, names). Each is rebound by :func:`install`.
KNOWN_SITES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    # mmcv internals
    ('mmcv.ops.points_sampler',  # PointsSampler: D-FPS, F-FPS, FS
     ('furthest_point_sample', 'furthest_point_sample_with_dist')),
    ('mmcv.ops.group_points',  # QueryAndGroup
     ('ball_query', 'knn')),
    # VoteNet: seed-mode proposal sampling
    ('mmdet3d.models.dense_heads.vote_head', ('furthest_point_sample', )),
    # GroupFree3D: GeneralSamplingModule
    ('mmdet3d.models.dense_heads.groupfree3d_head', ('gather_points', )),
    # PointSAModule(MSG): vote aggregation, PointNet2 backbones
    ('mmdet3d.models.layers.pointnet_modules.point_sa_module',
     ('gather_points', )),
    ('mmdet3d.models.layers.pointnet_modules.point_fp_module',
     ('three_nn', 'three_interpolate')),
    ('mmdet3d.models.layers.pointnet_modules.stack_point_sa_module',
     ('ball_query', 'grouping_operation')),
    ('mmdet3d.models.layers.dgcnn_modules.dgcnn_gf_module',
     ('grouping_operation', )),
    # H3DNet
    ('mmdet3d.models.roi_heads.mask_heads.primitive_head',
     ('furthest_point_sample', )),
    # PV-RCNN
    ('mmdet3d.models.middle_encoders.voxel_set_abstraction',
     ('furthest_point_sample', )),
    ('mmdet3d.models.middle_encoders.sparse_encoder',
     ('points_in_boxes_all', 'three_nn', 'three_interpolate')),
    # BaseInstance3DBoxes.points_in_boxes_all / _part (VoteHead and
    # GroupFree3DHead targets and NMS)
    ('mmdet3d.structures.bbox_3d.base_box3d',
     ('points_in_boxes_all', 'points_in_boxes_part')),
    # FCAF3D, ImVoxelNet
    ('mmdet3d.models.dense_heads.fcaf3d_head', ('nms3d', 'nms3d_normal')),
    ('mmdet3d.models.dense_heads.imvoxel_head', ('nms3d', 'nms3d_normal')),
)

# module name prefixes searched for other copies of the originals
_SWEEP_PREFIXES = ('mmcv.', 'mmdet.', 'mmdet3d.', 'mmpretrain.', 'projects.')

_INSTALLED: List[Tuple[str, str]] = []


def _same(a, b) -> bool:
    """``a is b``, treating re-fetched bound methods (``Fn.apply``) alike."""
    if a is b:
        return True
    return (inspect.ismethod(a) and inspect.ismethod(b)
            and a.__func__ is b.__func__ and a.__self__ is b.__self__)


def _rebind(module, name: str) -> bool:
    current = getattr(module, name, None)
    original = MMCV_ORIGINALS.get(name)
    if current is None or original is None or not _same(current, original):
        return False
    setattr(module, name, DISPATCHERS[name])
    _INSTALLED.append((module.__name__, name))
    return True


def install() -> List[Tuple[str, str]]:
    """Install the dispatchers (idempotent); returns the (module, name)
    pairs rebound by this call. A no-op when mmcv.ops does not import or
    ``ACT_MMCV_FALLBACK=0``."""
    if os.environ.get('ACT_MMCV_FALLBACK', '1') in ('0', 'false', 'False'):
        return []
    try:
        mmcv_ops = importlib.import_module('mmcv.ops')
    except Exception:  # noqa: BLE001 - no compiled mmcv: nothing to patch
        return []
    start = len(_INSTALLED)
    for name, defined_in in _MMCV_DEFINED_IN.items():
        if name not in MMCV_ORIGINALS:
            MMCV_ORIGINALS[name] = getattr(
                importlib.import_module(defined_in), name)
    for name, defined_in in _MMCV_DEFINED_IN.items():
        _rebind(mmcv_ops, name)
        _rebind(sys.modules[defined_in], name)
    for module_name, names in KNOWN_SITES:
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: BLE001 - optional deps of that module
            continue
        for name in names:
            _rebind(module, name)
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith(_SWEEP_PREFIXES):
            continue
        for name in _MMCV_DEFINED_IN:
            if name in getattr(module, '__dict__', {}):
                _rebind(module, name)
    return _INSTALLED[start:]


def installed_sites() -> List[Tuple[str, str]]:
    """Every (module, name) rebound so far."""
    return list(_INSTALLED)
