"""3D match costs for mmdet's ``HungarianAssigner`` (3DETR's matcher).

3DETR matches queries to boxes with the cost
``w_cls * -p(gt class) + w_obj * -objectness + w_center * L1(centres)
+ w_giou * -GIoU`` (reference ``criterion.py``, ``Matcher``). The class
term is mmdet's ``ClassificationCost`` on the (C + 1)-way logits (softmax
over all of them, the probability of the gt class); the other three terms
are registered here, each reading fields of the ``pred_instances`` /
``gt_instances`` that :class:`ThreeDETRHead` fills:

- ``pred_instances.centers`` / ``sizes`` (Q, 3) metres, ``gt_instances``
  the same (K, 3): :class:`AxisAlignedGIoU3DCost` (ScanNet), with
  ``angles`` (heading about z): :class:`RotatedGIoU3DCost` (SUN RGB-D);
- ``centers_normalized`` (scene box scaled to [0, 1]):
  :class:`Center3DL1Cost`;
- ``pred_instances.objectness`` (Q, ): :class:`ObjectnessCost`.
"""
from typing import Optional

import torch
from mmdet.models.task_modules.assigners.match_cost import BaseMatchCost
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet3d.registry import TASK_UTILS
from ...ops import bev_intersection_area

_EPS = 1e-8


def aligned_giou_3d(centers1: Tensor, sizes1: Tensor, centers2: Tensor,
                    sizes2: Tensor) -> Tensor:
    """Generalised IoU of axis-aligned 3D boxes, every pair.

    The arithmetic of the reference's ``generalized_box3d_iou_tensor`` for
    boxes without rotation: intersection and enclosing box from the min /
    max corners, each edge of a volume at least 1e-3 (its squared edges
    clamped at 1e-6 before the square root), volumes and union at least
    1e-8, and the GIoU of degenerate pairs (enclosing volume <= 2e-8 or
    summed volume <= 4e-8) set to 0. Differentiable.

    Args:
        centers1, sizes1 (Tensor): (..., K1, 3).
        centers2, sizes2 (Tensor): (..., K2, 3).

    Returns:
        Tensor: (..., K1, K2) GIoU in [-1, 1].
    """
    min1 = (centers1 - sizes1 / 2).unsqueeze(-2)
    max1 = (centers1 + sizes1 / 2).unsqueeze(-2)
    min2 = (centers2 - sizes2 / 2).unsqueeze(-3)
    max2 = (centers2 + sizes2 / 2).unsqueeze(-3)
    inter = (torch.min(max1, max2) - torch.max(min1, min2)).clamp(min=0)
    enclosing = (torch.max(max1, max2) - torch.min(min1, min2)).abs().prod(-1)
    return _giou(inter.prod(-1), enclosing, sizes1, sizes2)


def _giou(inter_vol: Tensor, enclosing: Tensor, sizes1: Tensor,
          sizes2: Tensor) -> Tensor:
    """GIoU from intersection and enclosing volumes (..., K1, K2), with the
    reference's clamps (see :func:`aligned_giou_3d`)."""
    vol1 = sizes1.abs().clamp(min=1e-3).prod(-1).clamp(min=_EPS)
    vol2 = sizes2.abs().clamp(min=1e-3).prod(-1).clamp(min=_EPS)
    sum_vols = vol1.unsqueeze(-1) + vol2.unsqueeze(-2)
    good = (enclosing > 2 * _EPS) & (sum_vols > 4 * _EPS)
    union = (sum_vols - inter_vol).clamp(min=_EPS)
    return (inter_vol / union - (1 - union / enclosing)) * good


class _InstanceCost(BaseMatchCost):
    """``weight * cost(pred_instances, gt_instances)``: the subclasses
    define the (Q, K) :meth:`cost`."""

    def __call__(self,
                 pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 img_meta: Optional[dict] = None,
                 **kwargs) -> Tensor:
        """(Q, K) cost."""
        return self.cost(pred_instances, gt_instances) * self.weight

    def cost(self, pred: InstanceData, gt: InstanceData) -> Tensor:
        """(Q, K) cost of the predicted queries against the gt boxes,
        before ``weight``."""
        raise NotImplementedError


