"""Which rotated 3D boxes contain which points.

Same test as mmcv's ``points_in_boxes_*`` kernels, in torch ops on any
device: a box is ``(x, y, z, x_size, y_size, z_size, rz)`` with ``(x, y, z)``
the bottom centre and ``rz`` the yaw about +z (counter-clockwise); a point is
inside when ``|pz - (z + z_size / 2)| <= z_size / 2`` and its coordinates in
the box frame satisfy ``|local_x| < x_size / 2``, ``|local_y| < y_size / 2``
(strictly).
"""
import torch
from torch import Tensor

from ..ops._common import check_float_finite, check_tensor

# Memory budget of one (B, M', T) block of the all-pairs test.
_CHUNK_BYTES = 32 * 2**20


def _check(points: Tensor, boxes: Tensor) -> None:
    check_tensor(points, 'points')
    check_tensor(boxes, 'boxes')
    if points.dim() != 3 or points.size(-1) != 3:
        raise ValueError(f'points must have shape (B, M, 3), got '
                         f'{tuple(points.shape)}')
    if boxes.dim() != 3 or boxes.size(-1) != 7:
        raise ValueError(f'boxes must have shape (B, T, 7), got '
                         f'{tuple(boxes.shape)}')
    if points.size(0) != boxes.size(0):
        raise ValueError(f'points and boxes must have the same batch size, '
                         f'got {points.size(0)} and {boxes.size(0)}')
    if points.device != boxes.device:
        raise ValueError(f'points and boxes must be on the same device, got '
                         f'{points.device} and {boxes.device}')
    check_float_finite(points, 'points')
    check_float_finite(boxes, 'boxes')


def points_in_boxes_all(points: Tensor, boxes: Tensor) -> Tensor:
    """Membership of every point in every box.

    Args:
        points (Tensor): (B, M, 3) points.
        boxes (Tensor): (B, T, 7) boxes, bottom centre + sizes + yaw.

    Returns:
        Tensor: (B, M, T) int32, 1 where point m lies in box t, else 0 (as
        mmcv's ``points_in_boxes_all``).
    """
    _check(points, boxes)
    return points_in_boxes_mask(points, boxes).int()


def points_in_boxes_part(points: Tensor, boxes: Tensor) -> Tensor:
    """The first box that contains each point.

    Args:
        points (Tensor): (B, M, 3) points.
        boxes (Tensor): (B, T, 7) boxes.

    Returns:
        Tensor: (B, M) int32 index of the lowest-numbered box holding the
        point, -1 for none (as mmcv's ``points_in_boxes_part``).
    """
    _check(points, boxes)
    inside = points_in_boxes_mask(points, boxes)
    if inside.size(-1) == 0:
        return torch.full(inside.shape[:2], -1, dtype=torch.int32,
                          device=points.device)
    first = inside.byte().argmax(dim=-1)  # first maximum: the lowest index
    return torch.where(inside.any(dim=-1), first,
                       torch.full_like(first, -1)).int()


def points_in_boxes_mask(points: Tensor, boxes: Tensor) -> Tensor:
    """(B, M, T) bool membership, no input checks (float32 arithmetic, or
    float64 when either input is float64)."""
    dtype = (torch.float64 if torch.float64 in (points.dtype, boxes.dtype)
             else torch.float32)
    p = points.detach().to(dtype)
    bx = boxes.detach().to(dtype)
    b, m, _ = p.shape
    t = bx.size(1)
    out = torch.zeros((b, m, t), dtype=torch.bool, device=p.device)
    if out.numel() == 0:
        return out
    cx, cy, cz, dx, dy, dz, rz = (v.unsqueeze(1) for v in bx.unbind(-1))
    half_z = dz / 2
    mid_z = cz + half_z  # the kernel shifts the bottom centre up
    cos, sin = torch.cos(-rz), torch.sin(-rz)
    step = max(1, _CHUNK_BYTES // max(1, b * t * 24))
    for m0 in range(0, m, step):
        chunk = p[:, m0:m0 + step]
        px, py, pz = (v.unsqueeze(-1) for v in chunk.unbind(-1))  # (B, M', 1)
        sx, sy = px - cx, py - cy
        local_x = sx * cos + sy * (-sin)
        local_y = sx * sin + sy * cos
        inside = (pz - mid_z).abs() <= half_z
        inside &= (local_x > -dx / 2) & (local_x < dx / 2)
        inside &= (local_y > -dy / 2) & (local_y < dy / 2)
        out[:, m0:m0 + step] = inside
    return out
