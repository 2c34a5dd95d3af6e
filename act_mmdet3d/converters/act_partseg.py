"""Source layout ``act_partseg`` (alias ``point_mae_partseg``): the
ShapeNetPart ``get_model`` of ACT (``*_cls`` names) or Point-MAE ->
``ACTSegmentor`` (``backbone`` without cls token, ``decode_head``)."""
from .rules import BN, SEG_CLASSIFIER, WB, Rule, encoder_layout

PARTSEG_HEAD_RULES = (
    Rule(rf'label_conv(?:_cls)?\.(0\.weight|1\.{BN})',
         r'decode_head.label_conv.\1'),
    Rule(rf'propagation_0(?:_cls)?\.(mlp_convs\.\d+\.{WB}'
         rf'|mlp_bns\.\d+\.{BN})', r'decode_head.propagation.\1'),
    Rule(rf'(convs1|convs2)(?:_cls)?\.({WB})', r'decode_head.\1.\2'),
    Rule(rf'(bns1|bns2)(?:_cls)?\.({BN})', r'decode_head.\1.\2'),
    Rule(rf'convs3(?:_cls)?\.({WB})', rf'decode_head.{SEG_CLASSIFIER}.\1'),
)
LAYOUT = encoder_layout(
    'act_partseg',
    'a fine-tuned ShapeNetPart model of ACT (part_segmentation/models/'
    'pt.py, *_cls names) or Point-MAE (segmentation/models/pt.py)',
    'segmentor',
    markers=(r'convs1(?:_cls)?\.weight', ),
    rules=PARTSEG_HEAD_RULES,
    cls_token=False)
