# Stage II from the control teacher (autoencoder_shapenet_demo_random.py:
# MiniLM's architecture with random weights), otherwise exactly
# pretrain_shapenet_demo.py.
_base_ = ['./pretrain_shapenet_demo.py']

teacher_checkpoint = 'work_dirs/demo/autoencoder_random/epoch_2.pth'
model = dict(
    target_generator=dict(
        lm_random_init=True,
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)))
