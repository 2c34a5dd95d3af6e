# ACT Stage II on the demo data (data/demo/ShapeNet55-34 written by
# tools/create_demo_data.py, or the real shapes of data/real that
# tools/demo_pipeline.py points it at): the paper's ViT-S student, mask
# ratio, decoder, loss and optimiser, distilled from the demo Stage I teacher
# (configs/demo/act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py: the pretrained
# all-MiniLM-L6-v2 transformer, prompt-tuned, 128-wide tokens).
# Batch 16, a few epochs; a few minutes on 2 CPU cores. The student
# checkpoint feeds configs/demo/finetune_*_demo.py (prefix 'backbone.').
# act_vit-s_1xb16-coslr-3e_shapenet55-demo-random-teacher.py distils the random-weight control.
_base_ = [
    '../act/act_vit-s_1xb128-coslr-300e_shapenet55.py',
    '../_base_/models/act_teacher_minilm-l6.py',
]

data_root = 'data/demo/ShapeNet55-34'
teacher_checkpoint = 'work_dirs/demo/autoencoder/epoch_2.pth'

# the demo teacher (configs/_base_/models/act_teacher_minilm-l6.py)
teacher_dims = _base_.minilm_teacher.decoder_dims
model = dict(
    head=dict(out_channels=teacher_dims),
    target_generator=dict(
        _base_.minilm_teacher,
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)))

train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root))

# 3 epochs: the schedule of the real-shapes study (configs/ablation/
# demo_real.py), which shortens make demo (still over its 20-min goal)
max_epochs = 3
warmup_epochs = 1
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))

# Pictures: the Stage II mask of 2 training clouds every 3 epochs (no
# validation set), in <work_dir>/vis/epoch_<e>/
# (ACTVisualizationHook, see the README: "Pictures of what the model does")
custom_hooks = [
    dict(
        type='ACTVisualizationHook',
        draw=True,
        interval=3,
        modes=['mask'],
        indices=[0, 1],
        split='train'),
]

# Scalars (loss, lr, ...) go to <work_dir>/<timestamp>/vis_data/scalars.json
# through mmengine's LocalVisBackend; uncomment TensorboardVisBackend to also
# write TensorBoard event files there (pip install .[tensorboard]).
visualizer = dict(
    type='Visualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
        # dict(type='TensorboardVisBackend'),
    ])
