"""Conversion of official ACT / Point-MAE / Point-BERT / ReCon checkpoints
(act_mmdet3d/converters/, tools/model_converters/convert_checkpoint.py).

The synthetic checkpoints below are written from the reference model files
(names and shapes of ``models/act.py``, ``models/dvae.py``,
``part_segmentation/models/pt.py`` of RunpeiDong/ACT, ``models/Point_MAE.py``
of Point-MAE, ``models/Point_BERT.py`` of Point-BERT, ``models/
transformer.py`` of ReCon), small widths, random values. The reference
forward passes are re-stated here with torch.nn.functional on those
official keys (not with the project's modules) and compared with the
project's modules loaded from the converted files.
"""
import hashlib
import math
import os
import os.path as osp
import re
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

import act_mmdet3d  # noqa: F401
from act_mmdet3d.engine.checkpoint import check_state_dict
from act_mmdet3d.converters import (LAYOUTS, CheckpointConversionError,
                                    check_against_target, convert_checkpoint,
                                    convert_state_dict, detect_layout,
                                    infer_backbone_cfg, unwrap_state_dict)
from mmdet3d.registry import MODELS
from tools.model_converters import convert_checkpoint as cli

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# small widths for the synthetic official checkpoints
C, DEPTH, HEADS, CLASSES = 48, 2, 6, 5
G, K, N = 16, 8, 192  # groups, group size, points


@pytest.fixture(autouse=True)
def mmdet3d_scope():
    init_default_scope('mmdet3d')


