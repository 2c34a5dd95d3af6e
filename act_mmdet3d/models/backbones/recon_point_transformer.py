"""ReConPointTransformer: the ReCon encoder (cls / image / text queries)."""
import torch
import torch.nn as nn
from mmengine.model.weight_init import trunc_normal_

from mmdet3d.registry import MODELS
from ..layers.recon_block import ReConBlock
from .act_point_transformer import ACTPointTransformer


@MODELS.register_module()
class ReConPointTransformer(ACTPointTransformer):
    """The encoder of ReCon (Qi et al., ICML 2023; ``qizekun/ReCon``).

    The ACT / Point-MAE tokenizer and position MLP, then three learnable
    query tokens ``[cls; img; text]`` (each with its position) before the
    group tokens and 12 :class:`~act_mmdet3d.models.layers.ReConBlock` s,
    in which the point tokens self-attend and the queries cross-attend to
    them, then the LayerNorm. ``cls_tokens`` in the output is the three
    queries concatenated, (B, 3C), so an ``ACTClsHead`` with
    ``cls_channels=3 * C`` reads ReCon's fine-tuning feature
    ``[cls, img, text, max-pool]`` (4C).

    Parameter names follow ReCon's ``PointTransformer`` (``cls_token``,
    ``img_token``, ``text_token`` and their ``*_pos``, ``encoder``,
    ``pos_embed``, ``blocks.{i}`` with ``*_contrast`` branches, ``norm``);
    ``tools/model_converters/convert_checkpoint.py --from recon`` maps its
    pretraining (``MAE_encoder.*``) and fine-tuned files. Arguments as
    :class:`ACTPointTransformer` (always with the query tokens), plus:

    Args:
        contrast_grad (bool): gradients of the queries' cross-attention
            reach the point tokens (True, ReCon's fine-tuning; its
            pretraining detaches them).
    """

    prefix_tokens = (('cls_token', 'cls_pos'), ('img_token', 'img_pos'),
                     ('text_token', 'text_pos'))

    def __init__(self, *args, contrast_grad: bool = True, **kwargs):
        if not kwargs.pop('with_cls_token', True):
            raise ValueError('ReConPointTransformer always has its cls / '
                             'img / text query tokens (with_cls_token)')
        self.contrast_grad = contrast_grad
        super().__init__(*args, with_cls_token=True, **kwargs)

    def _init_prefix(self):
        dims = self.embed_dims
        for token, pos in self.prefix_tokens[1:]:
            setattr(self, token, nn.Parameter(torch.zeros(1, 1, dims)))
            setattr(self, pos, nn.Parameter(torch.zeros(1, 1, dims)))
            trunc_normal_(getattr(self, token), std=.02)
            trunc_normal_(getattr(self, pos), std=.02)

    def build_blocks(self, embed_dims, depth, num_heads, mlp_ratio, qkv_bias,
                     drop_rate, attn_drop_rate,
                     drop_path_rate) -> nn.ModuleList:
        """ReCon blocks, stochastic depth rising linearly from 0."""
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        # the img / text tokens are created here, before _freeze_stages
        self._init_prefix()
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()
        return nn.ModuleList([
            ReConBlock(embed_dims, num_heads, mlp_ratio, qkv_bias, drop_rate,
                       attn_drop_rate, dpr[i],
                       num_queries=len(self.prefix_tokens),
                       contrast_grad=self.contrast_grad)
            for i in range(depth)
        ])
