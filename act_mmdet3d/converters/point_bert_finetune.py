"""Source layout ``point_bert_finetune``: a fine-tuned Point-BERT
``PointTransformer`` -> ``backbone`` only (its head has no BatchNorm)."""
from .rules import Rule, encoder_layout

LAYOUT = encoder_layout(
    'point_bert_finetune',
    'a fine-tuned Point-BERT PointTransformer (backbone only)',
    'classifier',
    markers=(r'cls_head_finetune\.3\.weight', ),
    rules=(Rule(
        r'cls_head_finetune\..*',
        reason='Point-BERT\'s head is Linear(2C, 256), ReLU, Dropout, '
        'Linear(256, classes) with no BatchNorm; ACTClsHead\'s hidden layers '
        'have BatchNorm, so the head is not converted (fine-tune a new '
        'head)'), ))