# ---------------------------------------------------------------------------
# official state dicts (names and shapes from the reference model files)
class Official:
    """Builds official-layout state dicts with seeded random values."""

    def __init__(self, seed=0, meta=False):
        self.gen = torch.Generator().manual_seed(seed)
        self.meta = meta  # shapes only (full-size layouts, no memory)

    def t(self, *shape, scale=0.2):
        if self.meta:
            return torch.empty(*shape, device='meta')
        return torch.randn(*shape, generator=self.gen) * scale

    def linear(self, sd, p, cout, cin, bias=True):
        sd[p + 'weight'] = self.t(cout, cin, scale=1 / math.sqrt(cin))
        if bias:
            sd[p + 'bias'] = self.t(cout, scale=0.05)

    def conv(self, sd, p, cout, cin, k=1, dims=1, bias=True):
        shape = (cout, cin) + (k, ) * dims
        sd[p + 'weight'] = self.t(*shape, scale=1 / math.sqrt(cin))
        if bias:
            sd[p + 'bias'] = self.t(cout, scale=0.05)

    def norm(self, sd, p, c):  # LayerNorm / GroupNorm
        sd[p + 'weight'] = 1 + self.t(c, scale=0.1)
        sd[p + 'bias'] = self.t(c, scale=0.1)

    def bn(self, sd, p, c):
        self.norm(sd, p, c)
        sd[p + 'running_mean'] = self.t(c, scale=0.1)
        sd[p + 'running_var'] = 0.5 + self.t(c).abs()
        sd[p + 'num_batches_tracked'] = torch.tensor(17)

    def mini_pointnet(self, sd, p, c):  # dvae.py / Point_MAE.py Encoder
        self.conv(sd, p + 'first_conv.0.', 128, 3)
        self.bn(sd, p + 'first_conv.1.', 128)
        self.conv(sd, p + 'first_conv.3.', 256, 128)
        self.conv(sd, p + 'second_conv.0.', 512, 512)
        self.bn(sd, p + 'second_conv.1.', 512)
        self.conv(sd, p + 'second_conv.3.', c, 512)

    def block(self, sd, p, dim, qkv_bias=False, ratio=4):  # act.py Block
        self.norm(sd, p + 'norm1.', dim)
        self.linear(sd, p + 'attn.qkv.', 3 * dim, dim, bias=qkv_bias)
        self.linear(sd, p + 'attn.proj.', dim, dim)
        self.norm(sd, p + 'norm2.', dim)
        self.linear(sd, p + 'mlp.fc1.', ratio * dim, dim)
        self.linear(sd, p + 'mlp.fc2.', dim, ratio * dim)

    def encoder(self, p, dim=C, depth=DEPTH, enc_dims=None, cls=True):
        """The point transformer encoder (PointTransformer,
        VisableOnlyMaskTransformer, Point-MAE's MaskTransformer, ...)."""
        sd = OrderedDict()
        enc_dims = enc_dims or dim
        self.mini_pointnet(sd, p + 'encoder.', enc_dims)
        if enc_dims != dim:
            self.linear(sd, p + 'reduce_dim.', dim, enc_dims)
        if cls:
            sd[p + 'cls_token'] = self.t(1, 1, dim)
            sd[p + 'cls_pos'] = self.t(1, 1, dim)
        self.linear(sd, p + 'pos_embed.0.', 128, 3)
        self.linear(sd, p + 'pos_embed.2.', dim, 128)
        for i in range(depth):
            self.block(sd, f'{p}blocks.blocks.{i}.', dim)
        self.norm(sd, p + 'norm.', dim)
        return sd

    def cls_head(self, p='cls_head_finetune.', dim=C, hidden=(256, 256),
                 classes=CLASSES):
        sd = OrderedDict()
        width, i = 2 * dim, 0
        for h in hidden:
            self.linear(sd, f'{p}{i}.', h, width)
            self.bn(sd, f'{p}{i + 1}.', h)
            width, i = h, i + 4
        self.linear(sd, f'{p}{i}.', classes, width)
        return sd

    def dgcnn(self, sd, p, cin, cout):  # dvae.py DGCNN
        self.conv(sd, p + 'input_trans.', 128, cin)
        for i, (ci, co) in enumerate(
                [(256, 256), (512, 512), (1024, 512), (1024, 1024)], 1):
            self.conv(sd, f'{p}layer{i}.0.', co, ci, dims=2, bias=False)
            self.norm(sd, f'{p}layer{i}.1.', co)
        self.conv(sd, p + 'layer5.0.', cout, 2304, bias=False)
        self.norm(sd, p + 'layer5.1.', cout)

    def dvae(self, p='', enc=32, tokens=64, tdims=32, ddims=32, vit=192,
             depth=12, prompts=4, group_size=K):
        """ACTPromptedDiscreteVAEwithVIT (deep prompts, timm ViT)."""
        sd = OrderedDict()
        self.mini_pointnet(sd, p + 'encoder.', enc)
        self.dgcnn(sd, p + 'dgcnn_1.', enc, tokens)
        sd[p + 'codebook'] = self.t(tokens, tdims, scale=1.)
        self.dgcnn(sd, p + 'dgcnn_2.', tdims, ddims)
        self.linear(sd, p + 'decoder.mlp.0.', 1024, ddims)
        self.linear(sd, p + 'decoder.mlp.2.', 1024, 1024)
        self.linear(sd, p + 'decoder.mlp.4.', 3 * group_size // 4, 1024)
        self.conv(sd, p + 'decoder.final_conv.0.', 512, ddims + 5)
        self.bn(sd, p + 'decoder.final_conv.1.', 512)
        self.conv(sd, p + 'decoder.final_conv.3.', 512, 512)
        self.bn(sd, p + 'decoder.final_conv.4.', 512)
        self.conv(sd, p + 'decoder.final_conv.6.', 3, 512)
        for i in range(depth):  # timm ViT blocks: qkv bias
            self.block(sd, f'{p}visual_embed.0.{i}.', vit, qkv_bias=True)
        self.norm(sd, p + 'visual_embed.1.', vit)
        self.linear(sd, p + 'proj_pre.', vit, tdims)
        self.linear(sd, p + 'visual_pos_embed.0.', 128, 3)
        self.linear(sd, p + 'visual_pos_embed.2.', vit, 128)
        self.linear(sd, p + 'proj_post.', tdims, vit)
        sd[p + 'visual_prompt_token'] = self.t(1, prompts, vit)
        sd[p + 'visual_prompt_pos'] = self.t(1, prompts, vit)
        sd[p + 'deep_prompt_tokens'] = self.t(depth - 1, prompts, vit)
        sd[p + 'deep_prompt_pos'] = self.t(depth - 1, prompts, vit)
        return sd

    # whole checkpoints ----------------------------------------------------
    def act_pretrain(self, full=False):
        """ACT_PointDistillation (pretrain_act_distill.yaml; ``full``: its
        real sizes, else small widths)."""
        c, depth, tokens, tdims, cls_dim = (
            (384, 12, 8192, 384, 512) if full else (C, DEPTH, 100, 32, 32))
        sd = self.encoder('ACT_encoder.', dim=c, depth=depth)
        self.linear(sd, 'ACT_encoder.lm_head.', tokens, c)
        self.linear(sd, 'ACT_encoder.cls_head.0.', cls_dim, c)
        self.linear(sd, 'ACT_encoder.cls_head.2.', cls_dim, cls_dim)
        sd['mask_token'] = self.t(1, 1, c)
        self.linear(sd, 'decoder_pos_embed.0.', 128, 3)
        self.linear(sd, 'decoder_pos_embed.2.', c, 128)
        for i in range(2):
            self.block(sd, f'ACT_decoder.blocks.{i}.', c)
        self.norm(sd, 'ACT_decoder.norm.', c)
        self.linear(sd, 'proj_head.', tdims, c)
        if full:
            sd.update(self.dvae('dvae_tokenizer.', enc=384, tokens=8192,
                                tdims=384, ddims=384, vit=768, prompts=64,
                                group_size=32))
        else:
            sd.update(self.dvae('dvae_tokenizer.'))
        return sd

    def act_finetune(self, hidden=(256, 256)):
        sd = self.encoder('')
        sd.update(self.cls_head(hidden=hidden))
        return sd

    def partseg(self, suffix='_cls', depth=12, parts=50):
        """part_segmentation/models/pt.py get_model (no cls token)."""
        sd = self.encoder('', depth=depth, cls=False)
        s = suffix
        self.conv(sd, f'label_conv{s}.0.', 64, 16, bias=False)
        self.bn(sd, f'label_conv{s}.1.', 64)
        self.conv(sd, f'propagation_0{s}.mlp_convs.0.', 4 * C, 3 * C + 3)
        self.bn(sd, f'propagation_0{s}.mlp_bns.0.', 4 * C)
        self.conv(sd, f'propagation_0{s}.mlp_convs.1.', 1024, 4 * C)
        self.bn(sd, f'propagation_0{s}.mlp_bns.1.', 1024)
        self.conv(sd, f'convs1{s}.', 512, 1024 + 6 * C + 64)
        self.conv(sd, f'convs2{s}.', 256, 512)
        self.conv(sd, f'convs3{s}.', parts, 256)
        self.bn(sd, f'bns1{s}.', 512)
        self.bn(sd, f'bns2{s}.', 256)
        return sd

    def point_mae(self):
        """Point_MAE: MAE_encoder has no cls token."""
        sd = self.encoder('MAE_encoder.', cls=False)
        sd['mask_token'] = self.t(1, 1, C)
        self.linear(sd, 'decoder_pos_embed.0.', 128, 3)
        self.linear(sd, 'decoder_pos_embed.2.', C, 128)
        for i in range(2):
            self.block(sd, f'MAE_decoder.blocks.{i}.', C)
        self.norm(sd, 'MAE_decoder.norm.', C)
        self.conv(sd, 'increase_dim.0.', 3 * K, C)
        return sd

    def point_bert(self, enc=32):
        """Point_BERT: transformer_q / transformer_k (256-wide mini-PointNet
        in the reference; ``enc`` here) + dVAE + MoCo queue."""
        sd = OrderedDict()
        for q in ('q', 'k'):
            p = f'transformer_{q}.'
            sd.update(self.encoder(p, enc_dims=enc))
            sd[p + 'mask_token'] = self.t(1, 1, C)
            self.linear(sd, p + 'lm_head.', 100, C)
            self.linear(sd, p + 'cls_head.0.', 32, C)
            self.linear(sd, p + 'cls_head.2.', 32, 32)
        self.mini_pointnet(sd, 'dvae.encoder.', enc)
        sd['dvae.codebook'] = self.t(100, enc)
        sd['queue'] = self.t(32, 64)
        sd['queue_ptr'] = torch.zeros(1, dtype=torch.long)
        return sd

    def point_bert_finetune(self, enc=32):
        sd = self.encoder('', enc_dims=enc)
        self.linear(sd, 'cls_head_finetune.0.', 256, 2 * C)
        self.linear(sd, 'cls_head_finetune.3.', CLASSES, 256)
        return sd

    def recon(self, prefix='MAE_encoder.'):
        """ReCon MaskTransformer (pretraining, under MAE_encoder.) or its
        fine-tuning PointTransformer (prefix ''): contrast branches + img /
        text tokens (models/transformer.py of ReCon)."""
        sd = self.encoder(prefix)
        for name in ('img_token', 'text_token', 'img_pos', 'text_pos'):
            sd[prefix + name] = self.t(1, 1, C)
        for i in range(DEPTH):
            p = f'{prefix}blocks.blocks.{i}.'
            self.norm(sd, p + 'norm1_contrast.', C)
            self.linear(sd, p + 'attn_contrast.q.', C, C, bias=False)
            self.linear(sd, p + 'attn_contrast.kv.', 2 * C, C, bias=False)
            self.linear(sd, p + 'attn_contrast.proj.', C, C)
            self.norm(sd, p + 'norm2_contrast.', C)
            self.linear(sd, p + 'mlp_contrast.fc1.', 4 * C, C)
            self.linear(sd, p + 'mlp_contrast.fc2.', C, 4 * C)
        return sd

    def recon_pretrain(self):
        """A whole ReCon pretraining state dict: the encoder plus what only
        pretraining uses (decoder, point head, frozen teachers, proj.)."""
        sd = self.recon()
        sd['mask_token'] = self.t(1, 1, C)
        self.linear(sd, 'decoder_pos_embed.0.', 128, 3)
        self.linear(sd, 'decoder_pos_embed.2.', C, 128)
        self.block(sd, 'MAE_decoder.blocks.0.', C)
        self.norm(sd, 'MAE_decoder.norm.', C)
        self.conv(sd, 'increase_dim.0.', 3 * K, C)
        self.linear(sd, 'img_encoder.visual.proj.', 16, 8)
        self.linear(sd, 'text_encoder.token_embedding.', 16, 8)
        self.linear(sd, 'img_proj.', 16, C)
        self.linear(sd, 'text_proj.', 16, C)
        return sd

    def recon_finetune(self, hidden=(256, 256)):
        """A fine-tuned ReCon PointTransformer: head on [cls, img, text,
        max] (4C)."""
        sd = self.recon('')
        head = self.cls_head(hidden=hidden)
        first = 'cls_head_finetune.0.'
        self.linear(head, first, head[first + 'weight'].shape[0], 4 * C)
        sd.update(head)
        return sd


# ---------------------------------------------------------------------------
# the reference forward passes, re-stated on the official keys
def ref_fps(xyz, n):
    """pointnet2_ops' furthest_point_sample (the reference's misc.fps):
    (N, 3) -> (n,) indices, starting at point 0; the CUDA kernel never
    selects a point with |p|^2 <= 1e-3 (``if (mag <= 1e-3) continue``)."""
    idx = [0]
    dist = torch.full((xyz.size(0), ), 1e10, dtype=xyz.dtype)
    skip = (xyz**2).sum(-1) <= 1e-3
    for _ in range(n - 1):
        dist = torch.minimum(dist, ((xyz - xyz[idx[-1]])**2).sum(-1))
        idx.append(int(dist.masked_fill(skip, -1).argmax()))
    return torch.tensor(idx)


def ref_group(points, g=G, k=K):
    """Group (FPS from point 0 + kNN, as dvae.py's Group): neighbourhoods
    (B, g, k, 3) relative to the centres (B, g, 3), centre indices."""
    hoods, centers, idxs = [], [], []
    for xyz in points:
        idx = ref_fps(xyz, g)
        center = xyz[idx]
        knn = torch.cdist(center, xyz).argsort(dim=1, stable=True)[:, :k]
        hoods.append(xyz[knn] - center[:, None])
        centers.append(center)
        idxs.append(idx)
    return torch.stack(hoods), torch.stack(centers), torch.stack(idxs)


def ref_bn(x, sd, p):  # eval mode, (B, C, L)
    return F.batch_norm(x, sd[p + 'running_mean'], sd[p + 'running_var'],
                        sd[p + 'weight'], sd[p + 'bias'], False, 0., 1e-5)


def ref_mini_pointnet(sd, p, hood):
    b, g, k, _ = hood.shape
    x = hood.reshape(b * g, k, 3).transpose(2, 1)
    x = F.conv1d(x, sd[p + 'first_conv.0.weight'], sd[p + 'first_conv.0.bias'])
    x = F.relu(ref_bn(x, sd, p + 'first_conv.1.'))
    x = F.conv1d(x, sd[p + 'first_conv.3.weight'], sd[p + 'first_conv.3.bias'])
    glob = x.max(dim=2, keepdim=True)[0]
    x = torch.cat([glob.expand(-1, -1, k), x], dim=1)
    x = F.conv1d(x, sd[p + 'second_conv.0.weight'],
                 sd[p + 'second_conv.0.bias'])
    x = F.relu(ref_bn(x, sd, p + 'second_conv.1.'))
    x = F.conv1d(x, sd[p + 'second_conv.3.weight'],
                 sd[p + 'second_conv.3.bias'])
    return x.max(dim=2)[0].reshape(b, g, -1)


def ref_ln(x, sd, p, eps=1e-5):
    return F.layer_norm(x, x.shape[-1:], sd[p + 'weight'], sd[p + 'bias'],
                        eps)


def ref_block(x, sd, p, heads, eps=1e-5):
    """act.py Block: x + attn(norm1(x)); x + mlp(norm2(x))."""
    b, n, c = x.shape
    h = ref_ln(x, sd, p + 'norm1.', eps)
    qkv = F.linear(h, sd[p + 'attn.qkv.weight'], sd.get(p + 'attn.qkv.bias'))
    qkv = qkv.reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = ((q @ k.transpose(-2, -1)) * (c // heads)**-0.5).softmax(dim=-1)
    h = (attn @ v).transpose(1, 2).reshape(b, n, c)
    x = x + F.linear(h, sd[p + 'attn.proj.weight'], sd[p + 'attn.proj.bias'])
    h = ref_ln(x, sd, p + 'norm2.', eps)
    h = F.gelu(F.linear(h, sd[p + 'mlp.fc1.weight'], sd[p + 'mlp.fc1.bias']))
    return x + F.linear(h, sd[p + 'mlp.fc2.weight'], sd[p + 'mlp.fc2.bias'])


def ref_mlp_pos(sd, p, xyz):
    h = F.gelu(F.linear(xyz, sd[p + '0.weight'], sd[p + '0.bias']))
    return F.linear(h, sd[p + '2.weight'], sd[p + '2.bias'])


def ref_encoder(sd, p, hood, center, mask=None, cls=True, fetch=None):
    """PointTransformer / VisableOnlyMaskTransformer / MaskTransformer
    forward (noaug, or visible groups only with ``mask``): normed tokens
    (B, G', C) and cls (B, C) (None without a cls token); with ``fetch``
    the normed outputs of those blocks (part segmentation)."""
    x = ref_mini_pointnet(sd, p + 'encoder.', hood)
    if p + 'reduce_dim.weight' in sd:
        x = F.linear(x, sd[p + 'reduce_dim.weight'], sd[p + 'reduce_dim.bias'])
    b, g, c = x.shape
    if mask is not None:
        x = x[~mask].reshape(b, -1, c)
        center = center[~mask].reshape(b, -1, 3)
    pos = ref_mlp_pos(sd, p + 'pos_embed.', center)
    if cls:
        x = torch.cat([sd[p + 'cls_token'].expand(b, -1, -1), x], dim=1)
        pos = torch.cat([sd[p + 'cls_pos'].expand(b, -1, -1), pos], dim=1)
    depth = len({m.group(1) for k in sd
                 for m in [re.match(re.escape(p) + r'blocks\.blocks\.(\d+)',
                                    k)] if m})
    fetched = []
    for i in range(depth):
        x = ref_block(x + pos, sd, f'{p}blocks.blocks.{i}.', HEADS)
        if fetch and i in fetch:
            fetched.append(ref_ln(x, sd, p + 'norm.'))
    if fetch:
        return fetched
    x = ref_ln(x, sd, p + 'norm.')
    return (x[:, 1:], x[:, 0]) if cls else (x, None)


def ref_cls_head(sd, feat, p='cls_head_finetune.'):
    """cls_head_finetune (eval): Linear, BN, ReLU, Dropout, ..."""
    idx = sorted({int(k[len(p):].split('.')[0]) for k in sd
                  if k.startswith(p)})
    x = feat
    for i in idx:
        w = sd[f'{p}{i}.weight']
        if w.dim() == 2:
            x = F.linear(x, w, sd[f'{p}{i}.bias'])
        else:
            x = F.relu(ref_bn(x[..., None], sd, f'{p}{i}.')[..., 0])
    return x


def ref_prompted_vit(sd, tokens, center, depth=12, heads=3, prompts=4):
    """visual_embedding_deep_prompt (eval: no prompt dropout); timm ViT
    blocks and norm use LayerNorm eps 1e-6."""
    b = tokens.size(0)
    pos = ref_mlp_pos(sd, 'visual_pos_embed.', center)
    x = F.linear(tokens, sd['proj_pre.weight'], sd['proj_pre.bias'])
    x = torch.cat([sd['visual_prompt_token'].expand(b, -1, -1), x], dim=1)
    pos = torch.cat([sd['visual_prompt_pos'].expand(b, -1, -1), pos], dim=1)
    for i in range(depth):
        if i > 0:
            x = torch.cat([sd['deep_prompt_tokens'][i - 1].expand(b, -1, -1),
                           x[:, prompts:]], dim=1)
            pos = torch.cat([sd['deep_prompt_pos'][i - 1].expand(b, -1, -1),
                             pos[:, prompts:]], dim=1)
        x = ref_block(x + pos, sd, f'visual_embed.0.{i}.', heads, eps=1e-6)
    x = ref_ln(x, sd, 'visual_embed.1.', eps=1e-6)[:, prompts:]
    return F.linear(x, sd['proj_post.weight'], sd['proj_post.bias'])


# ---------------------------------------------------------------------------
# helpers
def backbone_cfg(**kw):
    cfg = dict(type='ACTPointTransformer', embed_dims=C, depth=DEPTH,
               num_heads=HEADS, num_groups=G, group_size=K,
               drop_path_rate=0.)
    cfg.update(kw)
    return cfg


def classifier_cfg(hidden=(256, 256), **backbone):
    return dict(
        type='ACTClassifier',
        backbone=backbone_cfg(**backbone),
        head=dict(type='ACTClsHead', num_classes=CLASSES, in_channels=C,
                  hidden_channels=hidden))


def teacher_cfg():
    return dict(type='ACTTeacherAutoencoder', num_groups=G, group_size=K,
                encoder_dims=32, num_tokens=64, tokens_dims=32,
                decoder_dims=32, vit_name='vit_tiny_patch16_224',
                allow_random_teacher=True, num_prompts=4)


def partseg_head_shapes(num_classes=50, in_channels=1152, num_categories=16,
                        category_channels=64, fp_channels=(1536, 1024),
                        mid_channels=512, channels=256):
    """Key -> shape of the reference ShapeNetPart head (get_model of
    part_segmentation/models/pt.py, propagation input C + 3 xyz) under the
    names ACTSegHead gives them (convs3 -> conv_seg)."""
    shapes = {}

    def bn(name, c):
        for s in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{name}.{s}'] = (c, )
        shapes[f'{name}.num_batches_tracked'] = ()

    shapes['label_conv.0.weight'] = (category_channels, num_categories, 1)
    bn('label_conv.1', category_channels)
    width = in_channels + 3
    for i, c in enumerate(fp_channels):
        shapes[f'propagation.mlp_convs.{i}.weight'] = (c, width, 1)
        shapes[f'propagation.mlp_convs.{i}.bias'] = (c, )
        bn(f'propagation.mlp_bns.{i}', c)
        width = c
    glob = 2 * in_channels + category_channels
    for name, cin, cout in (('convs1', width + glob, mid_channels),
                            ('convs2', mid_channels, channels),
                            ('conv_seg', channels, num_classes)):
        shapes[f'{name}.weight'] = (cout, cin, 1)
        shapes[f'{name}.bias'] = (cout, )
    bn('bns1', mid_channels)
    bn('bns2', channels)
    return shapes


def strip(sd, prefix):
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def convert(sd, layout, **kw):
    out, report = convert_state_dict(sd, layout, **kw)
    check_against_target(out, report)
    assert report.errors() == []
    return out, report


def save(obj, path):
    torch.save(obj, path)
    return str(path)


def points(seed=0, b=2):
    """(b, N, 3) points; none in the ball the reference FPS skips (where
    the project's FPS, which does not skip it, could pick other centres)."""
    pts = torch.rand(b, N, 3, generator=torch.Generator().manual_seed(seed))
    assert ((pts**2).sum(-1) > 1e-3).all()
    return pts


# ---------------------------------------------------------------------------
# reading official files
def test_unwrap_containers_and_prefixes():
    sd = Official().encoder('ACT_encoder.')
    wrapped = {'module.' + k: v for k, v in sd.items()}
    got, info = unwrap_state_dict(
        dict(base_model=wrapped, optimizer={}, epoch=300,
             metrics=dict(acc=torch.tensor(93.7))), 'x.pth')
    assert list(got) == list(sd)
    assert info['container'] == 'base_model' and info['stripped'] == [
        'module.']
    assert info['epoch'] == 300 and info['metrics'] == dict(
        acc=pytest.approx(93.7))
    got, info = unwrap_state_dict(dict(model_state_dict=sd, epoch=3))
    assert info['container'] == 'model_state_dict' and list(got) == list(sd)
    got, info = unwrap_state_dict(sd)  # a bare state dict
    assert info['container'] is None and list(got) == list(sd)
    with pytest.raises(CheckpointConversionError,
                       match=r'x\.pth: no state dict .*top-level keys: '
                       'epoch, optimizer'):
        unwrap_state_dict(dict(epoch=1, optimizer={}), 'x.pth')


@pytest.mark.parametrize('name,expected', [
    ('act_pretrain', 'act_pretrain'), ('dvae', 'act_dvae'),
    ('act_finetune', 'act_finetune'), ('partseg', 'act_partseg'),
    ('point_mae', 'point_mae'), ('point_bert', 'point_bert'),
    ('point_bert_finetune', 'point_bert_finetune'), ('recon', 'recon')
])
def test_detect_layout(name, expected):
    assert detect_layout(getattr(Official(), name)()) == expected


def test_full_size_layouts_have_the_reference_counts():
    """The official layouts at their real sizes (shapes only) hold the
    reference's parameter counts (ACT_SPEC.md), and convert to exactly the
    project models of configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py and
    vit-s_1xb32-coslr-300e_scanobjectnn-hardest.py."""
    sd = Official(meta=True).act_pretrain(full=True)
    params = {k: v for k, v in sd.items()
              if not k.endswith(('running_mean', 'running_var',
                                 'num_batches_tracked'))}

    def count(*prefixes):
        return sum(v.numel() for k, v in params.items()
                   if k.startswith(prefixes))

    assert count('dvae_tokenizer.') == 116_185_883
    assert count('dvae_tokenizer.visual_embed.') == 85_056_000  # frozen
    assert count('ACT_encoder.') - count(
        'ACT_encoder.lm_head', 'ACT_encoder.cls_head') == 21_825_792
    assert count('ACT_encoder.lm_head') == 3_153_920
    assert count('ACT_encoder.cls_head') == 459_776
    assert count('ACT_decoder.') == 3_547_392
    assert count('proj_head.') == 147_840
    assert count('decoder_pos_embed.') == 50_048
    assert count('mask_token') == 384
    cfg = Config.fromfile(osp.join(ROOT, 'configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py'))
    out, report = convert_state_dict(sd, 'act_pretrain')
    check_against_target(out, report, cfg.model.to_dict())
    assert report.errors() == [] and report.not_in_source == []

    official = Official(meta=True)
    sd = official.encoder('', dim=384, depth=12)
    sd.update(official.cls_head(dim=384, classes=15))
    assert sum(v.numel() for k, v in sd.items() if not k.endswith(
        ('running_mean', 'running_var', 'num_batches_tracked'))) == 22_093_327
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/act/vit-s_1xb32-coslr-300e_scanobjectnn-hardest.py'))
    out, report = convert_state_dict(sd, 'act_finetune')
    check_against_target(out, report, cfg.model.to_dict())
    assert report.errors() == []
    assert len(report.mapped) == len(sd)


# ---------------------------------------------------------------------------
# every parameter mapped, the project model matched exactly
def test_act_pretrain_maps_every_parameter_and_loads_strictly():
    sd = Official().act_pretrain()
    out, report = convert(sd, 'act_pretrain')
    dropped = {k for k, _ in report.dropped}
    assert dropped == {k for k in sd
                       if k.startswith(('ACT_encoder.lm_head.',
                                        'ACT_encoder.cls_head.'))}
    assert len(report.mapped) + len(dropped) == len(sd)
    assert report.unknown == [] and report.missing == []
    # source names are those of the file, delegated teacher keys included
    pairs = dict(report.mapped)
    assert pairs['ACT_encoder.blocks.blocks.1.attn.qkv.weight'] == (
        'backbone.blocks.1.attn.qkv.weight')
    assert pairs['ACT_decoder.blocks.0.mlp.fc2.bias'] == (
        'neck.blocks.0.mlp.fc2.bias')
    assert pairs['dvae_tokenizer.visual_embed.0.11.attn.qkv.bias'] == (
        'target_generator.transformer.visual_embed.0.11.attn.qkv.bias')
    assert pairs['proj_head.weight'] == 'head.proj.weight'
    for dst, src in ((d, s) for s, d in report.mapped):
        assert out[dst] is sd[src]  # values unchanged
    model = MODELS.build(dict(
        type='ACTPretrainer',
        backbone=backbone_cfg(mask_ratio=0.75),
        neck=dict(type='ACTDecoder', embed_dims=C, depth=2, num_heads=HEADS),
        head=dict(type='ACTDistillHead', in_channels=C, out_channels=32),
        target_generator=teacher_cfg()))
    check_state_dict(model, out, 'converted')
    model.load_state_dict(out, strict=True)
    # only the student: what the fine-tuning configs read
    student, report = convert(sd, 'act_pretrain', parts=['backbone'])
    assert set(student) == {'backbone.' + k
                            for k in model.backbone.state_dict()}
    assert len(report.left_out) == len(out) - len(student)


def test_act_dvae_maps_every_parameter_and_loads_strictly():
    sd = Official().dvae()
    out, report = convert(sd, 'act_dvae')
    assert len(report.mapped) == len(sd) and report.dropped == []
    teacher = MODELS.build(teacher_cfg())
    check_state_dict(teacher, out, 'converted')
    teacher.load_state_dict(out, strict=True)
    assert 'teacher' in report.target[''] or 'Teacher' in report.target['']
    # the teacher inside a Stage II file, the rest reported as dropped
    stage2 = Official().act_pretrain()
    out2, report2 = convert(stage2, 'act_dvae')
    assert set(out2) == set(out)
    assert {k for k, _ in report2.dropped} == {
        k for k in stage2 if not k.startswith('dvae_tokenizer.')}


@pytest.mark.parametrize('hidden', [(256, 256), ()])
def test_act_finetune_maps_every_parameter_and_loads_strictly(hidden):
    """The full / mlp-3 head (Linear, BN, ReLU, Dropout x2, Linear) and
    the linear head (transfer_type: linear) of ACT and Point-MAE."""
    sd = Official().act_finetune(hidden=hidden)
    out, report = convert(sd, 'point_mae_finetune')
    assert report.layout == 'act_finetune'
    assert len(report.mapped) == len(sd) and report.dropped == []
    model = MODELS.build(classifier_cfg(hidden=hidden))
    check_state_dict(model, out, 'converted')
    model.load_state_dict(out, strict=True)


@pytest.mark.parametrize('suffix', ['_cls', ''])
def test_partseg_maps_every_parameter(suffix):
    """ACT's *_cls names and Point-MAE's plain names -> ACTSegmentor's."""
    sd = Official().partseg(suffix=suffix)
    out, report = convert(sd, 'act_partseg')
    assert len(report.mapped) == len(sd) and report.dropped == []
    head = strip(out, 'decode_head.')
    expected = partseg_head_shapes(num_classes=50, in_channels=3 * C,
                                   fp_channels=(4 * C, 1024))
    assert {k: tuple(v.shape) for k, v in head.items()} == expected
    assert out['decode_head.conv_seg.weight'] is sd[f'convs3{suffix}.weight']
    assert not any('cls_token' in k for k in out)
    # the project's segmentor (configs/_base_/models/act_vits_partseg.py)
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/models/act_vits_partseg.py')).model
    cfg.backbone.update(embed_dims=C, num_groups=G, group_size=K)
    cfg.decode_head.update(in_channels=3 * C, fp_channels=(4 * C, 1024))
    model = MODELS.build(cfg)
    check_state_dict(model, out, 'converted')
    model.load_state_dict(out, strict=True)
    # both spellings at once: two sources for one key
    both = OrderedDict(sd)
    both['convs1.weight'] = sd[f'convs1{suffix}.weight']
    both['convs1_cls.weight'] = sd[f'convs1{suffix}.weight']
    _, report = convert_state_dict(both, 'act_partseg')
    assert any('decode_head.convs1.weight' in e and 'convs1_cls.weight' in e
               for e in report.errors())


def test_point_mae_maps_encoder_and_reports_missing_cls_token():
    sd = Official().point_mae()
    out, report = convert(sd, 'point_mae')
    enc = [k for k in sd if k.startswith('MAE_encoder.')]
    assert len(report.mapped) == len(enc)
    assert {k for k, _ in report.dropped} == set(sd) - set(enc)
    assert [k for k, _ in report.not_in_source] == [
        'backbone.cls_pos', 'backbone.cls_token']
    backbone = MODELS.build(backbone_cfg())
    missing, unexpected = backbone.load_state_dict(strip(out, 'backbone.'),
                                                   strict=False)
    assert (sorted(missing), unexpected) == (['cls_pos', 'cls_token'], [])


def test_point_bert_maps_query_encoder():
    sd = Official().point_bert()
    out, report = convert(sd, 'point_bert')
    mapped = {s for s, _ in report.mapped}
    assert mapped == {
        k for k in sd if k.startswith('transformer_q.') and not k.startswith(
            ('transformer_q.mask_token', 'transformer_q.lm_head',
             'transformer_q.cls_head'))}
    assert len(mapped) + len(report.dropped) == len(sd)
    backbone = MODELS.build(backbone_cfg(encoder_dims=32))
    check_state_dict(backbone, strip(out, 'backbone.'), 'converted')
    # fine-tuned Point-BERT: backbone only, the BN-less head reported
    sd = Official().point_bert_finetune()
    out, report = convert(sd, 'point_bert_finetune')
    assert {k for k, _ in report.dropped} == {
        k for k in sd if k.startswith('cls_head_finetune.')}
    assert 'no BatchNorm' in report.dropped[0][1]
    assert all(k.startswith('backbone.') for k in out)


def ref_attention(q, k, v, heads):
    b, n, c = q.shape
    m = k.size(1)
    q, k, v = (t.reshape(b, -1, heads, c // heads).transpose(1, 2)
               for t in (q, k, v))
    attn = ((q @ k.transpose(-2, -1)) * (c // heads)**-0.5).softmax(dim=-1)
    assert attn.shape == (b, heads, n, m)
    return (attn @ v).transpose(1, 2).reshape(b, n, c)


def ref_mlp(x, sd, p):
    h = F.gelu(F.linear(x, sd[p + 'fc1.weight'], sd[p + 'fc1.bias']))
    return F.linear(h, sd[p + 'fc2.weight'], sd[p + 'fc2.bias'])


def ref_recon_block(x, sd, p, heads, q=3):
    """ReCon's Block(with_contrast=True): the first q tokens cross-attend
    to the normalised point tokens, which self-attend; residuals on the
    normalised tokens."""
    c = x.size(-1)
    cls = ref_ln(x[:, :q], sd, p + 'norm1_contrast.')
    vis = ref_ln(x[:, q:], sd, p + 'norm1.')
    kv = F.linear(vis, sd[p + 'attn_contrast.kv.weight'])
    cross = ref_attention(F.linear(cls, sd[p + 'attn_contrast.q.weight']),
                          kv[..., :c], kv[..., c:], heads)
    cls = cls + F.linear(cross, sd[p + 'attn_contrast.proj.weight'],
                         sd[p + 'attn_contrast.proj.bias'])
    qkv = F.linear(vis, sd[p + 'attn.qkv.weight'])
    own = ref_attention(qkv[..., :c], qkv[..., c:2 * c], qkv[..., 2 * c:],
                        heads)
    vis = vis + F.linear(own, sd[p + 'attn.proj.weight'],
                         sd[p + 'attn.proj.bias'])
    cls = ref_ln(cls, sd, p + 'norm2_contrast.')
    vis = ref_ln(vis, sd, p + 'norm2.')
    cls = cls + ref_mlp(cls, sd, p + 'mlp_contrast.')
    vis = vis + ref_mlp(vis, sd, p + 'mlp.')
    return torch.cat([cls, vis], dim=1)


def ref_recon_encoder(sd, p, hood, center):
    """ReCon PointTransformer.forward up to concat_f: [cls, img, text,
    max-pool] (B, 4C), and the normed point tokens."""
    x = ref_mini_pointnet(sd, p + 'encoder.', hood)
    b = x.size(0)
    names = ('cls', 'img', 'text')
    x = torch.cat([sd[f'{p}{n}_token'].expand(b, -1, -1) for n in names] +
                  [x], dim=1)
    pos = torch.cat([sd[f'{p}{n}_pos'].expand(b, -1, -1) for n in names] +
                    [ref_mlp_pos(sd, p + 'pos_embed.', center)], dim=1)
    for i in range(DEPTH):
        x = ref_recon_block(x + pos, sd, f'{p}blocks.blocks.{i}.', HEADS)
    x = ref_ln(x, sd, p + 'norm.')
    feat = torch.cat([x[:, 0], x[:, 1], x[:, 2], x[:, 3:].max(1)[0]], -1)
    return feat, x[:, 3:]


def recon_classifier_cfg():
    cfg = classifier_cfg()
    cfg['backbone']['type'] = 'ReConPointTransformer'
    cfg['head']['cls_channels'] = 3 * C
    return cfg


@torch.no_grad()
def test_recon_finetuned_maps_every_parameter_and_matches_its_forward():
    sd = Official(7).recon_finetune()
    out, report = convert(sd, 'recon')
    assert len(out) == len(sd) and report.dropped == []
    model = MODELS.build(recon_classifier_cfg())
    model.load_state_dict(out, strict=True)
    model.eval()
    pts = points(7)
    hood, center = _project_groups(model.backbone, pts)
    feats = model.backbone(pts)
    feat, tokens = ref_recon_encoder(sd, '', hood, center)
    torch.testing.assert_close(feats['tokens'][-1], tokens, rtol=0,
                               atol=1e-5)
    torch.testing.assert_close(
        model.head.pool(feats['tokens'][-1], feats['cls_tokens'][-1]), feat,
        rtol=0, atol=1e-5)
    logits = ref_cls_head(sd, feat)
    got = model(dict(points=list(pts)), mode='tensor')
    torch.testing.assert_close(got, logits, rtol=0, atol=1e-5)
    # the ACT block would compute another function on the same weights
    assert (ref_encoder(strip_recon(sd), '', hood, center)[0] -
            tokens).abs().max() > 1e-2
    # the README's recipe: the ScanObjectNN config with the ReCon backbone
    # and head has exactly the converted keys (full width, 1152 = 3 x 384)
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/act/vit-s_1xb32-coslr-300e_scanobjectnn-hardest.py'))
    cfg.merge_from_dict({'model.backbone.type': 'ReConPointTransformer',
                         'model.head.cls_channels': 1152,
                         'model.backbone.init_cfg': None})
    full = MODELS.build(cfg.model)

    def names(keys):  # 12 blocks there, DEPTH here
        return {re.sub(r'blocks\.\d+\.', 'blocks.N.', k) for k in keys}

    assert names(full.state_dict()) == names(out)
    assert full.head.mlp[0].in_features == 4 * 384


def strip_recon(sd):
    """The keys an ACT encoder reads, from a ReCon state dict."""
    return {k: v for k, v in sd.items()
            if '_contrast' not in k and not k.startswith(('img_', 'text_'))}


@torch.no_grad()
def test_recon_pretraining_maps_the_encoder_and_names_what_it_drops():
    sd = Official(8).recon_pretrain()
    assert detect_layout(sd) == 'recon'
    out, report = convert(sd, 'recon')
    encoder = [k for k in sd if k.startswith('MAE_encoder.')]
    assert sorted(out) == sorted('backbone.' + k[len('MAE_encoder.'):]
                                 .replace('blocks.blocks.', 'blocks.')
                                 for k in encoder)
    dropped = {k: why for k, why in report.dropped}
    assert set(dropped) == set(sd) - set(encoder)
    assert 'pretraining only' in dropped['MAE_decoder.norm.weight']
    assert 'teachers' in dropped['img_encoder.visual.proj.weight']
    backbone = MODELS.build(dict(backbone_cfg(), type='ReConPointTransformer'))
    backbone.load_state_dict(strip(out, 'backbone.'), strict=True)
    backbone.eval()
    pts = points(8)
    hood, center = _project_groups(backbone, pts)
    _, tokens = ref_recon_encoder(sd, 'MAE_encoder.', hood, center)
    torch.testing.assert_close(backbone(pts)['tokens'][-1], tokens, rtol=0,
                               atol=1e-5)


def test_recon_file_given_as_another_layout_is_refused():
    for sd, layout in ((Official().recon(), 'point_mae'),
                       (Official().recon_finetune(), 'act_finetune')):
        with pytest.raises(CheckpointConversionError) as err:
            convert_state_dict(sd, layout, source='recon.pth')
        msg = str(err.value)
        assert 'recon.pth' in msg and 'attn_contrast' in msg
        assert '--from recon' in msg


def test_recon_backbone_trains_and_freezes_its_queries():
    torch.manual_seed(0)
    model = MODELS.build(recon_classifier_cfg())
    model.init_weights()
    model.train()
    backbone = model.backbone
    assert backbone.img_token.std() > 0  # trunc-normal, not zeros
    feats = backbone(points(1))
    assert feats['cls_tokens'][-1].shape == (2, 3 * C)
    out = model.head(feats)
    out.sum().backward()
    for name in ('cls_token', 'img_token', 'text_token', 'img_pos'):
        assert getattr(backbone, name).grad.abs().sum() > 0, name
    # through the cross-attention the queries' gradient reaches the point
    # tokens (fine-tuning); ReCon pretraining detaches them
    for grad in (True, False):
        net = MODELS.build(dict(backbone_cfg(), type='ReConPointTransformer',
                                contrast_grad=grad))
        net(points(1))['cls_tokens'][-1].sum().backward()
        enc = net.encoder.second_conv[3].weight.grad
        assert (enc is not None and enc.abs().sum() > 0) == grad
    frozen = MODELS.build(dict(backbone_cfg(), type='ReConPointTransformer',
                               frozen_stages=0))
    assert not any(getattr(frozen, n).requires_grad for pair in
                   frozen.prefix_tokens for n in pair)


# ---------------------------------------------------------------------------
# numerical equivalence with the re-stated reference forward passes
def _project_groups(model, pts):
    groups = model.group(pts)
    hood, center, idx = ref_group(pts)
    assert torch.equal(groups.center_idx, idx)  # same FPS, start 0
    assert torch.allclose(groups.centers, center)
    return hood, center


@torch.no_grad()
def test_finetuned_classifier_matches_reference_forward():
    sd = Official(1).act_finetune()
    out, _ = convert(sd, 'act_finetune')
    model = MODELS.build(classifier_cfg())
    model.load_state_dict(out, strict=True)
    model.eval()
    pts = points(1)
    hood, center = _project_groups(model.backbone, pts)
    feats = model.backbone(pts)
    tokens, cls = ref_encoder(sd, '', hood, center)
    torch.testing.assert_close(feats['tokens'][-1], tokens, rtol=0,
                               atol=1e-5)
    torch.testing.assert_close(feats['cls_tokens'][-1], cls, rtol=0,
                               atol=1e-5)
    logits = ref_cls_head(sd, torch.cat([cls, tokens.max(1)[0]], -1))
    got = model(dict(points=list(pts)), mode='tensor')
    torch.testing.assert_close(got, logits, rtol=0, atol=1e-5)


@torch.no_grad()
def test_inferred_backbone_uses_the_reference_fps_rule():
    """The backbone inferred for a converted checkpoint skips points with
    |p|^2 <= 1e-3 as the reference CUDA FPS does: on a cloud with points
    near the origin its centres are the reference's."""
    sd = Official(1).act_finetune()
    out, report = convert(sd, 'act_finetune')
    cfg = infer_backbone_cfg(out)
    assert cfg['fps_skip_near_origin'] is True
    assert 'fps_skip_near_origin=True' in report.target['backbone']
    model = MODELS.build(dict(cfg, num_groups=G, group_size=K)).eval()
    model.load_state_dict(strip(out, 'backbone.'), strict=True)
    pts = points(1)
    pts[:, 1:40] *= 0.01  # |p|^2 <= 3e-4: never a reference centre
    _project_groups(model, pts)


@torch.no_grad()
def test_point_bert_backbone_matches_reference_forward():
    """The 32-wide mini-PointNet + reduce_dim of Point-BERT's encoder."""
    sd = Official(2).point_bert()
    out, _ = convert(sd, 'point_bert')
    model = MODELS.build(backbone_cfg(encoder_dims=32)).eval()
    model.load_state_dict(strip(out, 'backbone.'), strict=True)
    pts = points(2)
    hood, center = _project_groups(model, pts)
    feats = model(pts)
    tokens, cls = ref_encoder(sd, 'transformer_q.', hood, center)
    torch.testing.assert_close(feats['tokens'][-1], tokens, rtol=0,
                               atol=1e-5)
    torch.testing.assert_close(feats['cls_tokens'][-1], cls, rtol=0,
                               atol=1e-5)


@torch.no_grad()
def test_point_mae_encoder_matches_reference_forward():
    """Point-MAE's MaskTransformer (no cls token), unmasked."""
    sd = Official(3).point_mae()
    out, _ = convert(sd, 'point_mae')
    model = MODELS.build(backbone_cfg(with_cls_token=False)).eval()
    model.load_state_dict(strip(out, 'backbone.'), strict=True)
    pts = points(3)
    hood, center = _project_groups(model, pts)
    tokens, _ = ref_encoder(sd, 'MAE_encoder.', hood, center, cls=False)
    torch.testing.assert_close(model(pts)['tokens'][-1], tokens, rtol=0,
                               atol=1e-5)


@torch.no_grad()
def test_act_pretrain_student_and_decoder_match_reference_forward():
    """ACT_PointDistillation.forward up to the projection: visible tokens
    of the student, the decoder over [visible; mask tokens], proj_head."""
    sd = Official(4).act_pretrain()
    out, _ = convert(sd, 'act_pretrain')
    backbone = MODELS.build(backbone_cfg(mask_ratio=0.75)).eval()
    neck = MODELS.build(dict(type='ACTDecoder', embed_dims=C, depth=2,
                             num_heads=HEADS)).eval()
    head = MODELS.build(dict(type='ACTDistillHead', in_channels=C,
                             out_channels=32)).eval()
    for part, module in (('backbone', backbone), ('neck', neck),
                         ('head', head)):
        module.load_state_dict(strip(out, part + '.'), strict=True)
    pts = points(4)
    hood, center = _project_groups(backbone, pts)
    mask = torch.zeros(2, G, dtype=torch.bool)
    mask[0, [1, 3, 4, 8, 9, 10, 12, 15, 0, 2, 5, 6]] = True
    mask[1, :12] = True
    feats = backbone(pts, mask=mask)
    vis, _ = ref_encoder(sd, 'ACT_encoder.', hood, center, mask=mask)
    torch.testing.assert_close(feats['tokens'][-1], vis, rtol=0, atol=1e-5)
    # the reference decoder
    b, m = 2, int(mask[0].sum())
    pos = torch.cat([
        ref_mlp_pos(sd, 'decoder_pos_embed.', center[~mask].reshape(b, -1, 3)),
        ref_mlp_pos(sd, 'decoder_pos_embed.', center[mask].reshape(b, m, 3))
    ], 1)
    x = torch.cat([vis, sd['mask_token'].expand(b, m, -1)], 1)
    for i in range(2):
        x = ref_block(x + pos, sd, f'ACT_decoder.blocks.{i}.', HEADS)
    x = ref_ln(x[:, -m:], sd, 'ACT_decoder.norm.')
    ref = F.linear(x, sd['proj_head.weight'], sd['proj_head.bias'])
    got = head(neck(feats['tokens'][-1], feats['centers'], mask))
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-5)


@torch.no_grad()
def test_partseg_backbone_matches_reference_forward():
    """get_model's encoder: no cls token, blocks 3, 7, 11 through norm."""
    sd = Official(5).partseg(depth=12)
    out, _ = convert(sd, 'act_partseg')
    model = MODELS.build(backbone_cfg(
        depth=12, with_cls_token=False, out_indices=(3, 7, 11),
        norm_all_outputs=True)).eval()
    model.load_state_dict(strip(out, 'backbone.'), strict=True)
    pts = points(5)
    hood, center = _project_groups(model, pts)
    ref = ref_encoder(sd, '', hood, center, cls=False, fetch=(3, 7, 11))
    got = model(pts)['tokens']
    assert len(got) == 3
    for g, r in zip(got, ref):
        torch.testing.assert_close(g, r, rtol=0, atol=1e-5)


@torch.no_grad()
def test_teacher_prompted_vit_matches_reference_forward():
    """visual_embedding_deep_prompt of the Stage I teacher."""
    sd = Official(6).dvae()
    out, _ = convert(sd, 'act_dvae')
    teacher = MODELS.build(teacher_cfg()).eval()
    teacher.load_state_dict(out, strict=True)
    gen = torch.Generator().manual_seed(6)
    tokens = torch.randn(2, G, 32, generator=gen)
    center = torch.rand(2, G, 3, generator=gen)
    got = teacher.transformer(tokens, center)
    torch.testing.assert_close(got, ref_prompted_vit(sd, tokens, center),
                               rtol=0, atol=1e-5)
    # the reference's forward_tokenizer: argmax codes of dgcnn_1 logits
    logits = teacher.encode_logits(teacher.grouper(points(6)))
    assert logits.shape == (2, G, 64)


# ---------------------------------------------------------------------------
# the command line tool
def _sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_cli_writes_loadable_checkpoint_and_never_touches_src(
        tmp_path, capsys):
    sd = Official(7).act_finetune()
    src = save(dict(base_model={'module.' + k: v for k, v in sd.items()},
                    epoch=299, metrics=dict(acc=91.5), optimizer={}),
               tmp_path / 'official.pth')
    digest, mtime = _sha(src), os.stat(src).st_mtime_ns
    dst = str(tmp_path / 'out' / 'converted.pth')
    assert cli.main([src, dst, '--from', 'auto']) == 0
    text = capsys.readouterr().out
    assert 'layout act_finetune' in text and f'mapped: {len(sd)}' in text
    assert 'missing: 0' in text and f'written: {dst}' in text
    assert _sha(src) == digest and os.stat(src).st_mtime_ns == mtime
    assert os.listdir(tmp_path / 'out') == ['converted.pth']  # no temp file
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['source_sha256'] == digest
    assert ckpt['meta']['source_layout'] == 'act_finetune'
    assert ckpt['meta']['source_info']['epoch'] == 299
    # load_from (mmengine) ...
    from mmengine.runner import load_checkpoint
    model = MODELS.build(classifier_cfg())
    load_checkpoint(model, dst, strict=True)
    assert torch.equal(model.backbone.blocks[1].attn.qkv.weight,
                       sd['blocks.blocks.1.attn.qkv.weight'])
    assert torch.equal(model.head.mlp[8].bias, sd['cls_head_finetune.8.bias'])
    # ... and init_cfg=dict(type='Pretrained', prefix='backbone.')
    backbone = MODELS.build(backbone_cfg(init_cfg=dict(
        type='Pretrained', checkpoint=dst, prefix='backbone.')))
    backbone.init_weights()
    assert torch.equal(backbone.cls_token, sd['cls_token'])
    assert torch.equal(backbone.encoder.second_conv[1].running_var,
                       sd['encoder.second_conv.1.running_var'])
    # an existing DST needs --force; DST may never be SRC
    before = _sha(dst)
    assert cli.main([src, dst, '--from', 'act_finetune']) == 2
    assert 'pass --force' in capsys.readouterr().err
    assert _sha(dst) == before
    assert cli.main([src, src, '--from', 'act_finetune', '--force']) == 2
    assert 'never modified' in capsys.readouterr().err
    assert _sha(src) == digest
    assert cli.main([src, dst, '--from', 'act_finetune', '--force']) == 0


def test_cli_checks_against_a_config(tmp_path, capsys):
    """--config: the ModelNet40 fine-tuning model (ViT-S, 40 classes) is
    not this 48-wide, 5-class checkpoint: shapes named, nothing written."""
    src = save(dict(base_model=Official().act_finetune()),
               tmp_path / 'small.pth')
    dst = str(tmp_path / 'out.pth')
    assert cli.main([src, dst, '--from', 'act_finetune', '--config',
                     osp.join(ROOT, 'configs/act/vit-s_1xb32-coslr-300e_modelnet40.py')
                     ]) == 1
    err = capsys.readouterr().err
    assert 'small.pth' in err and 'shape mismatches' in err
    assert 'backbone.blocks.0.attn.qkv.weight: file (144, 48) vs model ' \
        '(1152, 384)' in err
    assert '110 keys of the project model missing from the file: ' \
        'backbone.blocks.10.attn.proj.bias (official name ' \
        'blocks.blocks.10.attn.proj.bias)' in err  # 10 blocks
    assert not osp.exists(dst)


def test_errors_name_the_file_and_the_keys(tmp_path):
    official = Official()
    sd = official.act_pretrain()
    # truncated file
    good = save(dict(base_model=sd), tmp_path / 'good.pth')
    with open(good, 'rb') as f:
        data = f.read()
    bad = tmp_path / 'truncated.pth'
    bad.write_bytes(data[:len(data) // 3])
    with pytest.raises(CheckpointConversionError,
                       match=r'truncated\.pth: cannot be read.*truncated'):
        convert_checkpoint(str(bad), 'act_pretrain')
    # the wrong layout: the right one suggested
    with pytest.raises(CheckpointConversionError,
                       match=r'good\.pth: not a point_mae checkpoint.*'
                       'try --from act_pretrain'):
        convert_checkpoint(good, 'point_mae')
    # a missing tensor: named with its source name
    part = OrderedDict(sd)
    del part['ACT_encoder.blocks.blocks.1.mlp.fc1.bias']
    path = save(dict(base_model=part), tmp_path / 'partial.pth')
    with pytest.raises(CheckpointConversionError,
                       match=r'(?s)partial\.pth.*missing from the file: '
                       r'backbone\.blocks\.1\.mlp\.fc1\.bias \(official '
                       r'name ACT_encoder\.blocks\.blocks\.1\.mlp\.fc1\.bias'):
        convert_checkpoint(path, 'act_pretrain')
    # a missing block
    part = OrderedDict((k, v) for k, v in sd.items()
                       if '.blocks.blocks.0.' not in k)
    path = save(dict(base_model=part), tmp_path / 'noblock.pth')
    with pytest.raises(CheckpointConversionError,
                       match=r'(?s)noblock\.pth.*backbone blocks \[0\] '
                       'missing'):
        convert_checkpoint(path, 'act_pretrain')
    # a wrong shape
    part = OrderedDict(sd)
    part['ACT_encoder.norm.weight'] = torch.ones(C + 1)
    path = save(dict(base_model=part), tmp_path / 'shape.pth')
    with pytest.raises(CheckpointConversionError,
                       match=r'(?s)shape\.pth.*backbone\.norm\.weight: file '
                       r'\(49,\) vs model \(48,\)'):
        convert_checkpoint(path, 'act_pretrain')
    # an unknown key (e.g. another variant): named; --allow-unknown drops it
    part = OrderedDict(sd)
    part['ACT_encoder.blocks.blocks.0.attn.rel_pos'] = torch.zeros(3)
    path = save(dict(base_model=part), tmp_path / 'extra.pth')
    with pytest.raises(CheckpointConversionError,
                       match=r'(?s)extra\.pth.*unknown to the act_pretrain '
                       r'layout: ACT_encoder\.blocks\.blocks\.0\.attn\.'
                       'rel_pos'):
        convert_checkpoint(path, 'act_pretrain')
    ckpt, report = convert_checkpoint(path, 'act_pretrain',
                                      allow_unknown=True)
    assert len(ckpt['state_dict']) == len(report.mapped)
    # not a checkpoint at all
    path = save(dict(epoch=1, optimizer={}), tmp_path / 'noweights.pth')
    with pytest.raises(CheckpointConversionError,
                       match=r'noweights\.pth: no state dict'):
        convert_checkpoint(path, 'auto')
    # the source files were never modified
    assert torch.load(good, weights_only=True)['base_model'].keys() == \
        sd.keys()


def test_old_cli_path_says_where_it_moved():
    proc = subprocess.run(
        [sys.executable, 'tools/convert_checkpoint.py', 'a.pth', 'b.pth',
         '--from', 'auto'], cwd=ROOT, capture_output=True, text=True,
        timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ('tools/convert_checkpoint.py moved to '
                                   'tools/model_converters/'
                                   'convert_checkpoint.py')


def test_every_layout_is_documented():
    with open(osp.join(ROOT, 'docs', 'model_zoo.md')) as f:
        zoo = f.read()
    for name in LAYOUTS:
        assert f'--from {name}' in zoo, name
    assert 'not verified here' in zoo


# ---------------------------------------------------------------------------
# a converted checkpoint fine-tunes through tools/train.py
def test_converted_checkpoint_finetunes_with_load_from(tmp_path):
    """The demo ModelNet40 run (2 blocks) from a converted ACT fine-tuned
    checkpoint: load_from loads it, and with the whole backbone frozen
    (frozen_stages=2: parameters and BatchNorm statistics fixed) the saved
    backbone equals the converted one exactly while the head trains."""
    official = Official(8)
    sd = official.encoder('', dim=384)
    sd.update(official.cls_head(dim=384, classes=10))  # the demo's
    src = save(dict(base_model=sd), tmp_path / 'act_scan.pth')
    dst = str(tmp_path / 'converted.pth')
    assert cli.main([src, dst, '--from', 'act_finetune']) == 0
    work = tmp_path / 'work'
    cmd = [
        sys.executable, 'tools/train.py',
        'configs/demo/vit-s_1xb16-coslr-6e_modelnet40-demo.py', '--work-dir', str(work),
        '--cfg-options', f'load_from={dst}', 'model.backbone.depth=2',
        'model.backbone.frozen_stages=2', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=10', 'train_dataloader.batch_size=4',
        'train_dataloader.dataset.indices=8',
        'default_hooks.logger.interval=1'
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert f'Load checkpoint from {dst}' in log
    saved = torch.load(work / 'epoch_1.pth', weights_only=False)['state_dict']
    converted = torch.load(dst, weights_only=True)['state_dict']
    for key, value in converted.items():
        if key.startswith('backbone.'):
            assert torch.equal(saved[key], value), key
    assert not torch.equal(saved['head.mlp.0.weight'],
                           converted['head.mlp.0.weight'])  # it trained
