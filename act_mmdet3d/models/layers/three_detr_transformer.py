"""The building blocks of 3DETR (Misra et al., ICCV 2021).

Restated from the reference code (GitHub ``facebookresearch/3detr``,
``models/transformer.py``, ``helpers.py``, ``position_embedding.py``) with
the same parameter names, so that a reference state dict loads unchanged:

- :class:`DETRMLP` is the reference's ``GenericMLP`` (1x1 convs, BN1d,
  ReLU, dropout; ``layers.{i}``).
- :class:`FourierPositionEmbedding` is ``PositionEmbeddingCoordsSine`` with
  ``pos_type='fourier'`` (the only type the reference model uses): the
  coordinates are scaled to [0, 1] by the scene's extent, times 2 pi, then
  projected by a fixed Gaussian matrix ``gauss_B`` -> [sin, cos].
- :class:`DETREncoderLayer` / :class:`DETRDecoderLayer` are the pre-norm
  layers (``normalize_before=True``, the reference default).
- :class:`DETREncoder`, :class:`MaskedDETREncoder` (3DETR-m: the
  self-attention of layer i only sees points closer than
  ``masking_radius[i]``, with a set-abstraction downsampling after layer 0)
  and :class:`DETRDecoder` (one shared final LayerNorm applied to every
  layer's output, all layers returned).

All sequences are seq-first, (N, B, C), as ``nn.MultiheadAttention``
reads them in the reference. One deliberate difference: the reference's
dropouts are ``inplace=True``, which breaks backward on torch >= 1.10
(its issues #12 and #55); here they are not in-place (same values).
"""
import copy
from typing import List, Optional, Sequence, Tuple

import math
import torch
import torch.nn as nn
from torch import Tensor

_NORMS = {'bn1d': nn.BatchNorm1d, 'ln': nn.LayerNorm}
_ACTS = {
    'relu': nn.ReLU,
    'gelu': nn.GELU,
}


class DETRMLP(nn.Module):
    """The reference's ``GenericMLP`` with 1x1 Conv1d layers.

    (B, C_in, N) -> [conv(hidden) -> norm -> act -> dropout] x len(hidden)
    -> conv(C_out) [-> norm] [-> act] -> (B, C_out, N).

    Args:
        in_channels (int): C_in.
        hidden_dims (Sequence[int]): hidden widths.
        out_channels (int): C_out.
        norm (str, optional): 'bn1d' or None.
        act (str): 'relu' or 'gelu'.
        dropout (float, optional): dropout after each hidden activation.
        hidden_bias (bool): bias of the hidden convs (the reference's
            ``hidden_use_bias``, default False).
        out_bias (bool): bias of the output conv.
        out_act (bool): activation after the output conv.
        out_norm (bool): norm after the output conv.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_dims: Sequence[int],
                 out_channels: int,
                 norm: Optional[str] = None,
                 act: str = 'relu',
                 dropout: Optional[float] = None,
                 hidden_bias: bool = False,
                 out_bias: bool = True,
                 out_act: bool = False,
                 out_norm: bool = False):
        super().__init__()
        layers: List[nn.Module] = []
        width = in_channels
        for dim in hidden_dims:
            layers.append(nn.Conv1d(width, dim, 1, bias=hidden_bias))
            if norm is not None:
                layers.append(_NORMS[norm](dim))
            layers.append(_ACTS[act]())
            if dropout is not None:
                layers.append(nn.Dropout(dropout))
            width = dim
        layers.append(nn.Conv1d(width, out_channels, 1, bias=out_bias))
        if out_norm:
            layers.append(_NORMS[norm](out_channels))
        if out_act:
            layers.append(_ACTS[act]())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C_in, N) -> (B, C_out, N)."""
        return self.layers(x)


