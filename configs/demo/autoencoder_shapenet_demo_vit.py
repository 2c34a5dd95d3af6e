# The demo's earlier teacher: a randomly initialised ViT-Ti/16
# (allow_random_teacher: no 2D knowledge; no pretrained ViT can be fetched
# here), otherwise as autoencoder_shapenet_demo.py.
_base_ = ['./autoencoder_shapenet_demo.py']

model = dict(
    teacher_type='vit',
    lm_path=None,
    vit_weights=None,
    allow_random_teacher=True)
