"""Dense (per-point) head of the ACT / Point-MAE segmentation models."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor

from mmdet3d.models.decode_heads.decode_head import Base3DDecodeHead
from mmdet3d.registry import MODELS
from ..layers.feature_propagation import PointFeaturePropagation


@MODELS.register_module()
class ACTSegHead(Base3DDecodeHead):
    """Group tokens of several blocks -> per-point logits.

    The reference segmentation model (``part_segmentation/models/pt.py``)::

        f = concat of the backbone outputs          (B, L*C, G)   L*C = 1152
        global = [max_G f; mean_G f; category emb]  (B, 2*L*C [+64])
        fp = FP(points xyz, centres, f)              (B, 1024, N)
        logits = convs1-bn-relu-dropout-convs2-bn-relu-conv_seg([fp; global])

    The category embedding (one-hot -> Conv1d 16->64, BN, LeakyReLU 0.2) is
    the ShapeNetPart "cls label" input; with ``num_categories=0`` the head is
    the reference S3DIS head. Parameter names follow the reference without
    its ``_cls`` suffixes (``label_conv``, ``propagation``, ``convs1``,
    ``bns1``, ``convs2``, ``bns2``); its ``convs3`` is mmdet3d's
    ``conv_seg``.

    Input ``feats_dict`` (from ``ACTSegmentor.extract_feat``):

    - ``tokens`` (list[Tensor]): L tensors (B, G, C) (backbone
      ``out_indices``, every one normed).
    - ``centers`` (Tensor): (B, G, 3) group centres.
    - ``points`` (Tensor): (B, N, 3+) input points.
    - ``category`` (Tensor): (B,) int64 category indices (only with
      ``num_categories > 0``).

    Args:
        num_classes (int): parts / semantic classes (50 for ShapeNetPart).
        in_channels (int): L*C, concatenated token width. Defaults to 1152.
        num_categories (int): one-hot categories embedded; 0 for none.
            Defaults to 16 (ShapeNetPart).
        category_channels (int): category embedding width. Defaults to 64.
        point_channels (int): input point channels fed to the propagation
            (the first ``point_channels`` of ``points``). Defaults to 3 (xyz,
            as the reference).
        fp_channels (Sequence[int]): propagation MLP widths. Defaults to
            (1536, 1024).
        mid_channels (int): width of ``convs1``. Defaults to 512.
        channels (int): width of ``convs2`` (mmdet3d's ``channels``, the
            input of ``conv_seg``). Defaults to 256.
        dropout_ratio (float): dropout after ``convs1``. Defaults to 0.5.
        squared_distance (bool): inverse *squared* distance interpolation
            weights (the reference); False for inverse distance.
        loss_decode (dict): mmdet3d loss config. Defaults to cross-entropy
            (the reference's ``nll_loss`` of ``log_softmax``).
        ignore_index (int): label ignored by the loss. Defaults to 255.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 1152,
                 num_categories: int = 16,
                 category_channels: int = 64,
                 point_channels: int = 3,
                 fp_channels: Sequence[int] = (1536, 1024),
                 mid_channels: int = 512,
                 channels: int = 256,
                 dropout_ratio: float = 0.5,
                 squared_distance: bool = True,
                 loss_decode: Optional[dict] = None,
                 ignore_index: int = 255,
                 init_cfg=None):
        if loss_decode is None:
            loss_decode = dict(
                type='mmdet.CrossEntropyLoss',
                use_sigmoid=False,
                class_weight=None,
                loss_weight=1.0)
        # mmdet3d's dropout sits before conv_seg; the reference's sits after
        # convs1, so the base class gets none and the head keeps its own.
        super().__init__(
            channels=channels,
            num_classes=num_classes,
            dropout_ratio=0.,
            loss_decode=loss_decode,
            ignore_index=ignore_index,
            init_cfg=init_cfg)
        if num_categories < 0:
            raise ValueError(
                f'num_categories must be >= 0, got {num_categories}')
        self.in_channels = in_channels
        self.num_categories = num_categories
        self.point_channels = point_channels
        global_channels = 2 * in_channels
        if num_categories > 0:
            self.label_conv = nn.Sequential(
                nn.Conv1d(num_categories, category_channels, 1, bias=False),
                nn.BatchNorm1d(category_channels), nn.LeakyReLU(0.2))
            global_channels += category_channels
        self.propagation = PointFeaturePropagation(
            point_channels + in_channels, fp_channels, squared_distance)
        self.convs1 = nn.Conv1d(
            self.propagation.out_channels + global_channels, mid_channels, 1)
        self.bns1 = nn.BatchNorm1d(mid_channels)
        self.dp1 = nn.Dropout(dropout_ratio)
        self.convs2 = nn.Conv1d(mid_channels, channels, 1)
        self.bns2 = nn.BatchNorm1d(channels)

    def init_weights(self) -> None:
        """Truncated normal (std .02) convolutions, as the reference."""
        super().init_weights()
        if (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            return
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def global_feature(self, feats: Tensor,
                       category: Optional[Tensor]) -> Tensor:
        """(B, L*C, G) -> (B, 2*L*C [+ category_channels]) shape feature."""
        parts = [feats.max(dim=2)[0], feats.mean(dim=2)]
        if self.num_categories > 0:
            if category is None:
                raise ValueError(
                    'ACTSegHead with num_categories > 0 needs each sample\'s '
                    '"category" (data sample metainfo)')
            if category.numel() and (int(category.min()) < 0 or int(
                    category.max()) >= self.num_categories):
                raise ValueError(
                    f'category indices must be in [0, {self.num_categories})'
                    f', got {category.tolist()}')
            one_hot = F.one_hot(category.long(), self.num_categories)
            parts.append(
                self.label_conv(one_hot.to(feats.dtype).unsqueeze(-1))[..., 0])
        return torch.cat(parts, dim=1)

    def forward(self, feats_dict: dict) -> Tensor:
        """Per-point logits (B, num_classes, N); see the class docstring."""
        feats = torch.cat([t.transpose(1, 2) for t in feats_dict['tokens']],
                          dim=1)
        if feats.size(1) != self.in_channels:
            raise ValueError(
                f'ACTSegHead expects {self.in_channels} token channels (the '
                f'backbone outputs concatenated), got {feats.size(1)}')
        points = feats_dict['points']
        n = points.size(1)
        xyz = points[..., :3].contiguous()
        global_feat = self.global_feature(feats, feats_dict.get('category'))
        point_feats = points[..., :self.point_channels].transpose(1, 2)
        fp = self.propagation(xyz, feats_dict['centers'], point_feats, feats)
        x = torch.cat([fp, global_feat.unsqueeze(-1).expand(-1, -1, n)], 1)
        x = self.dp1(F.relu(self.bns1(self.convs1(x))))
        x = F.relu(self.bns2(self.convs2(x)))
        return self.cls_seg(x)
