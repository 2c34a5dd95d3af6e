# Stage II from the control teacher (act-autoencoder_minilm-l6-random_...:
# MiniLM's architecture with random weights), otherwise exactly
# act_vit-s_1xb16-coslr-3e_shapenet55-demo.py.
_base_ = ['./act_vit-s_1xb16-coslr-3e_shapenet55-demo.py']

teacher_checkpoint = 'work_dirs/demo/autoencoder_random/epoch_2.pth'
model = dict(
    target_generator=dict(
        lm_random_init=True,
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)))
