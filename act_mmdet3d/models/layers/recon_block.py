"""The ReCon encoder block: point tokens self-attend, query tokens
cross-attend to them (``qizekun/ReCon``, ``models/transformer.py``)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath, Mlp
from timm.models.vision_transformer import Attention
from torch import Tensor


class CrossAttention(nn.Module):
    """Queries ``x`` (B, Q, C) attend to ``y`` (B, N, C): ``q`` from x,
    ``kv`` from y, multi-head, then ``proj`` (ReCon's ``CrossAttention``).

    Args:
        dim (int): width C.
        num_heads (int): heads.
        qkv_bias (bool): bias of ``q`` / ``kv`` (False in ReCon).
        attn_drop (float): attention dropout.
        proj_drop (float): dropout after ``proj``.
    """

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False,
                 attn_drop: float = 0., proj_drop: float = 0.):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        b, q, c = x.shape
        n, h = y.size(1), self.num_heads
        k, v = self.kv(y).reshape(b, n, 2, h, c // h).permute(2, 0, 3, 1, 4)
        query = self.q(x).reshape(b, q, h, c // h).transpose(1, 2)
        out = F.scaled_dot_product_attention(
            query, k, v,
            dropout_p=self.attn_drop if self.training else 0.)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, q,
                                                                     c)))


class ReConBlock(nn.Module):
    """One block of ReCon's encoder (``Block(with_contrast=True)``).

    The sequence is ``[P query tokens; point tokens]`` (P = 3: cls, image,
    text). Point tokens: ``x = norm1(x); x = x + attn(x); x = norm2(x);
    x = x + mlp(x)`` (the residual is added to the *normalised* tokens, not
    the pre-norm ``x + attn(norm1(x))`` of ACT / Point-MAE). Query tokens:
    the same with their own ``norm1_contrast`` / ``mlp_contrast`` /
    ``norm2_contrast`` and a cross-attention ``attn_contrast`` to the
    normalised point tokens. ReCon pretraining stops the gradient of the
    point tokens through the cross-attention (``contrast_grad=False``); its
    fine-tuning does not (True).

    Args:
        dim (int): width C.
        num_heads (int): heads.
        mlp_ratio (float): MLP width / C.
        qkv_bias (bool): projection biases (False).
        drop (float): dropout after the MLPs and projections.
        attn_drop (float): attention dropout.
        drop_path (float): stochastic depth.
        num_queries (int): P, the leading query tokens (3).
        contrast_grad (bool): let the cross-attention's gradient reach the
            point tokens.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.,
                 qkv_bias: bool = False, drop: float = 0.,
                 attn_drop: float = 0., drop_path: float = 0.,
                 num_queries: int = 3, contrast_grad: bool = True):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.num_queries = num_queries
        self.contrast_grad = contrast_grad
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias,
                              attn_drop=attn_drop, proj_drop=drop)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, hidden, act_layer=nn.GELU, drop=drop)
        self.norm1_contrast = nn.LayerNorm(dim)
        self.attn_contrast = CrossAttention(dim, num_heads, qkv_bias,
                                            attn_drop, drop)
        self.norm2_contrast = nn.LayerNorm(dim)
        self.mlp_contrast = Mlp(dim, hidden, act_layer=nn.GELU, drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else \
            nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(B, P + N, C) -> (B, P + N, C)."""
        p = self.num_queries
        query, points = self.norm1_contrast(x[:, :p]), self.norm1(x[:, p:])
        keys = points if self.contrast_grad else points.detach()
        query = query + self.drop_path(self.attn_contrast(query, keys))
        points = points + self.drop_path(self.attn(points))
        query = self.norm2_contrast(query)
        points = self.norm2(points)
        query = query + self.drop_path(self.mlp_contrast(query))
        points = points + self.drop_path(self.mlp(points))
        return torch.cat((query, points), dim=1)
