"""Source layout ``point_mae``: Point-MAE pretraining -> ``backbone`` (its
encoder has no cls token: the fine-tuning model initialises it)."""
from .rules import Rule, encoder_layout

LAYOUT = encoder_layout(
    'point_mae',
    'Point-MAE pretraining (Point_MAE, cfgs/pretrain.yaml)',
    'classifier',
    src=r'MAE_encoder\.',
    rules=(
        Rule(r'mask_token|decoder_pos_embed\..*|MAE_decoder\..*'
             r'|increase_dim\..*',
             reason='Point-MAE\'s masked-point reconstruction decoder and '
             'head: pretraining only, no counterpart in the project'), ),
    not_in_source=((r'backbone\.(?:cls_token|cls_pos)',
                    'Point-MAE\'s pretraining encoder has no cls token; the '
                    'fine-tuning model keeps its own cls_token / cls_pos, as '
                    'the reference PointTransformer does when it loads this '
                    'file (there: trunc-normal, std 0.02)'), ))
