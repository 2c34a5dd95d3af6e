"""Convert checkpoints of the reference code bases to this project's modules.

The reference code bases (``RunpeiDong/ACT``, ``Pang-Yatian/Point-MAE``,
``lulutang0608/Point-BERT``, ``qizekun/ReCon``) save ``torch.save`` dicts
with the model's state dict under ``base_model`` (part segmentation:
``model_state_dict``), sometimes with a ``module.`` prefix. Each source
layout is a table of rules in its own module of this package
(:data:`LAYOUTS`); a rule maps the source keys its regular expression
matches fully to a project key, or drops them with the reason they have no
counterpart here. Values are copied unchanged: every mapped tensor has the
same shape in both code bases (the checks below verify it).

This module is the machinery: reading a file, applying a layout's rules,
the :class:`ConversionReport`, and the project model the result is checked
against (inferred from the converted shapes, or a config's). Use
:func:`convert_checkpoint` (a file) or :func:`convert_state_dict` (a state
dict) and :func:`check_against_target` (missing / unexpected keys and
shapes against the project model, built on the ``meta`` device: nothing is
allocated). Converted backbones use the reference CUDA FPS rule
(``fps_skip_near_origin=True``).
"""
import copy
import hashlib
import logging
import os.path as osp
import re
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

from . import (act_dvae, act_finetune, act_partseg, act_pretrain, point_bert,
               point_bert_finetune, point_mae, recon)
from .rules import SEG_CLASSIFIER, Layout

__all__ = [
    'PARTS', 'LAYOUTS', 'ALIASES', 'SOURCES', 'CheckpointConversionError',
    'ConversionReport', 'get_layout', 'load_source_checkpoint',
    'unwrap_state_dict', 'detect_layout', 'convert_state_dict',
    'infer_backbone_cfg', 'infer_cls_head_cfg', 'infer_teacher_cfg',
    'infer_seg_head_cfg', 'target_shapes', 'check_against_target',
    'convert_checkpoint'
]

#: project model parts (top-level attribute names) a converted key may
#: start with; a key outside them belongs to a whole-model target (the
#: Stage I teacher)
PARTS = ('backbone', 'neck', 'head', 'decode_head', 'target_generator')


class CheckpointConversionError(ValueError):
    """A source checkpoint that cannot be converted (message names the file
    and the offending keys)."""


#: every source layout by its ``--from`` name
LAYOUTS: Dict[str, Layout] = {
    module.LAYOUT.name: module.LAYOUT
    for module in (act_pretrain, act_dvae, act_finetune, act_partseg,
                   point_mae, point_bert, point_bert_finetune, recon)
}
#: the same code (and key names) under another project's name
ALIASES = {
    'point_mae_finetune': 'act_finetune',
    'point_mae_partseg': 'act_partseg',
}
SOURCES = tuple(LAYOUTS) + tuple(ALIASES)


def get_layout(name: str) -> Layout:
    """The :class:`Layout` named ``name`` (or an alias)."""
    name = ALIASES.get(name, name)
    if name not in LAYOUTS:
        raise KeyError(f'unknown source layout {name!r}, expected one of '
                       f'{", ".join(SOURCES)} (or auto)')
    return LAYOUTS[name]


# ---------------------------------------------------------------------------
# reading a source file
#: where the reference code bases (and mmengine) keep the state dict
CONTAINER_KEYS = ('base_model', 'model_state_dict', 'state_dict', 'model')


def _fmt(keys: Sequence[str], show: int = 8) -> str:
    keys = list(keys)
    more = f' ... ({len(keys)} in all)' if len(keys) > show else ''
    return ', '.join(keys[:show]) + more


