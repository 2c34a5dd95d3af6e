"""ACTPointTransformer: the ACT student, a ViT-S over point-group tokens."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor

from mmdet3d.registry import MODELS
from ..layers.point_tokenizer import (MiniPointNet, PointGrouper, PointGroups,
                                      build_position_embedding)
from ..layers.transformer_blocks import build_vit_blocks


@MODELS.register_module()
class ACTPointTransformer(BaseModule):
    """The ACT / Point-MAE transformer encoder over point-group tokens.

    points (B, N, 3) -> FPS + kNN groups -> mini-PointNet tokens (B, G, C)
    -> [cls; tokens] + position MLP re-added before each of ``depth`` timm
    ``Block`` s (no qkv bias, as the reference) -> LayerNorm.

    With ``mask_ratio > 0`` the forward pass masks ``round(mask_ratio * G)``
    random groups per cloud and the encoder sees only the visible tokens
    (MAE-style), as the Stage II student does; with 0 it is the fine-tuning
    backbone. Parameter names follow the reference student
    (``encoder``, ``pos_embed``, ``cls_token``, ``cls_pos``, ``blocks.{i}``,
    ``norm``), so Stage II checkpoints load with ``prefix='backbone.'``.

    Args:
        embed_dims (int): token width C. Defaults to 384 (ViT-S).
        depth (int): number of transformer blocks. Defaults to 12.
        num_heads (int): attention heads. Defaults to 6.
        mlp_ratio (float): MLP hidden width / C. Defaults to 4.
        qkv_bias (bool): bias in the qkv projection. Defaults to False.
        drop_rate (float): dropout after MLP / projection. Defaults to 0.
        attn_drop_rate (float): attention dropout. Defaults to 0.
        drop_path_rate (float): stochastic depth, linearly increasing from 0
            over the blocks. Defaults to 0.1.
        num_groups (int): G, FPS centres per cloud. Defaults to 64.
        group_size (int): K, neighbours per centre. Defaults to 32.
        fps_skip_near_origin (bool): the reference FPS rule (no centre with
            squared norm <= 1e-3), see :class:`PointGrouper`. Defaults to
            False; the fine-tunes of official checkpoints set True.
        encoder_dims (int, optional): width of the mini-PointNet; a linear
            layer maps it to ``embed_dims`` when different. Defaults to
            ``embed_dims``.
        mask_ratio (float): fraction of groups masked in ``forward``.
            Defaults to 0 (no masking).
        mask_type (str): ``'rand'`` (uniformly random groups, ACT's
            setting) or ``'block'`` (the groups nearest a random centre).
        out_indices (int | Sequence[int]): blocks whose outputs are returned;
            -1 is the last. Defaults to -1.
        final_norm (bool): apply the final LayerNorm to the last block's
            output. Defaults to True.
        norm_all_outputs (bool): apply the final LayerNorm to every output
            in ``out_indices`` (the reference part-segmentation model, which
            reads blocks 3, 7, 11 through the same norm). Defaults to False.
        with_cls_token (bool): prepend the learnable cls token (and its
            position ``cls_pos``). The reference part-segmentation model has
            none. Defaults to True.
        frozen_stages (int): -1 trains everything; 0 freezes the tokenizer
            (mini-PointNet, position MLP, cls token); i > 0 also freezes the
            first i blocks. Frozen parts stay in eval mode.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')``.
    """

    def __init__(self,
                 embed_dims: int = 384,
                 depth: int = 12,
                 num_heads: int = 6,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = False,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 num_groups: int = 64,
                 group_size: int = 32,
                 fps_skip_near_origin: bool = False,
                 encoder_dims: Optional[int] = None,
                 mask_ratio: float = 0.,
                 mask_type: str = 'rand',
                 out_indices: Union[int, Sequence[int]] = -1,
                 final_norm: bool = True,
                 norm_all_outputs: bool = False,
                 with_cls_token: bool = True,
                 frozen_stages: int = -1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not 0. <= mask_ratio < 1.:
            raise ValueError(f'mask_ratio must be in [0, 1), got {mask_ratio}')
        if mask_type not in ('rand', 'block'):
            raise ValueError("mask_type must be 'rand' or 'block', got "
                             f'{mask_type!r}')
        self.embed_dims = embed_dims
        self.depth = depth
        self.num_groups = num_groups
        self.group_size = group_size
        self.mask_ratio = mask_ratio
        self.mask_type = mask_type
        self.final_norm = final_norm
        self.norm_all_outputs = norm_all_outputs
        self.with_cls_token = with_cls_token
        self.frozen_stages = frozen_stages

        if isinstance(out_indices, int):
            out_indices = [out_indices]
        self.out_indices = []
        for index in out_indices:
            resolved = index + depth if index < 0 else index
            if not 0 <= resolved < depth:
                raise ValueError(f'out_indices entry {index} is out of range '
                                 f'for depth={depth}')
            self.out_indices.append(resolved)

        encoder_dims = encoder_dims or embed_dims
        self.grouper = PointGrouper(
            num_groups, group_size, fps_skip_near_origin=fps_skip_near_origin)
        self.encoder = MiniPointNet(encoder_dims)
        self.reduce_dim = (
            nn.Linear(encoder_dims, embed_dims)
            if encoder_dims != embed_dims else nn.Identity())
        if with_cls_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
            self.cls_pos = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.pos_embed = build_position_embedding(embed_dims)

        self.blocks = self.build_blocks(embed_dims, depth, num_heads,
                                        mlp_ratio, qkv_bias, drop_rate,
                                        attn_drop_rate, drop_path_rate)
        self.norm = nn.LayerNorm(embed_dims)
        self._freeze_stages()

    #: the learnable tokens prepended to the group tokens, (token, position)
    #: attribute pairs, in sequence order (with ``with_cls_token``)
    prefix_tokens = (('cls_token', 'cls_pos'), )

    def build_blocks(self, embed_dims, depth, num_heads, mlp_ratio, qkv_bias,
                     drop_rate, attn_drop_rate,
                     drop_path_rate) -> nn.ModuleList:
        """The transformer blocks: timm ``Block`` s (ACT / Point-MAE)."""
        return build_vit_blocks(embed_dims, depth, num_heads, mlp_ratio,
                                qkv_bias, drop_rate, attn_drop_rate,
                                drop_path_rate)

    def _prefix_params(self):
        if not self.with_cls_token:
            return []
        return [getattr(self, name) for pair in self.prefix_tokens
                for name in pair]

    # ------------------------------------------------------------------ init
    def init_weights(self):
        """Truncated-normal init as the reference, then pretrained weights.

        With a ``Pretrained`` init_cfg the reference init runs first, so that
        parameters the checkpoint lacks (e.g. the cls token of a Point-MAE
        encoder) keep the reference initialisation rather than zeros.
        """
        for param in self._prefix_params():
            trunc_normal_(param, std=.02)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d)):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.bias, 0)
                nn.init.constant_(m.weight, 1.0)
        if (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            super().init_weights()
        self._is_init = True

    # --------------------------------------------------------------- freeze
    def _frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        modules = [self.encoder, self.reduce_dim, self.pos_embed]
        modules += list(self.blocks[:self.frozen_stages])
        if self.frozen_stages >= self.depth:
            modules.append(self.norm)
        return modules

    def _freeze_stages(self):
        if self.frozen_stages >= 0:
            for param in self._prefix_params():
                param.requires_grad = False
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        for module in self._frozen_modules():
            module.eval()
        return self

    # -------------------------------------------------------------- masking
    def num_masked(self, num_groups: Optional[int] = None) -> int:
        """Groups masked per cloud: ``round(mask_ratio * G)``."""
        return int(round(self.mask_ratio * (num_groups or self.num_groups)))

    def random_mask(self, centers: Tensor) -> Tensor:
        """Draw a mask hiding exactly ``num_masked(G)`` groups per cloud.

        Args:
            centers (Tensor): (B, G, 3) group centres.

        Returns:
            Tensor: (B, G) bool, True where a group is masked.
        """
        b, g, _ = centers.shape
        num_mask = self.num_masked(g)
        if self.mask_type == 'rand':
            noise = torch.rand(b, g, device=centers.device)
            order = noise.argsort(dim=1)
        else:  # 'block': the groups nearest a random seed centre
            seed = torch.randint(0, g, (b, ), device=centers.device)
            seed_xyz = centers[torch.arange(b, device=centers.device), seed]
            dist = (centers - seed_xyz[:, None]).square().sum(-1)
            order = dist.argsort(dim=1)
        mask = torch.zeros(b, g, dtype=torch.bool, device=centers.device)
        mask.scatter_(1, order[:, :num_mask], True)
        return mask

    # -------------------------------------------------------------- forward
    def group(self, points: Tensor) -> PointGroups:
        """FPS + kNN grouping of (B, N, 3+) points (xyz are the first 3)."""
        if points.dim() != 3 or points.size(-1) < 3:
            raise ValueError('points must have shape (B, N, C>=3), got '
                             f'{tuple(points.shape)}')
        if not torch.isfinite(points[..., :3]).all():
            raise ValueError('points contain NaN or inf coordinates')
        return self.grouper(points[..., :3].contiguous())

    def forward(self,
                points: Tensor,
                groups: Optional[PointGroups] = None,
                mask: Union[bool, Tensor, None] = None) -> Dict[str, object]:
        """Encode a batch of point clouds.

        Args:
            points (Tensor): (B, N, 3+) points; ignored when ``groups`` given.
            groups (PointGroups, optional): a grouping computed once per batch
                (e.g. shared with the Stage II teacher).
            mask (bool | Tensor, optional): None or True masks with
                ``mask_ratio`` (no masking when it is 0); False disables
                masking; a (B, G) bool tensor masks exactly those groups (the
                same number per cloud).

        Returns:
            dict:
            - ``tokens`` (list[Tensor]): (B, G_vis, C) group tokens from each
              block in ``out_indices`` (G_vis = G without masking).
            - ``cls_tokens`` (list[Tensor]): (B, C) cls token of each (empty
              without a cls token); (B, P*C), the P prefix tokens
              concatenated, for subclasses with more than one.
            - ``centers`` (Tensor): (B, G, 3) all group centres.
            - ``center_idx`` (Tensor): (B, G) int64 centre indices.
            - ``mask`` (Tensor | None): (B, G) bool, True = masked.
            - ``groups`` (PointGroups): the grouping used.
        """
        if groups is None:
            groups = self.group(points)
        centers = groups.centers
        tokens = self.reduce_dim(self.encoder(groups.neighborhood))
        b, g, c = tokens.shape

        if isinstance(mask, Tensor):
            if mask.shape != (b, g) or mask.dtype != torch.bool:
                raise ValueError(f'mask must be a ({b}, {g}) bool tensor, got '
                                 f'{tuple(mask.shape)} {mask.dtype}')
        elif mask is False or self.mask_ratio == 0:
            mask = None
        else:
            mask = self.random_mask(centers)

        if mask is not None:
            counts = mask.sum(dim=1)
            if (counts != counts[0]).any():
                raise ValueError('every cloud must mask the same number of '
                                 f'groups, got {counts.tolist()}')
            visible = ~mask
            tokens = tokens[visible].reshape(b, -1, c)
            vis_centers = centers[visible].reshape(b, -1, 3)
        else:
            vis_centers = centers

        x, pos = tokens, self.pos_embed(vis_centers)
        num_prefix = 0
        if self.with_cls_token:
            prefix = self.prefix_tokens
            x = torch.cat(
                [getattr(self, t).expand(b, -1, -1) for t, _ in prefix] + [x],
                dim=1)
            pos = torch.cat(
                [getattr(self, p).expand(b, -1, -1) for _, p in prefix] +
                [pos], dim=1)
            num_prefix = len(prefix)

        outs_tokens, outs_cls = [], []
        for i, block in enumerate(self.blocks):
            x = block(x + pos)
            if i in self.out_indices:
                out = x
                if self.norm_all_outputs or (self.final_norm
                                             and i == self.depth - 1):
                    out = self.norm(x)
                outs_tokens.append(out[:, num_prefix:])
                if self.with_cls_token:  # (B, num_prefix * C)
                    outs_cls.append(out[:, :num_prefix].flatten(1))
            if i >= max(self.out_indices):
                break
        return dict(
            tokens=outs_tokens,
            cls_tokens=outs_cls,
            centers=centers,
            center_idx=groups.center_idx,
            mask=mask,
            groups=groups)
