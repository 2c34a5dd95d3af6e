"""Rotated bird's-eye-view overlap, 3D IoU and 3D NMS of boxes.

The conventions of mmcv's ``iou3d`` ops: a box is ``(x, y, z, dx, dy, dz,
heading)`` with ``(x, y, z)`` its centre and ``heading`` a counter-clockwise
rotation about +z; the BEV footprint is the ``dx`` x ``dy`` rectangle
rotated by ``heading`` about ``(x, y)``.

The overlap is the exact area of the intersection polygon of two convex
quadrilaterals: its vertices are the corners of each box inside the other
and the crossings of their edges, ordered by angle about their mean and
summed with the shoelace formula -- vectorised over all pairs, in torch ops
on any device. (mmcv's CUDA kernel builds the same polygon but counts a
corner as inside up to 1e-2 outside the other box, so for boxes whose edges
nearly touch it can report a sliver more area.)
"""
from typing import Tuple

import torch
from torch import Tensor

from ._common import check_float_finite, check_tensor

# Memory budget of one (N', M) block of pairwise polygons.
_CHUNK_BYTES = 64 * 2**20
# bytes per pair: 24 candidate vertices x (2 coords + angle + mask) + temps
_BYTES_PER_PAIR = 24 * 4 * 8


def _check_boxes(boxes: Tensor, name: str, dims=(7, )) -> None:
    check_tensor(boxes, name)
    if boxes.dim() != 2 or boxes.size(-1) not in dims:
        want = ' or '.join(f'(N, {d})' for d in dims)
        raise ValueError(f'{name} must have shape {want}, got '
                         f'{tuple(boxes.shape)}')
    check_float_finite(boxes, name)


def _cross(ax: Tensor, ay: Tensor, bx: Tensor, by: Tensor) -> Tensor:
    return ax * by - ay * bx


def bev_corners(boxes: Tensor) -> Tensor:
    """Counter-clockwise footprint corners.

    Args:
        boxes (Tensor): (..., 5) ``(x, y, dx, dy, heading)``.

    Returns:
        Tensor: (..., 4, 2) corners, counter-clockwise for positive sizes.
    """
    x, y, dx, dy, angle = boxes.unbind(-1)
    hx = torch.stack([-dx, dx, dx, -dx], -1) / 2
    hy = torch.stack([-dy, -dy, dy, dy], -1) / 2
    cos, sin = torch.cos(angle)[..., None], torch.sin(angle)[..., None]
    return torch.stack([x[..., None] + hx * cos - hy * sin,
                        y[..., None] + hx * sin + hy * cos], -1)


def _inside(points: Tensor, corners: Tensor, eps: Tensor) -> Tensor:
    """points (..., P, 2) inside the convex CCW polygon corners (..., 4, 2),
    boundary included (up to a distance ``eps`` (..., 1, 1) outside)."""
    start = corners.unsqueeze(-3)  # (..., 1, 4, 2)
    edge = corners.roll(-1, dims=-2).unsqueeze(-3) - start
    rel = points.unsqueeze(-2) - start  # (..., P, 4, 2)
    side = _cross(edge[..., 0], edge[..., 1], rel[..., 0], rel[..., 1])
    length = edge.norm(dim=-1)
    return (side >= -eps * length).all(dim=-1)


def _edge_crossings(ca: Tensor, cb: Tensor) -> Tuple[Tensor, Tensor]:
    """Crossings of the 4 edges of ca (..., 4, 2) with the 4 of cb.

    Returns (..., 16, 2) points and (..., 16) validity (non-parallel edges
    that meet within both segments).
    """
    pa = ca.unsqueeze(-2)  # (..., 4, 1, 2)
    ra = ca.roll(-1, dims=-2).unsqueeze(-2) - pa
    pb = cb.unsqueeze(-3)  # (..., 1, 4, 2)
    rb = cb.roll(-1, dims=-2).unsqueeze(-3) - pb
    denom = _cross(ra[..., 0], ra[..., 1], rb[..., 0], rb[..., 1])
    qp = pb - pa
    parallel = denom == 0
    safe = torch.where(parallel, torch.ones_like(denom), denom)
    t = _cross(qp[..., 0], qp[..., 1], rb[..., 0], rb[..., 1]) / safe
    u = _cross(qp[..., 0], qp[..., 1], ra[..., 0], ra[..., 1]) / safe
    valid = ~parallel & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    point = pa + t.unsqueeze(-1) * ra
    shape = valid.shape[:-2] + (16, )
    return point.reshape(*shape, 2), valid.reshape(shape)


