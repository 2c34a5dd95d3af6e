"""The plain ViT block stack shared by the ACT encoder and decoder."""
import torch
import torch.nn as nn
from timm.models.vision_transformer import Block


def build_vit_blocks(embed_dims: int,
                     depth: int,
                     num_heads: int = 6,
                     mlp_ratio: float = 4.,
                     qkv_bias: bool = False,
                     drop_rate: float = 0.,
                     attn_drop_rate: float = 0.,
                     drop_path_rate: float = 0.) -> nn.ModuleList:
    """``depth`` timm ``Block`` s as the reference's ``TransformerEncoder``.

    torch ``nn.LayerNorm`` (eps 1e-5, as the reference; timm's default is
    1e-6), no qkv bias by default, stochastic depth rising linearly from 0
    to ``drop_path_rate``; ``num_heads`` defaults to ViT-S's 6. Keys
    ``{i}.norm1``, ``{i}.attn.qkv``, ... match the reference's
    ``blocks.blocks.{i}.*``.
    """
    if embed_dims % num_heads:
        raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                         f'num_heads={num_heads}')
    dpr = torch.linspace(0, drop_path_rate, depth).tolist()
    return nn.ModuleList([
        Block(
            dim=embed_dims,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
            qkv_bias=qkv_bias,
            proj_drop=drop_rate,
            attn_drop=attn_drop_rate,
            drop_path=dpr[i],
            norm_layer=nn.LayerNorm) for i in range(depth)
    ])
