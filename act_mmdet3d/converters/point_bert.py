"""Source layout ``point_bert``: Point-BERT pretraining -> ``backbone``
(``transformer_q`` with its 256-wide mini-PointNet and ``reduce_dim``)."""
from .rules import Rule, encoder_layout

LAYOUT = encoder_layout(
    'point_bert',
    'Point-BERT pretraining (Point_BERT, cfgs/Mixup_models/'
    'Point-BERT.yaml): the query encoder transformer_q',
    'classifier',
    src=r'transformer_q\.',
    rules=(
        Rule(r'transformer_q\.(?:mask_token|lm_head\..*|cls_head\..*)',
             reason='Point-BERT\'s pretraining-only mask token, token '
             'classifier and contrastive head (the reference fine-tuning '
             'skips them too)'),
        Rule(r'transformer_k\..*',
             reason='the momentum (MoCo key) copy of the encoder; the '
             'reference fine-tunes transformer_q'),
        Rule(r'dvae\..*',
             reason='Point-BERT\'s dVAE tokenizer: codebook -> DGCNN without '
             'a transformer, so it is not an ACTTeacherAutoencoder'),
        Rule(r'queue|queue_ptr', reason='the MoCo queue (a buffer)'),
    ))