def load_source_checkpoint(path: str, trust_pickle: bool = False) -> dict:
    """``torch.load`` a source file on the CPU, read-only.

    Loads with ``weights_only=True`` (no code runs); a file that holds other
    pickled objects needs ``trust_pickle=True``.

    Raises:
        FileNotFoundError: no such file.
        CheckpointConversionError: unreadable (truncated, not a torch file)
            or unsafe to unpickle.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    try:
        return torch.load(path, map_location='cpu',
                          weights_only=not trust_pickle)
    except Exception as e:  # noqa: BLE001 - reported with the file name
        msg = f'{type(e).__name__}: {e}'.splitlines()[0][:300]
        if not trust_pickle and 'weights_only' in str(e):
            raise CheckpointConversionError(
                f'{path}: holds pickled objects other than tensors and '
                f'containers ({msg}). Pass --trust-pickle (weights_only='
                'False) only if you trust where the file comes from') from e
        raise CheckpointConversionError(
            f'{path}: cannot be read as a torch checkpoint ({msg}); is the '
            'file truncated (an interrupted download) or not a .pth?') from e


def unwrap_state_dict(obj, path: str = '<state dict>'
                      ) -> Tuple['OrderedDict[str, Tensor]', dict]:
    """The state dict inside an official checkpoint, prefixes stripped.

    Looks under ``base_model`` (ACT / Point-MAE / Point-BERT / ReCon),
    ``model_state_dict`` (their part segmentation), ``state_dict``
    (mmengine) and ``model``, else takes ``obj`` itself; strips a leading
    ``module.`` (DataParallel) and ``base_model.`` as the reference loaders
    do.

    Returns:
        tuple: the state dict and an info dict (``container``,
        ``stripped``, and the file's ``epoch`` / ``metrics`` when present).
    """
    if not isinstance(obj, Mapping):
        raise CheckpointConversionError(
            f'{path}: expected a dict checkpoint, got {type(obj).__name__}')
    info: dict = dict(container=None, stripped=[])
    state = None
    for key in CONTAINER_KEYS:
        if isinstance(obj.get(key), Mapping):
            state, info['container'] = obj[key], key
            break
    if state is None:
        if obj and all(isinstance(v, Tensor) for v in obj.values()):
            state = obj
        else:
            raise CheckpointConversionError(
                f'{path}: no state dict found under '
                f'{" / ".join(CONTAINER_KEYS)}; top-level keys: '
                f'{_fmt([str(k) for k in obj])}')
    for key in ('epoch', 'metrics', 'best_metrics', 'class_avg_iou',
                'inctance_avg_iou', 'test_acc'):
        value = obj.get(key) if state is not obj else None
        if _plain(value):
            info[key] = _to_plain(value)
    bad = [str(k) for k, v in state.items()
           if not isinstance(k, str) or not isinstance(v, Tensor)]
    if bad:
        raise CheckpointConversionError(
            f'{path}: the state dict holds non-tensor entries: {_fmt(bad)}')
    out = OrderedDict(state.items())
    for prefix in ('module.', 'base_model.'):
        if any(k.startswith(prefix) for k in out):
            out = OrderedDict(
                (k[len(prefix):] if k.startswith(prefix) else k, v)
                for k, v in out.items())
            info['stripped'].append(prefix)
    if not out:
        raise CheckpointConversionError(f'{path}: the state dict is empty')
    return out, info


def _plain(value) -> bool:
    if isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, Tensor):
        return value.numel() == 1
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _to_plain(value):
    """Tensors -> numbers so the meta loads with ``weights_only=True``."""
    if isinstance(value, Tensor):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_plain(v) for k, v in value.items()}
    return value


def detect_layout(keys: Iterable[str]) -> Optional[str]:
    """The layout whose markers the keys match (most specific first)."""
    keys = list(keys)
    order = ('recon', 'act_pretrain', 'point_mae', 'point_bert', 'act_dvae',
             'act_partseg', 'point_bert_finetune', 'act_finetune')
    for name in order:
        markers = LAYOUTS[name].markers
        hits = [any(re.fullmatch(m, k) for k in keys) for m in markers]
        if all(hits) if LAYOUTS[name].all_markers else any(hits):
            return name
    return None


# ---------------------------------------------------------------------------
# conversion
@dataclass
class ConversionReport:
    """What a conversion did; ``errors()`` lists what makes it unusable.

    Attributes:
        layout (str): the source layout.
        source (str): the source file (or ``'<state dict>'``).
        mapped (list[tuple[str, str]]): (source key, project key).
        dropped (list[tuple[str, str]]): (source key, reason): known keys
            without a counterpart.
        unknown (list[str]): source keys no rule of the layout knows.
        duplicates (list[tuple[str, list[str]]]): project keys that several
            source keys map to.
        missing (list[str]): project keys of a converted part that the
            result lacks.
        not_in_source (list[tuple[str, str]]): (project key, reason): keys
            the source lacks by design (initialised by the model).
        unexpected (list[str]): result keys the project model does not have.
        shape_mismatches (list[str]): ``key: file (..) vs model (..)``.
        left_out (list[str]): project keys left out by ``parts``.
        target (dict): the project modules checked against, per part.
    """
    layout: str
    source: str = '<state dict>'
    mapped: List[Tuple[str, str]] = field(default_factory=list)
    dropped: List[Tuple[str, str]] = field(default_factory=list)
    unknown: List[str] = field(default_factory=list)
    duplicates: List[Tuple[str, List[str]]] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    not_in_source: List[Tuple[str, str]] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    shape_mismatches: List[str] = field(default_factory=list)
    left_out: List[str] = field(default_factory=list)
    target: Dict[str, str] = field(default_factory=dict)

    def source_of(self, key: str) -> Optional[str]:
        """The source key mapped to project key ``key``."""
        for src, dst in self.mapped:
            if dst == key:
                return src
        return None

    def expected_source(self, key: str) -> Optional[str]:
        """The official name a missing project key would have had, guessed
        from the mapped key nearest to it (same prefix rewrite)."""
        best, best_len = None, 0
        for src, dst in self.mapped:
            n = len(osp.commonprefix([dst, key]))
            if n > best_len:
                best, best_len = (src, dst), n
        if best is None:
            return None
        src, dst = best
        tail = len(osp.commonprefix([src[::-1], dst[::-1]]))
        src_prefix, dst_prefix = src[:len(src) - tail], dst[:len(dst) - tail]
        if not key.startswith(dst_prefix):
            return None
        return src_prefix + key[len(dst_prefix):]

    def errors(self) -> List[str]:
        """Problems that make the result unusable, one line each."""
        errs = []
        if self.unknown:
            errs.append(f'{len(self.unknown)} source keys unknown to the '
                        f'{self.layout} layout: {_fmt(self.unknown)}')
        for dst, srcs in self.duplicates:
            errs.append(f'{dst} would come from several source keys: '
                        f'{", ".join(srcs)}')
        if self.missing:
            named = [f'{k} (official name {self.expected_source(k)})'
                     if self.expected_source(k) else k for k in self.missing]
            errs.append(f'{len(self.missing)} keys of the project model '
                        f'missing from the file: {_fmt(named)}')
        if self.unexpected:
            named = [f'{k} (from {self.source_of(k)})' for k in
                     self.unexpected]
            errs.append(f'{len(self.unexpected)} converted keys the project '
                        f'model does not have: {_fmt(named)}')
        if self.shape_mismatches:
            errs.append(f'{len(self.shape_mismatches)} shape mismatches: '
                        f'{_fmt(self.shape_mismatches)}')
        return errs

    def raise_for_errors(self, hint: str = ''):
        """Raise :class:`CheckpointConversionError` listing ``errors()``."""
        errs = self.errors()
        if errs:
            raise CheckpointConversionError(
                f'{self.source}: cannot convert as {self.layout}:\n  - ' +
                '\n  - '.join(errs) + (f'\n{hint}' if hint else ''))

    def summary(self) -> str:
        """A readable multi-line summary."""
        lines = [f'source: {self.source} (layout {self.layout})']
        per_part = defaultdict(int)
        for _, dst in self.mapped:
            per_part[_part_of(dst) or '<model>'] += 1
        parts = ', '.join(f'{p} {n}' for p, n in per_part.items())
        lines.append(f'mapped: {len(self.mapped)} tensors ({parts})')
        for part, desc in self.target.items():
            lines.append(f'  {part or "<model>"} -> {desc}')
        by_reason = defaultdict(list)
        for key, reason in self.dropped:
            by_reason[reason].append(key)
        lines.append(f'unmapped (no counterpart, dropped): '
                     f'{len(self.dropped)}')
        for reason, keys in by_reason.items():
            lines.append(f'  {_fmt(keys, 4)}: {reason}')
        if self.left_out:
            lines.append(f'left out (--parts): {len(self.left_out)} '
                         f'[{_fmt(self.left_out, 4)}]')
        by_reason = defaultdict(list)
        for key, reason in self.not_in_source:
            by_reason[reason].append(key)
        lines.append('not in the source (the model initialises them): '
                     f'{len(self.not_in_source)}')
        for reason, keys in by_reason.items():
            lines.append(f'  {", ".join(keys)}: {reason}')
        lines.append(f'unknown source keys: {len(self.unknown)}'
                     + (f' [{_fmt(self.unknown)}]' if self.unknown else ''))
        lines.append(f'missing: {len(self.missing)}'
                     + (f' [{_fmt(self.missing)}]' if self.missing else ''))
        if self.unexpected:
            lines.append(f'unexpected: {_fmt(self.unexpected)}')
        if self.shape_mismatches:
            lines.append(f'shape mismatches: {_fmt(self.shape_mismatches)}')
        return '\n'.join(lines)


def _part_of(key: str) -> str:
    first = key.split('.', 1)[0]
    return first if first in PARTS else ''


def _apply_layout(layout: Layout, state: Mapping[str, Tensor], dst: str,
                  src: str, out: 'OrderedDict[str, Tensor]',
                  report: ConversionReport, sources: Dict[str, List[str]]):
    """Convert ``state`` with ``layout``'s rules into ``out``; ``dst`` /
    ``src`` prefix the project / reported source keys (delegation)."""
    keep = layout.keep_prefix
    if keep and any(k.startswith(keep) for k in state):
        for key in state:
            if not key.startswith(keep):
                report.dropped.append(
                    (src + key, f'not part of {keep[:-1]} (the other '
                     'modules of the file)'))
        state = {k[len(keep):]: v for k, v in state.items()
                 if k.startswith(keep)}
        src += keep
    for pattern, reason in layout.unsupported:
        hits = [src + k for k in state if re.fullmatch(pattern, k)]
        if hits:
            raise CheckpointConversionError(
                f'{report.source}: cannot convert as {report.layout}: keys '
                f'{_fmt(hits, 4)}: {reason}')
    for key, value in state.items():
        for rule in layout.rules:
            match = re.fullmatch(rule.pattern, key)
            if match is None:
                continue
            if rule.delegate:
                _apply_layout(LAYOUTS[rule.delegate], {match.group(1): value},
                              dst + rule.target,
                              src + key[:match.start(1)], out, report,
                              sources)
            elif rule.target is None:
                report.dropped.append((src + key, rule.reason))
            else:
                target = dst + match.expand(rule.target)
                sources[target].append(src + key)
                out[target] = value
                report.mapped.append((src + key, target))
            break
        else:
            report.unknown.append(src + key)


def convert_state_dict(state: Mapping[str, Tensor],
                       layout: str,
                       parts: Optional[Sequence[str]] = None,
                       source: str = '<state dict>'
                       ) -> Tuple['OrderedDict[str, Tensor]',
                                  ConversionReport]:
    """Map an official state dict to the project's key names.

    Args:
        state (Mapping): the official state dict (``base_model`` contents,
            see :func:`unwrap_state_dict`).
        layout (str): a name of :data:`LAYOUTS` (or an alias).
        parts (Sequence[str], optional): keep only these project parts
            (e.g. ``['backbone']``); None keeps all.
        source (str): the file name, for messages.

    Returns:
        tuple: the converted ``OrderedDict`` (the same tensors, not copies)
        and a :class:`ConversionReport` with mapped / dropped / unknown keys
        (``missing`` etc. are filled by :func:`check_against_target`).

    Raises:
        CheckpointConversionError: no key matches the layout (wrong
            ``layout``; the message suggests the detected one) or the
            layout cannot be mapped (ReCon, CLIP teachers, ...).
    """
    lay = get_layout(layout)
    report = ConversionReport(layout=lay.name, source=source)
    if not any(re.fullmatch(m, k) for m in lay.markers for k in state):
        guess = detect_layout(state)
        hint = (f'; its keys look like the {guess} layout: try --from {guess}'
                if guess and guess != lay.name else '')
        raise CheckpointConversionError(
            f'{source}: not a {lay.name} checkpoint ({lay.description}): no '
            f'key matches {" or ".join(lay.markers)}{hint}. First keys: '
            f'{_fmt(list(state), 6)}')
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    sources: Dict[str, List[str]] = defaultdict(list)
    _apply_layout(lay, state, '', '', out, report, sources)
    report.duplicates = [(dst, srcs) for dst, srcs in sources.items()
                         if len(srcs) > 1]
    if parts is not None:
        bad = sorted(set(parts) - set(PARTS))
        if bad:
            raise ValueError(f'unknown parts {bad}, expected some of {PARTS}')
        kept = OrderedDict()
        for key, value in out.items():
            if _part_of(key) in parts:
                kept[key] = value
            else:
                report.left_out.append(key)
        if not kept:
            raise CheckpointConversionError(
                f'{source}: nothing of the parts {list(parts)} in this '
                f'{lay.name} checkpoint (it converts to '
                f'{sorted({_part_of(k) or "<model>" for k in out})})')
        out = kept
    return out, report


# ---------------------------------------------------------------------------
# the project model the result is checked against
def _shape(state: Mapping[str, Tensor], keys: Sequence[str], dim: int,
           what: str) -> int:
    """``shape[dim]`` of the first of ``keys`` in ``state``."""
    for key in keys:
        if key in state and state[key].dim() > dim:
            return int(state[key].shape[dim])
    raise CheckpointConversionError(
        f'cannot infer {what}: none of {", ".join(keys)} in the converted '
        'state dict (a truncated file?)')


def _vote(state: Mapping[str, Tensor], keys: Sequence[Tuple[str, int]],
          what: str) -> int:
    """The most common ``shape[dim]`` over (key, dim) pairs: one corrupt
    tensor then shows up as a shape mismatch instead of resizing the
    model."""
    values = [int(state[k].shape[d]) for k, d in keys
              if k in state and state[k].dim() > d]
    if not values:
        raise CheckpointConversionError(
            f'cannot infer {what}: none of {", ".join(k for k, _ in keys)} '
            'in the converted state dict (a truncated file?)')
    return max(set(values), key=values.count)


def _indices(state: Mapping[str, Tensor], prefix: str) -> List[int]:
    pat = re.compile(re.escape(prefix) + r'(\d+)\.')
    return sorted({int(m.group(1)) for k in state
                   for m in [pat.match(k)] if m})


def _depth(state: Mapping[str, Tensor], prefix: str, what: str) -> int:
    idx = _indices(state, prefix)
    if not idx:
        raise CheckpointConversionError(f'no {what} ({prefix}N.*) found')
    gaps = sorted(set(range(idx[-1] + 1)) - set(idx))
    if gaps:
        raise CheckpointConversionError(
            f'{what} {gaps} missing ({prefix}{gaps[0]}.*): the file has '
            f'blocks {idx} (truncated or not a whole model?)')
    return idx[-1] + 1


def _heads(dims: int) -> int:
    # not stored in a checkpoint; any divisor gives the same shapes
    return 6 if dims % 6 == 0 else 1


def infer_backbone_cfg(state: Mapping[str, Tensor], p: str = 'backbone.'
                       ) -> dict:
    """``ACTPointTransformer`` config matching the converted keys."""
    dims = _vote(state, [(p + 'norm.weight', 0), (p + 'pos_embed.2.weight', 0),
                         (p + 'blocks.0.norm1.weight', 0),
                         (p + 'blocks.0.attn.proj.weight', 0),
                         (p + 'blocks.0.attn.proj.weight', 1)], 'embed_dims')
    cfg = dict(
        type=('ReConPointTransformer' if p + 'img_token' in state else
              'ACTPointTransformer'),
        embed_dims=dims,
        depth=_depth(state, p + 'blocks.', 'backbone blocks'),
        num_heads=_heads(dims),
        mlp_ratio=_shape(state, [p + 'blocks.0.mlp.fc1.weight'], 0,
                         'mlp width') / dims,
        qkv_bias=p + 'blocks.0.attn.qkv.bias' in state,
        drop_path_rate=0.,
        fps_skip_near_origin=True)  # the reference CUDA FPS rule
    if p + 'reduce_dim.weight' in state:
        cfg['encoder_dims'] = _shape(state, [p + 'reduce_dim.weight'], 1,
                                     'encoder_dims')
    return cfg


def infer_cls_head_cfg(state: Mapping[str, Tensor], p: str = 'head.',
                       num_queries: int = 1) -> dict:
    """``ACTClsHead`` config matching the converted ``head.mlp.*`` keys
    (its input: ``num_queries`` query tokens + the max-pool, each C)."""
    linears = [i for i in _indices(state, p + 'mlp.')
               if p + f'mlp.{i}.weight' in state
               and state[p + f'mlp.{i}.weight'].dim() == 2]
    if not linears:
        raise CheckpointConversionError(f'no linear layer {p}mlp.N.weight')
    first = state[p + f'mlp.{linears[0]}.weight']
    dims = int(first.shape[1]) // (num_queries + 1)
    cfg = dict(
        type='ACTClsHead',
        num_classes=int(state[p + f'mlp.{linears[-1]}.weight'].shape[0]),
        in_channels=dims,
        hidden_channels=tuple(
            int(state[p + f'mlp.{i}.weight'].shape[0])
            for i in linears[:-1]))
    if num_queries != 1:
        cfg['cls_channels'] = num_queries * dims
    return cfg


def infer_teacher_cfg(state: Mapping[str, Tensor], p: str = '') -> dict:
    """``ACTTeacherAutoencoder`` config matching the converted keys.

    The ViT is a timm model by name: chosen by its width and depth among
    :data:`TEACHER_VITS` (shapes do not depend on patch or image size).
    """
    t = p + 'transformer.'
    width = _shape(state, [t + 'proj_pre.weight', t + 'visual_embed.1.weight'],
                   0, 'teacher ViT width')
    depth = _depth(state, t + 'visual_embed.0.', 'teacher ViT blocks')
    vit = TEACHER_VITS.get((width, depth))
    if vit is None:
        raise CheckpointConversionError(
            f'no timm ViT of width {width} and depth {depth} known '
            f'({sorted(TEACHER_VITS)}); pass --config with the teacher\'s '
            'vit_name')
    num_tokens = _shape(state, [p + 'codebook'], 0, 'num_tokens')
    prompts = (int(state[t + 'visual_prompt_token'].shape[1])
               if t + 'visual_prompt_token' in state else 0)
    return dict(
        type='ACTTeacherAutoencoder',
        group_size=_shape(state, [p + 'decoder.mlp.4.weight'], 0,
                          'group_size') // 3 * 4,
        encoder_dims=_shape(state, [p + 'encoder.second_conv.3.weight'], 0,
                            'encoder_dims'),
        num_tokens=num_tokens,
        tokens_dims=_shape(state, [p + 'codebook'], 1, 'tokens_dims'),
        decoder_dims=_shape(state, [p + 'dgcnn_2.layer5.0.weight'], 0,
                            'decoder_dims'),
        vit_name=vit,
        vit_weights=None,
        allow_random_teacher=True,
        num_prompts=prompts,
        tuning=('deep' if t + 'deep_prompt_tokens' in state else
                'shallow' if prompts else 'frozen'))


#: (width, depth) -> the timm ViT a teacher is built with
TEACHER_VITS = {
    (768, 12): 'vit_base_patch16_384',
    (384, 12): 'vit_small_patch16_384',
    (192, 12): 'vit_tiny_patch16_384',
    (1024, 24): 'vit_large_patch16_384',
}


def infer_seg_head_cfg(state: Mapping[str, Tensor],
                       p: str = 'decode_head.') -> dict:
    """``ACTSegHead`` config matching the converted keys."""
    fp = [_shape(state, [f'{p}propagation.mlp_convs.{i}.weight'], 0,
                 'propagation widths')
          for i in _indices(state, p + 'propagation.mlp_convs.')]
    cats = (_shape(state, [p + 'label_conv.0.weight'], 1, 'categories')
            if p + 'label_conv.0.weight' in state else 0)
    cfg = dict(
        type='ACTSegHead',
        num_classes=_shape(state, [f'{p}{SEG_CLASSIFIER}.weight'], 0,
                           'num_classes'),
        in_channels=_shape(state, [p + 'propagation.mlp_convs.0.weight'], 1,
                           'token channels') - 3,
        num_categories=cats,
        fp_channels=tuple(fp),
        mid_channels=_shape(state, [p + 'convs1.weight'], 0, 'convs1'),
        channels=_shape(state, [p + 'convs2.weight'], 0, 'convs2'))
    if cats:
        cfg['category_channels'] = _shape(state, [p + 'label_conv.0.weight'],
                                          0, 'category_channels')
    return cfg


def _meta_build(cfg: dict) -> torch.nn.Module:
    """Build a model config for its state-dict shapes: on the meta device
    (no memory) when the module allows it, else on the CPU; the
    random-teacher warning is silenced."""
    from mmengine.logging import MMLogger
    from mmdet3d.registry import MODELS
    from .. import models  # noqa: F401  (registers the modules)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        try:
            with torch.device('meta'):
                return MODELS.build(copy.deepcopy(cfg))
        except (NotImplementedError, RuntimeError):
            # e.g. reads a tensor's values while building (drop-path rates)
            return MODELS.build(copy.deepcopy(cfg))
    finally:
        logger.setLevel(level)


def _shapes(module: torch.nn.Module) -> Dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _describe(cfg: dict) -> str:
    args = ', '.join(f'{k}={v}' for k, v in cfg.items()
                     if k not in ('type', 'vit_weights',
                                  'allow_random_teacher', 'drop_path_rate'))
    return f'{cfg["type"]}({args})'


def _no_teacher_files(cfg):
    """Config copy whose teachers need no weight file (meta builds)."""
    if isinstance(cfg, dict):
        cfg = {k: _no_teacher_files(v) for k, v in cfg.items()}
        if cfg.get('type') == 'ACTTeacherAutoencoder':
            cfg.update(vit_weights=None, allow_random_teacher=True)
        cfg.pop('init_cfg', None)
        return cfg
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_no_teacher_files(v) for v in cfg)
    return cfg


def target_shapes(layout: str,
                  state: Mapping[str, Tensor],
                  model_cfg: Optional[dict] = None
                  ) -> Tuple[Dict[str, Dict[str, tuple]], Dict[str, str]]:
    """Expected key shapes of each project part the converted keys use.

    Args:
        layout (str): the source layout.
        state (Mapping): the converted state dict.
        model_cfg (dict, optional): a project model config (e.g. a config
            file's ``model``) to check against; None infers each part from
            the converted keys (widths, depth, classes).

    Returns:
        tuple: ``{part: {key without part prefix: shape}}`` (part ``''``:
        the whole model, the Stage I teacher) and ``{part: description}``.
    """
    lay = get_layout(layout)
    used = sorted({_part_of(k) for k in state})
    shapes, desc = {}, {}
    if model_cfg is not None:
        model = _meta_build(_no_teacher_files(dict(model_cfg)))
        name = type(model).__name__
        for part in used:
            if part == '':
                module = getattr(model, 'target_generator', model)
                if not hasattr(module, 'codebook'):
                    raise CheckpointConversionError(
                        f'the config\'s {name} has no teacher (an '
                        'ACTTeacherAutoencoder or a target_generator) for '
                        f'this {lay.name} checkpoint')
            elif hasattr(model, part):
                module = getattr(model, part)
            else:
                raise CheckpointConversionError(
                    f'the config\'s {name} has no {part!r}; the '
                    f'{lay.name} layout converts to '
                    f'{sorted(p or "<model>" for p in used)}')
            shapes[part] = _shapes(module)
            desc[part] = f'{type(module).__name__} (from the config)'
        return shapes, desc

    for part in used:
        p = f'{part}.' if part else ''
        if part == 'backbone':
            cfg = infer_backbone_cfg(state, p)
            if lay.model == 'segmentor':
                cfg['with_cls_token'] = False
        elif part == 'head' and lay.model == 'classifier':
            cfg = infer_cls_head_cfg(
                state, p, 3 if 'backbone.img_token' in state else 1)
        elif part == 'head':
            cfg = dict(type='ACTDistillHead',
                       in_channels=_shape(state, [p + 'proj.weight'], 1,
                                          'proj'),
                       out_channels=_shape(state, [p + 'proj.weight'], 0,
                                           'proj'))
        elif part == 'neck':
            dims = _vote(state, [(p + 'norm.weight', 0),
                                 (p + 'blocks.0.norm1.weight', 0),
                                 (p + 'blocks.0.attn.proj.weight', 0),
                                 (p + 'blocks.0.attn.proj.weight', 1)],
                         'decoder width')
            cfg = dict(
                type='ACTDecoder', embed_dims=dims, num_heads=_heads(dims),
                depth=_depth(state, p + 'blocks.', 'decoder blocks'),
                mlp_ratio=_shape(state, [p + 'blocks.0.mlp.fc1.weight'], 0,
                                 'decoder mlp width') / dims,
                qkv_bias=p + 'blocks.0.attn.qkv.bias' in state)
        elif part in ('target_generator', ''):
            cfg = infer_teacher_cfg(state, p)
        else:  # decode_head
            cfg = infer_seg_head_cfg(state, p)
        shapes[part] = _shapes(_meta_build(cfg))
        desc[part] = _describe(cfg)
    return shapes, desc


def check_against_target(converted: Mapping[str, Tensor],
                         report: ConversionReport,
                         model_cfg: Optional[dict] = None
                         ) -> ConversionReport:
    """Fill ``report``'s missing / unexpected / shape checks.

    Every part the converted keys use (``backbone``, ``head``, ...) is
    compared with the project module, keys and shapes; project keys the
    source lacks by design (the layout's ``not_in_source``) are listed
    apart, not as missing.
    """
    lay = get_layout(report.layout)
    shapes, report.target = target_shapes(lay.name, converted, model_cfg)
    expected = {}
    for part, keys in shapes.items():
        for key, shape in keys.items():
            expected[f'{part}.{key}' if part else key] = shape
    for key in sorted(set(expected) - set(converted)):
        reason = next((r for pat, r in lay.not_in_source
                       if re.fullmatch(pat, key)), None)
        if reason is None:
            report.missing.append(key)
        else:
            report.not_in_source.append((key, reason))
    report.unexpected = sorted(set(converted) - set(expected))
    report.shape_mismatches = sorted(
        f'{k}: file {tuple(converted[k].shape)} vs model {expected[k]}'
        for k in set(converted) & set(expected)
        if tuple(converted[k].shape) != tuple(expected[k]))
    return report


# ---------------------------------------------------------------------------
# a whole file
def sha256sum(path: str, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def convert_checkpoint(src: str,
                       layout: str = 'auto',
                       parts: Optional[Sequence[str]] = None,
                       model_cfg: Optional[dict] = None,
                       allow_unknown: bool = False,
                       trust_pickle: bool = False
                       ) -> Tuple[dict, ConversionReport]:
    """Convert an official checkpoint file to an mmengine checkpoint dict.

    Args:
        src (str): the official file (read only).
        layout (str): a :data:`LAYOUTS` name, an alias or ``'auto'``.
        parts (Sequence[str], optional): keep only these project parts.
        model_cfg (dict, optional): project model config to check against
            (default: inferred from the file).
        allow_unknown (bool): drop source keys no rule knows instead of
            failing.
        trust_pickle (bool): ``torch.load(weights_only=False)``.

    Returns:
        tuple: ``{'state_dict': ..., 'meta': {...}}`` (loads with
        ``load_from`` and with ``init_cfg=dict(type='Pretrained',
        checkpoint=..., prefix='backbone.')``) and the report.

    Raises:
        CheckpointConversionError: unreadable file, wrong layout, unknown,
            missing or unexpected keys, shape mismatches (each named).
    """
    obj = load_source_checkpoint(src, trust_pickle=trust_pickle)
    state, info = unwrap_state_dict(obj, src)
    if layout == 'auto':
        layout = detect_layout(state)
        if layout is None:
            raise CheckpointConversionError(
                f'{src}: the keys match no known layout ({", ".join(LAYOUTS)}'
                f'); first keys: {_fmt(list(state), 6)}')
    converted, report = convert_state_dict(state, layout, parts=parts,
                                           source=src)
    if allow_unknown and report.unknown:
        report.dropped += [(k, 'unknown to the layout (--allow-unknown)')
                           for k in report.unknown]
        report.unknown = []
    try:
        check_against_target(converted, report, model_cfg)
    except CheckpointConversionError as e:
        report.raise_for_errors()
        raise CheckpointConversionError(f'{src}: {e}') from e
    hint = ''
    if report.shape_mismatches and model_cfg is None:
        hint = ('The project model was inferred from the file; pass '
                '--config to check against a project config.')
    report.raise_for_errors(hint=hint)
    meta = dict(
        converted_from=osp.abspath(src),
        source_sha256=sha256sum(src),
        source_layout=report.layout,
        source_description=get_layout(report.layout).description,
        source_container=info['container'],
        source_prefixes_stripped=info['stripped'],
        source_info={k: v for k, v in info.items()
                     if k not in ('container', 'stripped')},
        converter='tools/model_converters/convert_checkpoint.py',
        target=dict(report.target),
        num_mapped=len(report.mapped),
        dropped=[f'{k}: {r}' for k, r in report.dropped],
        not_in_source=[k for k, _ in report.not_in_source])
    state_dict = OrderedDict(
        (k, v.detach().cpu().contiguous()) for k, v in converted.items())
    return dict(meta=meta, state_dict=state_dict), report
