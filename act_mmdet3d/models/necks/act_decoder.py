"""ACTDecoder: the Stage II masked decoder (visible tokens + mask tokens)."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor

from mmdet3d.registry import MODELS
from ..layers.point_tokenizer import build_position_embedding
from ..layers.transformer_blocks import build_vit_blocks


@MODELS.register_module()
class ACTDecoder(BaseModule):
    """The MAE-style decoder of ACT Stage II (the reference ``ACT_decoder``).

    The student's visible tokens are followed by one shared learnable mask
    token per masked group; a position MLP (3 -> 128 -> GELU -> C) on the
    group centres is re-added before each of ``depth`` timm ``Block`` s (no
    qkv bias), and the final LayerNorm is applied to the mask-token outputs
    only, which are returned. With the defaults: blocks + norm 3,547,392
    parameters, position MLP 50,048, mask token 384 (ACT_SPEC.md).

    Token order follows the reference: ``[visible groups in index order;
    masked groups in index order]``, so the i-th prediction belongs to the
    i-th ``True`` of each row of ``mask`` (``centers[mask]``).

    Args:
        embed_dims (int): token width C. Defaults to 384.
        depth (int): number of decoder blocks. Defaults to 2.
        drop_path_rate (float): stochastic depth, linearly increasing from 0
            over the blocks (the reference uses the student's 0.1, i.e.
            ``[0, 0.1]`` for 2 blocks). Defaults to 0.1.
        init_cfg (dict, optional): initialisation config.
        **block_cfg: the other arguments of the blocks
            (:func:`build_vit_blocks`): ``num_heads`` (6), ``mlp_ratio``
            (4), ``qkv_bias`` (False), ``drop_rate`` (dropout after MLP /
            projection, 0) and ``attn_drop_rate`` (0).
    """

    def __init__(self,
                 embed_dims: int = 384,
                 depth: int = 2,
                 drop_path_rate: float = 0.1,
                 init_cfg: Optional[dict] = None,
                 **block_cfg):
        super().__init__(init_cfg=init_cfg)
        if depth < 1:
            raise ValueError(f'depth must be >= 1, got {depth}')
        self.embed_dims = embed_dims
        self.depth = depth
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.decoder_pos_embed = build_position_embedding(embed_dims)
        self.blocks = build_vit_blocks(
            embed_dims, depth, drop_path_rate=drop_path_rate, **block_cfg)
        self.norm = nn.LayerNorm(embed_dims)

    def init_weights(self):
        """The reference init: xavier-uniform linears in the blocks, unit
        LayerNorms, mask token trunc-normal(0.02); the position MLP keeps
        PyTorch's default init as in the reference."""
        super().init_weights()
        if (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            return
        for m in list(self.blocks.modules()) + [self.norm]:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.bias, 0)
                nn.init.constant_(m.weight, 1.0)
        trunc_normal_(self.mask_token, std=.02)

    def forward(self, tokens: Tensor, centers: Tensor, mask: Tensor) -> Tensor:
        """Predict features at the masked groups.

        Args:
            tokens (Tensor): (B, G_vis, C) the student's visible tokens
                (without the cls token), in group index order.
            centers (Tensor): (B, G, 3) all group centres.
            mask (Tensor): (B, G) bool, True = masked; the same number M of
                masked groups per cloud, G_vis = G - M.

        Returns:
            Tensor: (B, M, C) normalised decoder outputs at the masked
            groups, in group index order.
        """
        b, g_vis, c = tokens.shape
        if mask.dim() != 2 or mask.size(0) != b or mask.dtype != torch.bool:
            raise ValueError(f'mask must be a ({b}, G) bool tensor, got '
                             f'{tuple(mask.shape)} {mask.dtype}')
        if centers.shape[:2] != mask.shape or centers.size(-1) != 3:
            raise ValueError(f'centers {tuple(centers.shape)} do not match '
                             f'mask {tuple(mask.shape)}')
        num_mask = mask.size(1) - g_vis
        counts = mask.sum(dim=1)
        if num_mask <= 0 or (counts != num_mask).any():
            raise ValueError(f'mask must hide {num_mask} groups per cloud '
                             f'to match {g_vis} visible tokens, got '
                             f'{counts.tolist()}')
        vis_centers = centers[~mask].reshape(b, g_vis, 3)
        mask_centers = centers[mask].reshape(b, num_mask, 3)
        pos = self.decoder_pos_embed(
            torch.cat([vis_centers, mask_centers], dim=1))
        x = torch.cat(
            [tokens, self.mask_token.to(tokens.dtype).expand(b, num_mask, -1)],
            dim=1)
        for block in self.blocks:
            x = block(x + pos)
        return self.norm(x[:, -num_mask:])
