"""Point ops: exact FPS and kNN, gather, Chamfer distance, three-NN,
rotated box IoU / 3D NMS.

Every op takes channels-last points (B, N, 3), checks its inputs (a
``ValueError`` naming the argument for a wrong shape, dtype, device, count or
a NaN / inf), and is exact: FPS and kNN give the indices of the brute-force
definitions, ties included, on every backend marked exact.

Backends (``backend='auto'`` picks):

* CPU: compiled numba kernels (grid-pruned, vectorised, exact in float32),
  the fastest measured path
  (``tools/analysis_tools/benchmark.py --only ops``); float64 and
  numba-less installs use the pure-torch reference.
* CUDA: mmcv's kernels where mmcv was built with CUDA ops, else the same
  pure-torch code as the CPU reference.

``ACT_OPS_DISABLE_NUMBA=1`` in the environment forces the torch path.

mmcv's CUDA-only ops run on CPU through these implementations once
:mod:`act_mmdet3d.compat` is applied (importing this package changes
nothing in mmcv).
"""
from .box_iou import (boxes_iou3d, boxes_overlap_bev, bev_intersection_area,
                      nms3d, nms3d_normal)
from .chamfer import (SQRT_EPS, chamfer_distance, chamfer_distance_l1,
                      chamfer_distance_l2)
from .fps import FPS_BACKENDS, furthest_point_sample
from .gather import gather
from .interpolate import three_interpolate, three_nn
from .knn import DEFAULT_CHUNK_BYTES, KNN_BACKENDS, knn

__all__ = [
    'furthest_point_sample', 'knn', 'gather', 'chamfer_distance',
    'chamfer_distance_l1', 'chamfer_distance_l2', 'three_nn',
    'three_interpolate', 'bev_intersection_area', 'boxes_overlap_bev',
    'boxes_iou3d', 'nms3d', 'nms3d_normal', 'FPS_BACKENDS', 'KNN_BACKENDS',
    'DEFAULT_CHUNK_BYTES', 'SQRT_EPS'
]
