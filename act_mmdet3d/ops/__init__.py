"""Point ops: exact FPS and kNN, gather, Chamfer distance, three-NN, ball
query, points-in-boxes, rotated box IoU / 3D NMS.

Every op takes channels-last points (B, N, 3), checks its inputs (a
``ValueError`` naming the argument for a wrong shape, dtype, device, count or
a NaN / inf), and is exact: FPS and kNN give the indices of the brute-force
definitions, ties included, on every backend marked exact.

Backends (``backend='auto'`` picks):

* CPU: compiled numba kernels (grid-pruned, vectorised, exact in float32),
  the fastest measured path (``tools/benchmark.py --only ops``); float64 and
  numba-less installs use the pure-torch reference.
* CUDA: mmcv's kernels where mmcv was built with CUDA ops, else the same
  pure-torch code as the CPU reference.

``ACT_OPS_DISABLE_NUMBA=1`` in the environment forces the torch path.

Importing this package also installs :mod:`.mmcv_fallback`: mmcv's
CUDA-only ops (``furthest_point_sample``, ``ball_query``,
``grouping_operation``, ``gather_points``, ``three_nn``, ``knn``,
``points_in_boxes_*``, ``nms3d`` ...) dispatch CPU tensors to these
implementations, so mmdet3d's point-based detectors run on CPU
(``ACT_MMCV_FALLBACK=0`` turns it off), and makes mmdet3d's
``indoor_eval`` (``IndoorMetric``) work under numpy >= 2.4
(:mod:`.indoor_eval_compat`).
"""
from .ball_query import ball_query, stack_ball_query
from .box_iou import (boxes_iou3d, boxes_overlap_bev, bev_intersection_area,
                      nms3d, nms3d_normal)
from .chamfer import (SQRT_EPS, chamfer_distance, chamfer_distance_l1,
                      chamfer_distance_l2)
from .fps import FPS_BACKENDS, furthest_point_sample
from .gather import gather
from .interpolate import three_interpolate, three_nn
from .knn import DEFAULT_CHUNK_BYTES, KNN_BACKENDS, knn
from .points_in_boxes import points_in_boxes_all, points_in_boxes_part
from . import mmcv_fallback
from .indoor_eval_compat import patch_indoor_eval

mmcv_fallback.install()
patch_indoor_eval()

__all__ = [
    'furthest_point_sample', 'knn', 'gather', 'chamfer_distance',
    'chamfer_distance_l1', 'chamfer_distance_l2', 'three_nn',
    'three_interpolate', 'ball_query', 'stack_ball_query',
    'points_in_boxes_all', 'points_in_boxes_part', 'bev_intersection_area',
    'boxes_overlap_bev', 'boxes_iou3d', 'nms3d', 'nms3d_normal',
    'mmcv_fallback', 'FPS_BACKENDS', 'KNN_BACKENDS', 'DEFAULT_CHUNK_BYTES',
    'SQRT_EPS'
]
