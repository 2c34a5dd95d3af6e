"""ThreeDETREncoder: 3DETR's pre-encoder and transformer encoder.

The reference (GitHub ``facebookresearch/3detr``, ``build_preencoder`` and
``build_encoder``) as an mmdet3d backbone with the point-head output
contract, so that :class:`ThreeDETRHead` reads it exactly as it reads
:class:`ACTSceneBackbone` (the ACT swap).
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmdet3d.models.layers import PointSAModule
from mmdet3d.registry import MODELS
from ..layers.three_detr_transformer import DETREncoder, MaskedDETREncoder


@MODELS.register_module()
class ThreeDETREncoder(BaseModule):
    """Set abstraction + transformer encoder (3DETR, or 3DETR-m).

    points (B, N, 3 + C_feat) -> PointNet++ set abstraction: ``num_points``
    FPS centres, ball query (``radius``, ``num_sample``), shared MLP
    ``sa_channels`` (conv + BN + ReLU, the local xyz / radius as input),
    max-pool -> (B, 256, 2048) -> ``num_layers`` pre-norm self-attention
    layers (no position embedding) -> tokens.

    3DETR-m (``masked=True``): distance-masked attention (radii
    ``masking_radius``, see :class:`MaskedDETREncoder`) with a second set
    abstraction (``interim_sa``) after the first layer, halving the tokens.

    Output (the contract of mmdet3d's ``PointNet2SASSG``, last entries):
    ``fp_xyz`` [(B, M, 3)], ``fp_features`` [(B, d, M)], ``fp_indices``
    [(B, M) int64 indices into the input points].

    Args:
        in_channels (int): channels per input point (3: xyz only, the
            reference default; 6 with colour).
        num_points (int): set-abstraction centres. Defaults to 2048.
        radius (float): ball-query radius, metres. Defaults to 0.2.
        num_sample (int): ball-query neighbours. Defaults to 64.
        sa_channels (Sequence[int]): shared MLP widths (64, 128, 256).
        d_model, nhead, dim_feedforward, dropout, activation: encoder
            layer (256, 4, 128, 0.1 (0.3 for ScanNet 3DETR-m), 'relu').
        num_layers (int): encoder layers (3; 3DETR-m: len(masking_radius)).
        masked (bool): 3DETR-m. Defaults to False.
        masking_radius (Sequence[float]): per-layer radii of 3DETR-m.
        interim_sa (dict): the 3DETR-m downsampling SA (1024 centres,
            radius 0.4, 32 neighbours, MLP (256, 256, 256)).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int = 3,
                 num_points: int = 2048,
                 radius: float = 0.2,
                 num_sample: int = 64,
                 sa_channels: Sequence[int] = (64, 128, 256),
                 d_model: int = 256,
                 nhead: int = 4,
                 dim_feedforward: int = 128,
                 dropout: float = 0.1,
                 activation: str = 'relu',
                 num_layers: int = 3,
                 masked: bool = False,
                 masking_radius: Sequence[float] = (0.16, 0.64, 1.44),
                 interim_sa: dict = dict(
                     num_point=1024, radius=0.4, num_sample=32,
                     mlp_channels=(256, 256, 256)),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if in_channels < 3:
            raise ValueError(f'in_channels must be >= 3 (xyz first), got '
                             f'{in_channels}')
        if sa_channels[-1] != d_model:
            raise ValueError(f'sa_channels[-1] ({sa_channels[-1]}) must equal '
                             f'd_model ({d_model})')
        self.in_channels = in_channels
        self.num_points = num_points
        self.pre_encoder = PointSAModule(
            mlp_channels=[in_channels - 3, *sa_channels],
            num_point=num_points,
            radius=radius,
            num_sample=num_sample,
            normalize_xyz=True)
        layer_cfg = dict(
            d_model=d_model,
            nhead=nhead,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation)
        if masked:
            interim = dict(interim_sa)
            interim['mlp_channels'] = [d_model, *interim['mlp_channels']]
            self.encoder = MaskedDETREncoder(
                masking_radius, PointSAModule(normalize_xyz=True, **interim),
                **layer_cfg)
        else:
            self.encoder = DETREncoder(num_layers, **layer_cfg)

    def forward(self, points: Tensor) -> Dict[str, List[Tensor]]:
        """(B, N, C_in) points -> the point-head contract (class doc)."""
        if points.dim() != 3 or points.size(-1) != self.in_channels:
            raise ValueError(f'ThreeDETREncoder expects points (B, N, '
                             f'{self.in_channels}), got {tuple(points.shape)}')
        if points.size(1) < self.num_points:
            raise ValueError(f'a scene needs at least num_points='
                             f'{self.num_points} points, got {points.size(1)}')
        xyz = points[..., :3].contiguous()
        feats = (points[..., 3:].transpose(1, 2).contiguous()
                 if points.size(-1) > 3 else None)
        pre_xyz, pre_feats, pre_inds = self.pre_encoder(xyz, feats)
        enc_xyz, enc, inds = self.encoder(pre_feats.permute(2, 0, 1), pre_xyz)
        pre_inds = pre_inds.long()
        enc_inds = (pre_inds if inds is None else torch.gather(
            pre_inds, 1, inds.long()))
        return dict(
            fp_xyz=[enc_xyz],
            fp_features=[enc.permute(1, 2, 0).contiguous()],
            fp_indices=[enc_inds])
