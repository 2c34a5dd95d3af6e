"""PointReconHead: the Point-MAE target (reconstruct the masked points)."""
from typing import Optional

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmdet3d.registry import MODELS
from act_mmdet3d.ops import chamfer_distance_l2


@MODELS.register_module()
class PointReconHead(BaseModule):
    """Predict each masked group's K points and score them by Chamfer-L2.

    The pixel-free masked point modeling baseline of the ACT analysis: the
    target is the masked groups' own (centred) coordinates instead of a
    teacher's features, as Point-MAE's ``increase_dim`` (a 1x1 ``Conv1d``
    C -> 3K, i.e. a linear layer on each token) and its
    ``ChamferDistanceL2`` loss (``mean(d_pred->gt) + mean(d_gt->pred)`` of
    squared nearest-point distances over all B*M groups). An
    :class:`~act_mmdet3d.models.ACTPretrainer` with this head builds no
    teacher (``target = 'points'``): ACT vs MAE-style targets is the one
    ``head`` switch.

    Args:
        in_channels (int): decoder width C (384).
        group_size (int): K, the points per group (32).
        loss_weight (float): loss weight (1).
        init_cfg (dict, optional): initialisation config.
    """

    #: what :class:`ACTPretrainer` hands to :meth:`loss` as the target
    target = 'points'

    def __init__(self,
                 in_channels: int = 384,
                 group_size: int = 32,
                 loss_weight: float = 1.,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.group_size = group_size
        self.loss_weight = loss_weight
        self.proj = nn.Linear(in_channels, 3 * group_size)

    def forward(self, feats: Tensor) -> Tensor:
        """(B, M, C) decoder outputs -> (B, M, K, 3) centred points."""
        b, m, _ = feats.shape
        return self.proj(feats).reshape(b, m, self.group_size, 3)

    def loss(self, feats: Tensor, target: Tensor) -> dict:
        """Chamfer-L2 between predicted and true masked groups.

        Args:
            feats (Tensor): (B, M, C) decoder outputs at the masked groups.
            target (Tensor): (B, M, K, 3) the masked groups' neighbourhoods
                (relative to their centres), in the same order.

        Returns:
            dict: ``loss`` (the weighted Chamfer-L2).
        """
        pred = self(feats)
        if target.dim() != 4 or target.shape[:2] != pred.shape[:2] \
                or target.size(-1) != 3:
            raise ValueError(f'target must be ({pred.size(0)}, '
                             f'{pred.size(1)}, K, 3) masked groups, got '
                             f'{tuple(target.shape)}')
        b, m = pred.shape[:2]
        loss = chamfer_distance_l2(
            pred.reshape(b * m, -1, 3).float(),
            target.reshape(b * m, -1, 3).float().detach())
        return dict(loss=loss * self.loss_weight)