def normalize_to_range(xyz: Tensor, xyz_min: Tensor, xyz_max: Tensor) -> Tensor:
    """Scale coordinates to [0, 1] by the scene's box (the reference's
    ``shift_scale_points`` with its default destination range).

    Args:
        xyz (Tensor): (B, N, 3).
        xyz_min, xyz_max (Tensor): (B, 3) corners of the scene's box.

    Returns:
        Tensor: (B, N, 3) ``(xyz - min) / (max - min)``.
    """
    return (xyz - xyz_min[:, None]) / (xyz_max - xyz_min)[:, None]


class FourierPositionEmbedding(nn.Module):
    """Random Fourier features of coordinates normalised to the scene box.

    (B, N, 3) -> normalise to [0, 1] -> x 2 pi -> @ gauss_B (3, C/2)
    -> [sin, cos] -> (B, C, N). ``gauss_B`` is a fixed N(0, 1) buffer
    drawn at construction (so it depends on the seed, as in the reference)
    and saved with the weights.

    Args:
        channels (int): C, even. Defaults to 256.
        in_dims (int): coordinate dims. Defaults to 3.
        gauss_scale (float): std of ``gauss_B``. Defaults to 1.
    """

    def __init__(self,
                 channels: int = 256,
                 in_dims: int = 3,
                 gauss_scale: float = 1.):
        super().__init__()
        if channels % 2:
            raise ValueError(f'channels must be even, got {channels}')
        gauss_b = torch.empty((in_dims, channels // 2)).normal_()
        self.register_buffer('gauss_B', gauss_b * gauss_scale)

    @torch.no_grad()
    def forward(self, xyz: Tensor, xyz_min: Tensor, xyz_max: Tensor) -> Tensor:
        """(B, N, 3) coordinates, (B, 3) scene box -> (B, C, N)."""
        b, n, d = xyz.shape
        x = normalize_to_range(xyz, xyz_min, xyz_max) * (2 * math.pi)
        proj = torch.mm(x.reshape(-1, d), self.gauss_B).view(b, n, -1)
        return torch.cat([proj.sin(), proj.cos()], dim=2).permute(0, 2, 1)


class DETREncoderLayer(nn.Module):
    """Pre-norm self-attention + FFN layer, (N, B, C) -> (N, B, C).

    x = x + drop(MHA(LN(x))); x = x + drop(W2 drop(act(W1 LN(x)))). The
    reference passes no position embedding to the encoder.
    """

    def __init__(self,
                 d_model: int = 256,
                 nhead: int = 4,
                 dim_feedforward: int = 128,
                 dropout: float = 0.1,
                 activation: str = 'relu'):
        super().__init__()
        self.nhead = nhead
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout2 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.activation = _ACTS[activation]()

    def forward(self, src: Tensor, attn_mask: Optional[Tensor] = None) -> Tensor:
        """(N, B, C), optional (B * nhead, N, N) bool mask (True = blocked)."""
        x = self.norm1(src)
        src = src + self.dropout1(
            self.self_attn(x, x, value=x, attn_mask=attn_mask)[0])
        x = self.norm2(src)
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return src + self.dropout2(x)


class DETRDecoderLayer(nn.Module):
    """Pre-norm decoder layer: self-attention over the queries,
    cross-attention to the encoder tokens, FFN. (Q, B, C) -> (Q, B, C).

    Queries carry ``query_pos`` in q/k of both attentions; the encoder
    tokens carry ``pos`` in the cross-attention keys.
    """

    def __init__(self,
                 d_model: int = 256,
                 nhead: int = 4,
                 dim_feedforward: int = 256,
                 dropout: float = 0.1,
                 activation: str = 'relu'):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.multihead_attn = nn.MultiheadAttention(
            d_model, nhead, dropout=dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.activation = _ACTS[activation]()

    def forward(self, tgt: Tensor, memory: Tensor, pos: Tensor,
                query_pos: Tensor) -> Tensor:
        """tgt, query_pos (Q, B, C); memory, pos (N, B, C) -> (Q, B, C)."""
        x = self.norm1(tgt)
        q = x + query_pos
        tgt = tgt + self.dropout1(self.self_attn(q, q, value=x)[0])
        x = self.norm2(tgt)
        x = self.multihead_attn(
            query=x + query_pos, key=memory + pos, value=memory)[0]
        tgt = tgt + self.dropout2(x)
        x = self.norm3(tgt)
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return tgt + self.dropout3(x)


def _clones(module: nn.Module, n: int) -> nn.ModuleList:
    return nn.ModuleList([copy.deepcopy(module) for _ in range(n)])


def _xavier_(module: nn.Module) -> None:
    """The reference's re-initialisation of a transformer stack: xavier
    uniform on every parameter with more than one dimension."""
    for p in module.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)


class DETREncoder(nn.Module):
    """``num_layers`` :class:`DETREncoderLayer` (no final norm).

    (N, B, C) features and (B, N, 3) xyz -> (xyz, (N, B, C), None): the
    points are not resampled.
    """

    def __init__(self, num_layers: int = 3, **layer_cfg):
        super().__init__()
        self.layers = _clones(DETREncoderLayer(**layer_cfg), num_layers)
        _xavier_(self)

    def forward(self, src: Tensor,
                xyz: Tensor) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        for layer in self.layers:
            src = layer(src)
        return xyz, src, None


class MaskedDETREncoder(nn.Module):
    """The 3DETR-m encoder: distance-masked self-attention, with a
    downsampling set abstraction after the first layer.

    Layer i lets a point attend only to points whose Euclidean distance is
    below ``masking_radius[i]``. The reference builds the radii as the
    squares of (0.4, 0.8, 1.2) and compares them with the plain distance,
    so the effective radii are 0.16, 0.64 and 1.44 m; they are kept.

    Args:
        masking_radius (Sequence[float]): one per layer (0 = unmasked).
        interim_downsampling (nn.Module): an mmdet3d ``PointSAModule``,
            (xyz (B, N, 3), features (B, C, N)) -> (xyz (B, N', 3),
            features (B, C, N'), indices (B, N')).
        **layer_cfg: :class:`DETREncoderLayer` arguments.
    """

    def __init__(self, masking_radius: Sequence[float],
                 interim_downsampling: nn.Module, **layer_cfg):
        super().__init__()
        self.layers = _clones(DETREncoderLayer(**layer_cfg),
                              len(masking_radius))
        self.masking_radius = list(masking_radius)
        # re-initialised before the SA module is attached, as the reference
        _xavier_(self)
        self.interim_downsampling = interim_downsampling

    def forward(self, src: Tensor,
                xyz: Tensor) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        dist = None
        inds = None
        for i, layer in enumerate(self.layers):
            mask = None
            if self.masking_radius[i] > 0:
                if dist is None or dist.shape[1] != xyz.shape[1]:
                    with torch.no_grad():
                        dist = torch.cdist(xyz, xyz, p=2)
                mask = dist >= self.masking_radius[i]
                b, n, _ = mask.shape
                mask = mask.unsqueeze(1).repeat(1, layer.nhead, 1, 1).view(
                    b * layer.nhead, n, n)
            src = layer(src, attn_mask=mask)
            if i == 0:
                xyz, feats, inds = self.interim_downsampling(
                    xyz, src.permute(1, 2, 0))
                src = feats.permute(2, 0, 1)
        return xyz, src, inds


class DETRDecoder(nn.Module):
    """``num_layers`` :class:`DETRDecoderLayer` + a shared final LayerNorm.

    Returns (L, Q, B, C): every layer's output through the final norm (the
    reference's ``return_intermediate=True``), for the per-layer
    predictions and auxiliary losses.
    """

    def __init__(self, num_layers: int = 8, **layer_cfg):
        super().__init__()
        self.layers = _clones(DETRDecoderLayer(**layer_cfg), num_layers)
        self.norm = nn.LayerNorm(self.layers[0].linear2.out_features)
        _xavier_(self)

    def forward(self, tgt: Tensor, memory: Tensor, pos: Tensor,
                query_pos: Tensor) -> Tensor:
        outs = []
        for layer in self.layers:
            tgt = layer(tgt, memory, pos, query_pos)
            outs.append(self.norm(tgt))
        return torch.stack(outs)
