"""Source layout ``act_finetune`` (alias ``point_mae_finetune``): the
fine-tuned ``PointTransformer`` of ACT / Point-MAE (ModelNet40,
ScanObjectNN; full, MLP-3 or linear head) -> ``ACTClassifier``
(``backbone``, ``head.mlp``)."""
from .rules import FINETUNE_CLS_HEAD, encoder_layout

LAYOUT = encoder_layout(
    'act_finetune',
    'a fine-tuned ACT / Point-MAE PointTransformer (ModelNet40 or '
    'ScanObjectNN; full, mlp-3 or linear head)',
    'classifier',
    markers=(r'cls_head_finetune\..*', ),
    rules=(FINETUNE_CLS_HEAD, ),
    unsupported=(
        (r'side(?:_alpha|_projection\..*|\..*)',
         'the side-tuning variant (transfer_type: side) adds a side network '
         'that ACTClassifier does not have'),
        (r'cls_head_finetune\.3\.weight',
         'a Point-BERT fine-tuning head (Linear, ReLU, Dropout, Linear: no '
         'BatchNorm); use --from point_bert_finetune'),
    ))