@TASK_UTILS.register_module()
class AxisAlignedGIoU3DCost(_InstanceCost):
    """``-weight * GIoU`` of axis-aligned 3D boxes (3DETR's box cost;
    ScanNet's boxes have no rotation). Reads ``centers`` and ``sizes``.

    Args:
        weight (float): the reference's ``matcher_giou_cost`` (2 for
            ScanNet, 3 for SUN RGB-D).
    """

    def cost(self, pred: InstanceData, gt: InstanceData) -> Tensor:
        return -aligned_giou_3d(pred.centers, pred.sizes, gt.centers,
                                gt.sizes)


def rotated_giou_3d(centers1: Tensor, sizes1: Tensor, angles1: Tensor,
                    centers2: Tensor, sizes2: Tensor,
                    angles2: Tensor) -> Tensor:
    """Generalised IoU of 3D boxes rotated about z, every pair (no
    gradient).

    As the reference's ``generalized_box3d_iou`` with ``rotated_boxes``:
    the intersection is the exact overlap of the two rotated footprints
    times the overlap in z, while the enclosing box is the axis-aligned box
    of all 16 corners; volumes, union and degenerate pairs as
    :func:`aligned_giou_3d`.

    Args:
        centers1, sizes1 (Tensor): (K1, 3); angles1 (Tensor): (K1, ).
        centers2, sizes2 (Tensor): (K2, 3); angles2 (Tensor): (K2, ).

    Returns:
        Tensor: (K1, K2) GIoU.
    """
    area = bev_intersection_area(
        torch.cat([centers1[:, :2], sizes1[:, :2], angles1[:, None]], -1),
        torch.cat([centers2[:, :2], sizes2[:, :2], angles2[:, None]], -1))
    area = area.to(centers1.dtype)

    def extents(centers, sizes, angles):
        cos, sin = angles.cos().abs(), angles.sin().abs()
        half = torch.stack([
            sizes[:, 0] * cos + sizes[:, 1] * sin,
            sizes[:, 0] * sin + sizes[:, 1] * cos, sizes[:, 2]
        ], -1) / 2
        return centers - half, centers + half

    min1, max1 = (x.unsqueeze(-2) for x in extents(centers1, sizes1, angles1))
    min2, max2 = (x.unsqueeze(-3) for x in extents(centers2, sizes2, angles2))
    zmin1, zmax1 = (centers1[:, 2] - sizes1[:, 2] / 2,
                    centers1[:, 2] + sizes1[:, 2] / 2)
    zmin2, zmax2 = (centers2[:, 2] - sizes2[:, 2] / 2,
                    centers2[:, 2] + sizes2[:, 2] / 2)
    height = (torch.min(zmax1[:, None], zmax2[None]) -
              torch.max(zmin1[:, None], zmin2[None])).clamp(min=0)
    enclosing = (torch.max(max1, max2) - torch.min(min1, min2)).abs().prod(-1)
    return _giou(area * height, enclosing, sizes1, sizes2)


@TASK_UTILS.register_module()
class RotatedGIoU3DCost(_InstanceCost):
    """``-weight * GIoU`` of 3D boxes rotated about z (3DETR's box cost on
    SUN RGB-D). Reads ``centers``, ``sizes`` and ``angles``.

    Args:
        weight (float): the reference's ``matcher_giou_cost`` (3 for SUN
            RGB-D).
    """

    def cost(self, pred: InstanceData, gt: InstanceData) -> Tensor:
        return -rotated_giou_3d(pred.centers, pred.sizes, pred.angles,
                                gt.centers, gt.sizes, gt.angles)


@TASK_UTILS.register_module()
class Center3DL1Cost(_InstanceCost):
    """``weight * L1`` distance of the box centres in the scene box
    normalised to [0, 1] (reads ``centers_normalized``).

    Args:
        weight (float): the reference's ``matcher_center_cost`` (0 for
            ScanNet, 5 for SUN RGB-D).
    """

    def cost(self, pred: InstanceData, gt: InstanceData) -> Tensor:
        return torch.cdist(pred.centers_normalized, gt.centers_normalized, p=1)


@TASK_UTILS.register_module()
class ObjectnessCost(_InstanceCost):
    """``-weight * objectness`` of each query, the same for every box
    (reads ``objectness``: 1 - p(no object)).

    Args:
        weight (float): the reference's ``matcher_objectness_cost`` (0 for
            ScanNet, 5 for SUN RGB-D).
    """

    def cost(self, pred: InstanceData, gt: InstanceData) -> Tensor:
        return (-pred.objectness).unsqueeze(-1).expand(-1, len(gt))
