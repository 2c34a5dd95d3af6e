"""ACTSceneBackbone: the ACT transformer as a scene-level detection backbone.

It feeds mmdet3d's point-based detection heads (VoteHead, GroupFree3DHead)
the seeds they read from a PointNet++ backbone.
"""
from typing import Dict, List, Optional, Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from mmdet3d.registry import MODELS
from ...ops import furthest_point_sample, gather
from ..layers.feature_propagation import PointFeaturePropagation
from ..layers.point_tokenizer import PointGroups
from .act_point_transformer import ACTPointTransformer


@MODELS.register_module()
class ACTSceneBackbone(ACTPointTransformer):
    """The ACT point transformer over a whole scene, as a seed backbone.

    points (B, N, C_in) -> xyz -> FPS to M seed centres + kNN groups of K
    -> mini-PointNet tokens + position MLP -> ``depth`` ACT blocks -> norm
    -> (B, C, M) seed features -> optional output MLP, or feature
    propagation to ``num_fp_points`` FPS points (three-NN interpolation +
    MLP).

    It is :class:`ACTPointTransformer` (a subclass: the same blocks and
    parameter names ``encoder.*``, ``pos_embed.*``, ``cls_token``,
    ``cls_pos``, ``blocks.{i}.*``, ``norm.*``), so a Stage II checkpoint
    loads with ``init_cfg=dict(type='Pretrained', checkpoint=...,
    prefix='backbone.')``; only the output layers (``out_mlp`` or ``fp``)
    are new.

    The output follows the contract of mmdet3d's ``PointNet2SASSG`` that
    ``VoteHead`` and ``GroupFree3DHead`` read (the last entry of each list):

    - ``fp_xyz`` (list[Tensor]): (B, M, 3) seed coordinates [, (B, S, 3)].
    - ``fp_features`` (list[Tensor]): (B, C_out, M) seed features
      [, (B, C_out, S)].
    - ``fp_indices`` (list[Tensor]): (B, M) [, (B, S)] int64 indices of the
      seeds in the input points.

    Only xyz (the first three input channels) enter the network, as in
    pretraining; further channels (e.g. the height that mmdet3d's indoor
    pipelines append) are accepted and ignored.

    Args:
        in_channels (int, optional): channels per input point, checked when
            given (4 for mmdet3d's VoteNet pipelines: xyz + height; 3 for
            GroupFree3D). None accepts any C_in >= 3.
        num_seeds (int): M, FPS seed centres = tokens (the
            ``num_groups`` of :class:`ACTPointTransformer`). Defaults to
            1024.
        fp_channels (Sequence[int]): widths of the output MLP (1x1 Conv1d +
            BN + ReLU each) applied to the seed features, e.g. ``(256, )``
            for VoteHead's 256 input channels; empty keeps the C tokens.
            With ``num_fp_points`` they are the MLP of the feature
            propagation layer instead (and must not be empty).
        num_fp_points (int, optional): S > M: upsample the seed features to
            S FPS points of the input by three-NN inverse-distance
            interpolation + MLP (PointNet++ feature propagation), for heads
            that want more seeds. Defaults to None (the M tokens are seeds).
        group_scale (float): factor on the centred neighbourhoods before the
            mini-PointNet (e.g. to bring metres to the scale of the
            pretraining's unit-sphere objects). Defaults to 1.
        pos_scale (float): factor on the seed coordinates before the
            position MLP. Defaults to 1.
        norm_cfg (dict): norm of the output MLP. Defaults to BN1d.
        **kwargs: the other :class:`ACTPointTransformer` arguments, with
            its (ViT-S) defaults: ``embed_dims``, ``depth``, ``num_heads``,
            ``mlp_ratio``, ``qkv_bias``, ``drop_rate``, ``attn_drop_rate``,
            ``drop_path_rate``, ``group_size`` (K, neighbours per seed),
            ``fps_skip_near_origin`` (the reference FPS rule, here for the
            seeds and the ``num_fp_points``), ``encoder_dims``,
            ``with_cls_token``, ``frozen_stages`` and ``init_cfg`` (e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``).
            The encoder runs unmasked and returns its last block, normed.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 num_seeds: int = 1024,
                 fp_channels: Sequence[int] = (),
                 num_fp_points: Optional[int] = None,
                 group_scale: float = 1.,
                 pos_scale: float = 1.,
                 norm_cfg: dict = dict(type='BN1d'),
                 **kwargs):
        unused = {'mask_type', 'norm_all_outputs'} & set(kwargs)
        if unused:
            raise TypeError(f'ACTSceneBackbone runs unmasked and returns its '
                            f'last block: {sorted(unused)} do not apply')
        super().__init__(
            num_groups=num_seeds,
            mask_ratio=0.,
            out_indices=-1,
            final_norm=True,
            **kwargs)
        if in_channels is not None and in_channels < 3:
            raise ValueError(f'in_channels must be >= 3 (xyz first), got '
                             f'{in_channels}')
        if num_fp_points is not None:
            if num_fp_points <= num_seeds:
                raise ValueError(f'num_fp_points ({num_fp_points}) must '
                                 f'exceed num_seeds ({num_seeds})')
            if not fp_channels:
                raise ValueError('num_fp_points needs fp_channels (the '
                                 'feature propagation MLP)')
        self.in_channels = in_channels
        self.num_seeds = num_seeds
        self.num_fp_points = num_fp_points
        self.group_scale = float(group_scale)
        self.pos_scale = float(pos_scale)
        fp_channels = tuple(fp_channels)
        self.out_channels = (fp_channels[-1]
                             if fp_channels else self.embed_dims)

        if num_fp_points is not None:
            # mmdet3d's PointFPModule weights neighbours by 1 / (d + eps)
            self.fp = PointFeaturePropagation(
                self.embed_dims, fp_channels, squared_distance=False)
        elif fp_channels:
            layers, width = [], self.embed_dims
            for channels in fp_channels:
                layers.append(
                    ConvModule(
                        width,
                        channels,
                        1,
                        conv_cfg=dict(type='Conv1d'),
                        norm_cfg=norm_cfg,
                        act_cfg=dict(type='ReLU')))
                width = channels
            self.out_mlp = nn.Sequential(*layers)

    def forward(self, points: Tensor) -> Dict[str, List[Tensor]]:
        """Seed points and features of a batch of scenes.

        Args:
            points (Tensor): (B, N, C_in) points, xyz first, N >= M.

        Returns:
            dict: ``fp_xyz``, ``fp_features``, ``fp_indices`` (see the class
            docstring).
        """
        if points.dim() != 3 or points.size(-1) < 3:
            raise ValueError('ACTSceneBackbone expects points of shape '
                             f'(B, N, C>=3), got {tuple(points.shape)}')
        if self.in_channels is not None and \
                points.size(-1) != self.in_channels:
            raise ValueError(f'ACTSceneBackbone was built with in_channels='
                             f'{self.in_channels}, got points with '
                             f'{points.size(-1)} channels')
        if points.size(1) < self.num_seeds:
            raise ValueError(f'a scene needs at least num_seeds='
                             f'{self.num_seeds} points, got {points.size(1)}')
        xyz = points[..., :3].contiguous()
        groups = self.group(xyz)
        scaled = PointGroups(groups.neighborhood * self.group_scale,
                             groups.centers * self.pos_scale,
                             groups.center_idx, groups.neighbor_idx)
        out = super().forward(xyz, groups=scaled, mask=False)
        feats = out['tokens'][-1].transpose(1, 2).contiguous()  # (B, C, M)

        fp_xyz = [groups.centers]
        fp_indices = [groups.center_idx]
        if self.num_fp_points is not None:
            fp_features = [feats]
            up_idx = furthest_point_sample(
                xyz, self.num_fp_points,
                skip_near_origin=self.grouper.fps_skip_near_origin)
            up_xyz = gather(xyz, up_idx)
            fp_xyz.append(up_xyz)
            fp_features.append(self.fp(up_xyz, groups.centers, None, feats))
            fp_indices.append(up_idx)
        elif hasattr(self, 'out_mlp'):
            fp_features = [self.out_mlp(feats)]
        else:
            fp_features = [feats]
        return dict(
            fp_xyz=fp_xyz, fp_features=fp_features, fp_indices=fp_indices)
