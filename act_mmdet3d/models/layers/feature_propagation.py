"""PointNet++ feature propagation: group-centre features back to points."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ...ops import three_interpolate, three_nn


def interpolation_weights(dist: Tensor,
                          squared: bool = True,
                          eps: float = 1e-8) -> Tensor:
    """Normalised inverse-distance weights of three neighbours.

    Args:
        dist (Tensor): (B, N, 3) Euclidean distances (from ``three_nn``).
        squared (bool): weight by ``1 / (d^2 + eps)`` as the ACT / Point-MAE
            part-segmentation code (``square_distance`` of the PyTorch
            PointNet++ port); False weights by ``1 / (d + eps)`` as mmcv /
            mmdet3d's ``PointFPModule``. Defaults to True.
        eps (float): keeps a coincident neighbour finite. Defaults to 1e-8.

    Returns:
        Tensor: (B, N, 3) weights summing to 1 over the last dimension.
    """
    recip = 1.0 / ((dist.square() if squared else dist) + eps)
    return recip / recip.sum(dim=-1, keepdim=True)


class PointFeaturePropagation(nn.Module):
    """Interpolate source features at target points, then a shared MLP.

    ``out = MLP([target_feats; interp(source_feats)])`` where ``interp`` is
    the three-nearest-neighbour inverse-distance interpolation of
    :func:`act_mmdet3d.ops.three_interpolate` (pure torch on CPU, mmcv's
    kernel on CUDA) and each MLP layer is Conv1d(k=1) -> BN -> ReLU. Layer
    names follow the reference ``PointNetFeaturePropagation``
    (``mlp_convs.{i}``, ``mlp_bns.{i}``).

    Args:
        in_channels (int): C1 + C2, target plus source feature channels.
        mlp_channels (Sequence[int]): output widths of the MLP layers.
        squared_distance (bool): see :func:`interpolation_weights`.
            Defaults to True (the reference).
    """

    def __init__(self,
                 in_channels: int,
                 mlp_channels: Sequence[int],
                 squared_distance: bool = True):
        super().__init__()
        if not mlp_channels:
            raise ValueError('mlp_channels must name at least one layer')
        self.in_channels = in_channels
        self.squared_distance = squared_distance
        self.mlp_convs = nn.ModuleList()
        self.mlp_bns = nn.ModuleList()
        width = in_channels
        for out_channels in mlp_channels:
            self.mlp_convs.append(nn.Conv1d(width, out_channels, 1))
            self.mlp_bns.append(nn.BatchNorm1d(out_channels))
            width = out_channels
        self.out_channels = width

    def interpolate(self, target_xyz: Tensor, source_xyz: Tensor,
                    source_feats: Tensor) -> Tensor:
        """(B, C2, M) features at (B, M, 3) -> (B, C2, N) at (B, N, 3)."""
        if source_xyz.size(1) == 1:  # one source point: copy it everywhere
            return source_feats.expand(-1, -1, target_xyz.size(1))
        dist, idx = three_nn(target_xyz.contiguous(), source_xyz.contiguous())
        weight = interpolation_weights(dist.to(source_feats.dtype),
                                       self.squared_distance)
        return three_interpolate(source_feats.contiguous(), idx, weight)

    def forward(self, target_xyz: Tensor, source_xyz: Tensor,
                target_feats: Optional[Tensor],
                source_feats: Tensor) -> Tensor:
        """Propagate features from M source to N target points.

        Args:
            target_xyz (Tensor): (B, N, 3) points to produce features for.
            source_xyz (Tensor): (B, M, 3) points that carry features.
            target_feats (Tensor, optional): (B, C1, N) features of the
                targets, concatenated before the interpolated ones.
            source_feats (Tensor): (B, C2, M).

        Returns:
            Tensor: (B, mlp_channels[-1], N).
        """
        x = self.interpolate(target_xyz, source_xyz, source_feats)
        if target_feats is not None:
            x = torch.cat([target_feats.to(x.dtype), x], dim=1)
        if x.size(1) != self.in_channels:
            raise ValueError(
                f'PointFeaturePropagation expects {self.in_channels} input '
                f'channels (target + source features), got {x.size(1)}')
        for conv, bn in zip(self.mlp_convs, self.mlp_bns):
            x = F.relu(bn(conv(x)))
        return x
