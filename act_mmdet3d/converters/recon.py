"""Source layout ``recon``: ReCon pretraining (``MAE_encoder``) or a
fine-tuned ReCon ``PointTransformer`` -> ``ReConPointTransformer`` (query
tokens and cross-attention branches) and ``ACTClsHead(cls_channels=3C)``.

A ReCon file given as another layout is refused
(:data:`.rules.RECON_UNSUPPORTED`)."""
from .rules import (BLOCK, FINETUNE_CLS_HEAD, MINI_POINTNET, RECON_MARKERS, WB,
                    Layout, Rule)

#: one ReCon encoder block: ACT's block keys plus the query branch
RECON_BLOCK = (rf'(?:{BLOCK}|(?:norm[12]_contrast'
               rf'|attn_contrast\.(?:q|kv|proj)|mlp_contrast\.fc[12])'
               rf'\.{WB})')
LAYOUT = Layout(
    name='recon',
    description='ReCon (qizekun/ReCon) pretraining (ReCon: MAE_encoder) or '
    'a fine-tuned ReCon PointTransformer -> ReConPointTransformer (+ '
    'ACTClsHead with cls_channels=3C)',
    model='classifier',
    markers=RECON_MARKERS,
    rules=(
        Rule(rf'(?:MAE_encoder\.)?blocks\.blocks\.(\d+)\.({RECON_BLOCK})',
             r'backbone.blocks.\1.\2'),
        Rule(rf'(?:MAE_encoder\.)?encoder\.({MINI_POINTNET})',
             r'backbone.encoder.\1'),
        Rule(rf'(?:MAE_encoder\.)?pos_embed\.([02]\.{WB})',
             r'backbone.pos_embed.\1'),
        Rule(rf'(?:MAE_encoder\.)?norm\.({WB})', r'backbone.norm.\1'),
        Rule(r'(?:MAE_encoder\.)?((?:cls|img|text)_(?:token|pos))',
             r'backbone.\1'),
        FINETUNE_CLS_HEAD,
        Rule(r'mask_token|decoder_pos_embed\..*|MAE_decoder\..*'
             r'|increase_dim\..*',
             reason='ReCon\'s masked-point reconstruction decoder and head: '
             'pretraining only, no counterpart in the project'),
        Rule(r'(?:img|text)_encoder\..*',
             reason='the frozen image / text teachers of ReCon\'s '
             'cross-modal contrast (a ViT-B and a CLIP text tower): '
             'pretraining only'),
        Rule(r'(?:img_proj|text_proj|cls_proj|contrastive_head)\..*',
             reason='projection heads of ReCon\'s pretraining losses'),
    ))