def bev_intersection_area(boxes_a: Tensor, boxes_b: Tensor) -> Tensor:
    """Intersection areas of rotated rectangles, all pairs.

    Args:
        boxes_a (Tensor): (N, 5) ``(x, y, dx, dy, heading)``.
        boxes_b (Tensor): (M, 5).

    Returns:
        Tensor: (N, M) areas (float32, float64 for float64 input).
    """
    dtype = (torch.float64 if torch.float64 in (boxes_a.dtype, boxes_b.dtype)
             else torch.float32)
    a = boxes_a.detach().to(dtype)
    b = boxes_b.detach().to(dtype)
    n, m = a.size(0), b.size(0)
    out = a.new_zeros((n, m))
    if n == 0 or m == 0:
        return out
    # work relative to a common origin: fewer cancellation errors
    origin = torch.cat([a[:, :2], b[:, :2]]).mean(0)
    a = torch.cat([a[:, :2] - origin, a[:, 2:]], -1)
    b = torch.cat([b[:, :2] - origin, b[:, 2:]], -1)
    corners_a, corners_b = bev_corners(a), bev_corners(b)
    step = max(1, _CHUNK_BYTES // max(1, m * _BYTES_PER_PAIR))
    for n0 in range(0, n, step):
        ca = corners_a[n0:n0 + step, None].expand(-1, m, 4, 2)
        cb = corners_b[None].expand(ca.size(0), m, 4, 2)
        out[n0:n0 + step] = _polygon_area(ca, cb)
    return out


def _polygon_area(ca: Tensor, cb: Tensor) -> Tensor:
    """Area of the intersection of quads ca, cb (..., 4, 2)."""
    scale = torch.maximum(
        ca.flatten(-2).abs().amax(-1), cb.flatten(-2).abs().amax(-1))
    eps = 1e-6 if ca.dtype == torch.float32 else 1e-12
    eps = (eps * scale.clamp(min=1))[..., None, None]  # (..., 1, 1)
    cross_pts, cross_ok = _edge_crossings(ca, cb)
    a_in_b = _inside(ca, cb, eps)
    b_in_a = _inside(cb, ca, eps)
    pts = torch.cat([ca, cb, cross_pts], dim=-2)  # (..., 24, 2)
    ok = torch.cat([a_in_b, b_in_a, cross_ok], dim=-1)  # (..., 24)
    count = ok.sum(-1, keepdim=True)
    okf = ok.unsqueeze(-1).to(pts.dtype)
    centre = (pts * okf).sum(-2) / count.clamp(min=1).to(pts.dtype)
    rel = pts - centre.unsqueeze(-2)
    angle = torch.atan2(rel[..., 1], rel[..., 0])
    angle = torch.where(ok, angle, torch.full_like(angle, 10.))  # last
    order = angle.argsort(dim=-1)
    rel = rel.gather(-2, order.unsqueeze(-1).expand_as(rel))
    ok = ok.gather(-1, order)
    # invalid vertices collapse onto the first valid one: no area
    rel = torch.where(ok.unsqueeze(-1), rel, rel[..., :1, :])
    nxt = rel.roll(-1, dims=-2)
    area = _cross(rel[..., 0], rel[..., 1], nxt[..., 0], nxt[..., 1]).sum(-1)
    return torch.where(count.squeeze(-1) >= 3, area.abs() / 2,
                       torch.zeros_like(area))


def boxes_overlap_bev(boxes_a: Tensor, boxes_b: Tensor) -> Tensor:
    """BEV intersection areas (mmcv's ``boxes_overlap_bev``).

    Args:
        boxes_a (Tensor): (N, 7) ``(x, y, z, dx, dy, dz, heading)``.
        boxes_b (Tensor): (M, 7).

    Returns:
        Tensor: (N, M) areas, the dtype of ``boxes_a``.
    """
    _check_boxes(boxes_a, 'boxes_a')
    _check_boxes(boxes_b, 'boxes_b')
    cols = [0, 1, 3, 4, 6]
    return bev_intersection_area(boxes_a[:, cols],
                                 boxes_b[:, cols]).to(boxes_a.dtype)


def boxes_iou3d(boxes_a: Tensor, boxes_b: Tensor) -> Tensor:
    """3D IoU of rotated boxes (mmcv's ``boxes_iou3d``): BEV overlap times
    the overlap of the z ranges ``z -+ dz / 2``, over the union volume
    (clamped at 1e-6).

    Args:
        boxes_a (Tensor): (N, 7) ``(x, y, z, dx, dy, dz, heading)``, z the
            centre.
        boxes_b (Tensor): (M, 7).

    Returns:
        Tensor: (N, M) IoU.
    """
    overlap_bev = boxes_overlap_bev(boxes_a, boxes_b)
    a_top = (boxes_a[:, 2] + boxes_a[:, 5] / 2).view(-1, 1)
    a_bottom = (boxes_a[:, 2] - boxes_a[:, 5] / 2).view(-1, 1)
    b_top = (boxes_b[:, 2] + boxes_b[:, 5] / 2).view(1, -1)
    b_bottom = (boxes_b[:, 2] - boxes_b[:, 5] / 2).view(1, -1)
    overlap_h = (torch.min(a_top, b_top) -
                 torch.max(a_bottom, b_bottom)).clamp(min=0)
    overlap_3d = overlap_bev * overlap_h
    vol_a = (boxes_a[:, 3] * boxes_a[:, 4] * boxes_a[:, 5]).view(-1, 1)
    vol_b = (boxes_b[:, 3] * boxes_b[:, 4] * boxes_b[:, 5]).view(1, -1)
    return overlap_3d / torch.clamp(vol_a + vol_b - overlap_3d, min=1e-6)


def bev_iou(boxes_a: Tensor, boxes_b: Tensor, rotated: bool = True) -> Tensor:
    """BEV IoU as mmcv's NMS kernels: overlap / max(union, 1e-8).

    ``rotated=False`` ignores the heading (mmcv's ``iou_normal``).
    Boxes (N, 7) and (M, 7); returns (N, M).
    """
    if rotated:
        overlap = bev_intersection_area(boxes_a[:, [0, 1, 3, 4, 6]],
                                        boxes_b[:, [0, 1, 3, 4, 6]])
    else:
        a = boxes_a.detach().float() if boxes_a.dtype != torch.float64 \
            else boxes_a.detach()
        b = boxes_b.detach().to(a.dtype)
        lo = torch.max((a[:, None, :2] - a[:, None, 3:5] / 2),
                       (b[None, :, :2] - b[None, :, 3:5] / 2))
        hi = torch.min((a[:, None, :2] + a[:, None, 3:5] / 2),
                       (b[None, :, :2] + b[None, :, 3:5] / 2))
        overlap = (hi - lo).clamp(min=0).prod(-1)
    area_a = (boxes_a[:, 3] * boxes_a[:, 4]).view(-1, 1).to(overlap.dtype)
    area_b = (boxes_b[:, 3] * boxes_b[:, 4]).view(1, -1).to(overlap.dtype)
    return overlap / torch.clamp(area_a + area_b - overlap, min=1e-8)


def _greedy_nms(boxes: Tensor, scores: Tensor, iou_threshold: float,
                rotated: bool) -> Tensor:
    _check_boxes(boxes, 'boxes')
    check_tensor(scores, 'scores')
    if scores.shape != boxes.shape[:1]:
        raise ValueError(f'scores must have shape ({boxes.size(0)}, ), got '
                         f'{tuple(scores.shape)}')
    order = scores.sort(0, descending=True)[1]
    sorted_boxes = boxes[order]
    n = sorted_boxes.size(0)
    if n == 0:
        return order
    iou = bev_iou(sorted_boxes, sorted_boxes, rotated)
    suppress = (iou > iou_threshold).cpu()
    removed = torch.zeros(n, dtype=torch.bool)
    keep = []
    for i in range(n):
        if removed[i]:
            continue
        keep.append(i)
        removed |= suppress[i]
    keep = torch.tensor(keep, dtype=torch.long, device=order.device)
    return order[keep].contiguous()


def nms3d(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS on rotated BEV IoU (mmcv's ``nms3d``).

    Boxes are visited by descending score; a box is dropped when its IoU
    with a kept one is ``> iou_threshold``.

    Args:
        boxes (Tensor): (N, 7) ``(x, y, z, dx, dy, dz, heading)``.
        scores (Tensor): (N, ) scores.
        iou_threshold (float): IoU above which a box is suppressed.

    Returns:
        Tensor: int64 indices of the kept boxes, by descending score.
    """
    return _greedy_nms(boxes, scores, iou_threshold, rotated=True)


def nms3d_normal(boxes: Tensor, scores: Tensor,
                 iou_threshold: float) -> Tensor:
    """:func:`nms3d` with the headings ignored (mmcv's ``nms3d_normal``)."""
    return _greedy_nms(boxes, scores, iou_threshold, rotated=False)
