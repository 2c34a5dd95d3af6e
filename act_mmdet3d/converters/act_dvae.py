"""Source layout ``act_dvae``: ACT Stage I
(``ACTPromptedDiscreteVAEwithVIT``) -> ``ACTTeacherAutoencoder``; also the
``dvae_tokenizer`` of a Stage II file."""
from .rules import BLOCK, BN, MINI_POINTNET, WB, Layout, Rule

LAYOUT = Layout(
    name='act_dvae',
    description='ACT Stage I cross-modal teacher (ACTPromptedDiscreteVAE'
    'withVIT, cfgs/autoencoder/act_dvae_with_pretrained_transformer.yaml)',
    model='teacher',
    keep_prefix='dvae_tokenizer.',
    all_markers=True,  # a codebook and ViT blocks
    markers=(r'(?:dvae_tokenizer\.)?codebook',
             r'(?:dvae_tokenizer\.)?visual_embed\.0\.\d+\..*'),
    rules=(
        Rule(rf'encoder\.({MINI_POINTNET})', r'encoder.\1'),
        Rule(rf'(dgcnn_[12])\.(input_trans\.{WB}|layer[1-5]\.[01]\.{WB})',
             r'\1.\2'),
        Rule(r'codebook', r'codebook'),
        Rule(rf'decoder\.(mlp\.[024]\.{WB}|final_conv\.[036]\.{WB}'
             rf'|final_conv\.[14]\.{BN})', r'decoder.\1'),
        Rule(rf'visual_embed\.0\.(\d+)\.({BLOCK})',
             r'transformer.visual_embed.0.\1.\2'),
        Rule(rf'visual_embed\.1\.({WB})', r'transformer.visual_embed.1.\1'),
        Rule(rf'(proj_pre|proj_post)\.({WB})', r'transformer.\1.\2'),
        Rule(rf'visual_pos_embed\.([02]\.{WB})',
             r'transformer.visual_pos_embed.\1'),
        Rule(r'(visual_prompt_token|visual_prompt_pos|deep_prompt_tokens'
             r'|deep_prompt_pos)', r'transformer.\1'),
    ),
    unsupported=(
        (r'visual_embed\.2\..*',
         'a CLIP image tower as teacher (visual_embed = ln_pre, resblocks, '
         'ln_post): the project\'s PromptedTransformer wraps the blocks + '
         'final norm of a timm ViT only'),
    ))
