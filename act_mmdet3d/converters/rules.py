"""The vocabulary of the source layouts: a :class:`Rule` maps source keys
to a project key (or drops them with a reason), a :class:`Layout` is one
code base's table of rules; the regex fragments name the modules the
reference code bases share (timm-style blocks, the mini-PointNet), and
:func:`encoder_layout` builds the layouts of the ACT / Point-MAE /
Point-BERT encoders, which all refuse ReCon files."""
from dataclasses import dataclass
from typing import Optional, Tuple

#: ``ACTSegHead``'s last convolution (the reference ``convs3``) is mmdet3d's
#: ``conv_seg``
SEG_CLASSIFIER = 'conv_seg'


@dataclass(frozen=True)
class Rule:
    """Map source keys matching ``pattern`` (``re.fullmatch``).

    Attributes:
        pattern (str): regular expression over a whole source key.
        target (str, optional): ``re`` expansion template of the project
            key (``\\1``...); None drops the key.
        reason (str): why a dropped key has no counterpart.
        delegate (str, optional): convert the key's group 1 with another
            layout and prefix the result with ``target``.
    """
    pattern: str
    target: Optional[str] = None
    reason: str = ''
    delegate: Optional[str] = None


@dataclass(frozen=True)
class Layout:
    """One source layout.

    Attributes:
        name (str): the ``--from`` name.
        description (str): what checkpoint it is.
        model (str): the project model the result belongs to:
            ``'classifier'``, ``'pretrainer'``, ``'teacher'`` or
            ``'segmentor'``.
        rules (tuple[Rule]): tried in order, the first match wins.
        markers (tuple[str]): regexes; a file of this layout has a key
            matching one of them.
        unsupported (tuple[tuple[str, str]]): (regex, reason): a source key
            matching it means the checkpoint cannot be mapped at all.
        not_in_source (tuple[tuple[str, str]]): (regex, reason): project
            keys the source lacks by design (reported, not an error).
        keep_prefix (str): when some keys start with it, only those are
            converted (e.g. the teacher inside a Stage II file).
        all_markers (bool): a file of this layout matches every marker
            (not just one).
    """
    name: str
    description: str
    model: str
    rules: Tuple[Rule, ...]
    markers: Tuple[str, ...]
    unsupported: Tuple[Tuple[str, str], ...] = ()
    not_in_source: Tuple[Tuple[str, str], ...] = ()
    keep_prefix: str = ''
    all_markers: bool = False


BN = r'(?:weight|bias|running_mean|running_var|num_batches_tracked)'
WB = r'(?:weight|bias)'
#: the parameters of one timm-style block (reference ``Block``)
BLOCK = rf'(?:norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)\.{WB}'
#: mini-PointNet (``Encoder``): Conv1d 0, 3 and BatchNorm 1 of each stage
MINI_POINTNET = rf'(?:first_conv|second_conv)\.(?:[03]\.{WB}|1\.{BN})'


def encoder_rules(src: str, dst: str = 'backbone.',
                  cls_token: bool = True) -> Tuple[Rule, ...]:
    """The point transformer encoder under source prefix ``src`` (a regex)
    -> ``ACTPointTransformer`` under ``dst``."""
    rules = [
        Rule(rf'{src}blocks\.blocks\.(\d+)\.({BLOCK})',
             rf'{dst}blocks.\1.\2'),
        Rule(rf'{src}encoder\.({MINI_POINTNET})', rf'{dst}encoder.\1'),
        Rule(rf'{src}pos_embed\.([02]\.{WB})', rf'{dst}pos_embed.\1'),
        Rule(rf'{src}norm\.({WB})', rf'{dst}norm.\1'),
        Rule(rf'{src}reduce_dim\.({WB})', rf'{dst}reduce_dim.\1'),
    ]
    if cls_token:
        rules.append(Rule(rf'{src}(cls_token|cls_pos)', rf'{dst}\1'))
    return tuple(rules)


RECON_REASON = (
    'a ReCon checkpoint: every ReCon encoder block has a second branch '
    '(norm1_contrast, attn_contrast.q / .kv / .proj, norm2_contrast, '
    'mlp_contrast) through which the cls / img / text query tokens '
    'cross-attend to the point tokens, and its point-token branch adds the '
    'residual to the normalised tokens (x = norm1(x); x = x + attn(x)) '
    'instead of the pre-norm x + attn(norm1(x)) of ACT / Point-MAE blocks; '
    'loading it into ACTPointTransformer would run a different network. '
    'Use --from recon (ReConPointTransformer)')
RECON_MARKERS = (r'(?:.*\.)?blocks\.blocks\.\d+\.(?:attn|mlp|norm[12])'
                 r'_contrast\..*', r'(?:.*\.)?(?:img|text)_(?:token|pos)')
#: (regex, reason): keys that make an encoder layout refuse a ReCon file
RECON_UNSUPPORTED = tuple((m, RECON_REASON) for m in RECON_MARKERS)


def encoder_layout(name: str,
                   description: str,
                   model: str,
                   src: str = '',
                   rules: Tuple[Rule, ...] = (),
                   markers: Tuple[str, ...] = (),
                   cls_token: bool = True,
                   unsupported: Tuple[Tuple[str, str], ...] = (),
                   **fields) -> Layout:
    """The :class:`Layout` of a source holding the ACT / Point-MAE point
    transformer encoder under the key prefix ``src`` (a regex; '' for a
    fine-tuned model): its :func:`encoder_rules`, then ``rules``. A file
    with a key under ``src`` is of this layout unless ``markers`` are
    given; ReCon files (:data:`RECON_UNSUPPORTED`) are refused, as are
    keys matching ``unsupported``. ``fields``: other :class:`Layout`
    fields."""
    return Layout(
        name=name,
        description=description,
        model=model,
        rules=encoder_rules(src, cls_token=cls_token) + tuple(rules),
        markers=markers or (rf'{src}.*', ),
        unsupported=RECON_UNSUPPORTED + tuple(unsupported),
        **fields)


#: the BatchNorm MLP head of fine-tuned ACT / Point-MAE / ReCon classifiers
FINETUNE_CLS_HEAD = Rule(rf'cls_head_finetune\.(\d+)\.({BN})',
                         r'head.mlp.\1.\2')
