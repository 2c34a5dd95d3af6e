"""The point tokenizer shared by every ACT stage.

points (B, N, 3) --FPS--> centres (B, G, 3) --kNN--> groups (B, G, K, 3)
--centre--> mini-PointNet --> tokens (B, G, C); centres --MLP--> positions.
"""
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from act_mmdet3d.ops import furthest_point_sample, gather, knn


class PointGroups(NamedTuple):
    """FPS centres and their kNN neighbourhoods for one batch.

    Attributes:
        neighborhood (Tensor): (B, G, K, 3) neighbour coordinates relative to
            their centre.
        centers (Tensor): (B, G, 3) centre coordinates.
        center_idx (Tensor): (B, G) int64 indices of the centres in the input.
        neighbor_idx (Tensor): (B, G, K) int64 indices of the neighbours.
    """
    neighborhood: Tensor
    centers: Tensor
    center_idx: Tensor
    neighbor_idx: Tensor


class PointGrouper(nn.Module):
    """Farthest point sampling of G centres and kNN groups of K points.

    Args:
        num_groups (int): G, the number of centres (64 for 1024 points).
        group_size (int): K, the neighbours per centre (32).
        fps_start_idx (int): index of the first FPS centre. The reference
            code starts at index 0 too.
        fps_skip_near_origin (bool): the reference pointnet2 kernel's FPS
            rule: never pick a centre with squared norm <= 1e-3 (see
            :func:`~act_mmdet3d.ops.furthest_point_sample`). True for the
            official checkpoints, which were trained with it.
    """

    def __init__(self, num_groups=64, group_size=32, fps_start_idx=0,
                 fps_skip_near_origin=False):
        super().__init__()
        if num_groups <= 0 or group_size <= 0:
            raise ValueError('num_groups and group_size must be positive, got '
                             f'{num_groups} and {group_size}')
        self.num_groups = num_groups
        self.group_size = group_size
        self.fps_start_idx = fps_start_idx
        self.fps_skip_near_origin = fps_skip_near_origin

    @torch.no_grad()
    def forward(self, points: Tensor) -> PointGroups:
        """Group a batch of clouds.

        Args:
            points (Tensor): (B, N, 3) coordinates, N >= num_groups and
                N >= group_size.

        Returns:
            PointGroups: neighbourhoods (B, G, K, 3), centres (B, G, 3) and
            their indices.
        """
        if points.dim() != 3 or points.size(-1) != 3:
            raise ValueError('points must have shape (B, N, 3), got '
                             f'{tuple(points.shape)}')
        center_idx = furthest_point_sample(
            points, self.num_groups, start_idx=self.fps_start_idx,
            skip_near_origin=self.fps_skip_near_origin)
        centers = gather(points, center_idx)
        _, neighbor_idx = knn(centers, points, self.group_size)
        neighborhood = gather(points, neighbor_idx) - centers.unsqueeze(2)
        return PointGroups(neighborhood, centers, center_idx, neighbor_idx)

    def extra_repr(self):
        return f'num_groups={self.num_groups}, group_size={self.group_size}'


class MiniPointNet(nn.Module):
    """The group embedding of Point-BERT / Point-MAE / ACT.

    Conv1d 3->128 (BN, ReLU) -> 256, max-pool, concat [global, per-point]
    -> 512 (BN, ReLU) -> C, max-pool. Parameters keep the reference layout
    (``first_conv.{0,1,3}``, ``second_conv.{0,1,3}`` with Conv1d weights
    (out, in, 1)), so official checkpoints load unchanged.

    The forward pass computes the same function faster than the literal
    Conv1d version:

    * 1x1 convolutions are matrix products over all grouped points at once,
      channels last: (B*G*K, C_in) @ (C_in, C_out), one GEMM per layer.
    * The 512->512 layer on ``[global; per-point]`` is split exactly as
      ``W_g @ global`` (once per group) + ``W_p @ per-point``, which removes
      half of that layer's per-point multiply-adds.

    Args:
        embed_dims (int): C, the token width (384 in ACT).
        in_channels (int): input channels per point (3 for xyz).
    """

    def __init__(self, embed_dims=384, in_channels=3):
        super().__init__()
        self.embed_dims = embed_dims
        self.in_channels = in_channels
        self.first_conv = nn.Sequential(
            nn.Conv1d(in_channels, 128, 1), nn.BatchNorm1d(128),
            nn.ReLU(inplace=True), nn.Conv1d(128, 256, 1))
        self.second_conv = nn.Sequential(
            nn.Conv1d(512, 512, 1), nn.BatchNorm1d(512),
            nn.ReLU(inplace=True), nn.Conv1d(512, embed_dims, 1))

    @staticmethod
    def _bn_relu(x: Tensor, bn: nn.BatchNorm1d) -> Tensor:
        # x is (M, C): BatchNorm1d normalises each channel over the M rows,
        # exactly as it does over (B*G, C, K) in the Conv1d layout.
        return F.relu(bn(x), inplace=True)

    def forward(self, point_groups: Tensor) -> Tensor:
        """Embed each group.

        Args:
            point_groups (Tensor): (B, G, K, C_in) centred neighbourhoods.

        Returns:
            Tensor: tokens (B, G, embed_dims).
        """
        b, g, k, c = point_groups.shape
        conv1, bn1, _, conv2 = self.first_conv
        conv3, bn2, _, conv4 = self.second_conv
        x = point_groups.reshape(b * g * k, c)
        x = self._bn_relu(F.linear(x, conv1.weight[..., 0], conv1.bias), bn1)
        x = F.linear(x, conv2.weight[..., 0], conv2.bias)  # (BGK, 256)
        x = x.view(b * g, k, 256)
        glob = x.max(dim=1)[0]  # (BG, 256)
        w3 = conv3.weight[..., 0]  # (512, 512): [global | per-point] inputs
        per_group = F.linear(glob, w3[:, :256], conv3.bias)  # (BG, 512)
        x = torch.matmul(x, w3[:, 256:].t()) + per_group.unsqueeze(1)
        x = self._bn_relu(x.view(b * g * k, 512), bn2)
        x = F.linear(x, conv4.weight[..., 0], conv4.bias)
        return x.view(b * g, k, self.embed_dims).max(dim=1)[0].view(
            b, g, self.embed_dims)


class MiniPointNetReference(MiniPointNet):
    """The literal Conv1d formulation of :class:`MiniPointNet`.

    Same parameters; kept as the readable statement of the reference model
    and as the baseline the tests and
    ``tools/analysis_tools/benchmark.py`` compare against.
    """

    def forward(self, point_groups: Tensor) -> Tensor:
        b, g, k, c = point_groups.shape
        x = point_groups.reshape(b * g, k, c).transpose(2, 1)  # (BG, C, K)
        x = self.first_conv(x)  # (BG, 256, K)
        glob = x.max(dim=2, keepdim=True)[0]
        x = torch.cat([glob.expand(-1, -1, k), x], dim=1)  # (BG, 512, K)
        x = self.second_conv(x)
        return x.max(dim=2)[0].reshape(b, g, self.embed_dims)


def build_position_embedding(embed_dims=384, hidden_dims=128, in_dims=3):
    """The position MLP on centre coordinates: 3 -> 128 -> GELU -> C.

    Returns an ``nn.Sequential`` (keys ``0.*`` and ``2.*`` as in the
    reference ``pos_embed``) mapping (B, G, 3) to (B, G, C).
    """
    return nn.Sequential(
        nn.Linear(in_dims, hidden_dims), nn.GELU(),
        nn.Linear(hidden_dims, embed_dims))
