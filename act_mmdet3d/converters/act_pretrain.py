"""Source layout ``act_pretrain``: ACT Stage II (``ACT_PointDistillation``)
-> ``ACTPretrainer``: ``ACT_encoder`` -> ``backbone``, ``ACT_decoder`` +
``mask_token`` + ``decoder_pos_embed`` -> ``neck``, ``proj_head`` ->
``head.proj``, ``dvae_tokenizer`` -> ``target_generator`` (the ``act_dvae``
rules)."""
from .rules import BLOCK, WB, Rule, encoder_layout

LAYOUT = encoder_layout(
    'act_pretrain',
    'ACT Stage II (ACT_PointDistillation, cfgs/pretrain/'
    'pretrain_act_distill.yaml)',
    'pretrainer',
    src=r'ACT_encoder\.',
    rules=(
        Rule(r'ACT_encoder\.lm_head\..*',
             reason='the reference student\'s token-classification head, '
             'never called by ACT_PointDistillation'),
        Rule(r'ACT_encoder\.cls_head\..*',
             reason='the reference student\'s contrastive cls head, never '
             'called by ACT_PointDistillation'),
        Rule(r'mask_token', r'neck.mask_token'),
        Rule(rf'decoder_pos_embed\.([02]\.{WB})',
             r'neck.decoder_pos_embed.\1'),
        Rule(rf'ACT_decoder\.blocks\.(\d+)\.({BLOCK})', r'neck.blocks.\1.\2'),
        Rule(rf'ACT_decoder\.norm\.({WB})', r'neck.norm.\1'),
        Rule(rf'proj_head\.({WB})', r'head.proj.\1'),
        Rule(r'cls_pos',
             reason='the cls_loss variant\'s decoder cls position (cls_loss: '
             'False in pretrain_act_distill.yaml)'),
        Rule(r'dvae_tokenizer\.(.+)', 'target_generator.',
             delegate='act_dvae'),
    ))
