# The ACT Stage I teacher: a dVAE whose tokens pass through a frozen,
# prompt-tuned ViT-B/16-384 (the reference cfgs/autoencoder/
# act_dvae_with_pretrained_transformer.yaml). Stage I trains it as its
# `model`; Stage II loads it, frozen, as `model.target_generator` (strictly,
# from the Stage I checkpoint), so both read this one dict.
# The teacher transformer and how it is tuned (the paper's analysis:
# transformer_type 'vit' / 'lm' / 'none', tuning 'deep' / 'shallow' / 'frozen' /
# 'full'; configs/ablation/ runs them as a grid). Built with a random ViT:
# Stage I sets vit_weights, Stage II overwrites it from the checkpoint.
teacher = dict(
    type='ACTTeacherAutoencoder',
    num_groups=64,
    group_size=32,
    encoder_dims=384,
    num_tokens=8192,
    tokens_dims=384,
    decoder_dims=384,
    dgcnn_k=4,
    transformer_type='vit',
    vit_name='vit_base_patch16_384',
    vit_weights=None,
    allow_random_teacher=True,
    num_prompts=64,
    tuning='deep',
    prompt_dropout=0.1,
    train_hard=False,
    test_hard=True,
    test_temperature=1.0)
