# The demo's earlier teacher: a randomly initialised ViT-Ti/16
# (allow_random_teacher: no 2D knowledge; no pretrained ViT can be fetched
# here), otherwise as the MiniLM demo teacher (the _base_ below).
_base_ = ['./act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py']

model = dict(
    transformer_type='vit',
    lm_path=None,
    vit_weights=None,
    allow_random_teacher=True)
