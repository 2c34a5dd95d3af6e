"""Source layout ``point_bert_finetune``: a fine-tuned Point-BERT
``PointTransformer`` -> ``backbone`` only (its head has no BatchNorm)."""
from .recon import RECON_UNSUPPORTED
from .rules import Layout, Rule, encoder_rules

LAYOUT = Layout(
    name='point_bert_finetune',
    description='a fine-tuned Point-BERT PointTransformer (backbone only)',
    model='classifier',
    markers=(r'cls_head_finetune\.3\.weight', ),
    rules=encoder_rules('') + (Rule(
        r'cls_head_finetune\..*',
        reason='Point-BERT\'s head is Linear(2C, 256), ReLU, Dropout, '
        'Linear(256, classes) with no BatchNorm; ACTClsHead\'s hidden layers '
        'have BatchNorm, so the head is not converted (fine-tune a new '
        'head)'), ),
    unsupported=RECON_UNSUPPORTED)
