# The ACT Stage I teacher autoencoder shrunk to the embedded demo data
# (data/demo/ShapeNet55-34, written by tools/create_demo_data.py): a
# randomly initialised ViT-Ti/16 (allow_random_teacher: NOT a pretrained
# cross-modal teacher, this run only shows the pipeline training), 8
# prompts, a 512-entry codebook and 128-wide tokens; batch 8, 2 epochs
# (80 iterations). About 1.5 minutes on
# 2 CPU cores; the reconstruction loss (loss_coarse + loss_fine) falls.
_base_ = ['../act/autoencoder_shapenet.py']

data_root = 'data/demo/ShapeNet55-34'

model = dict(
    encoder_dims=128,
    num_tokens=512,
    tokens_dims=128,
    decoder_dims=128,
    vit_name='vit_tiny_patch16_224',
    vit_weights=None,
    allow_random_teacher=True,
    num_prompts=8)

# The schedules compressed to the demo's 80 iterations. The KL weight keeps
# the real run's proportions (delay 4%, ramp 40% of training: 10k / 100k of
# ~250k iterations): with the longer delay it reached only 0.01 and the
# codebook collapsed to a single argmax code of 512 (150 codes with it).
custom_hooks = [
    dict(
        type='DVAEScheduleHook',
        temp_start=1.,
        temp_target=0.0625,
        temp_ntime=400,
        kl_start=0.,
        kl_target=0.1,
        kl_ntime=32,
        kl_delay=3),
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
