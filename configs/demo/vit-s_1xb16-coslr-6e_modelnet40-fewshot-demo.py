# Demo few-shot folds on the embedded demo pickles.
# Notes, sources and results: README.md beside this file.
_base_ = ['../act/vit-s_1xb32-coslr-150e_modelnet40-fewshot.py']

data_root = 'data/demo/ModelNetFewshot'
# the demo pickles store indices into the demo's own 10-class list, not
# ModelNet40's; tools/analysis_tools/fewshot.py names each fold's episode labels with it
label_names = 'data/demo/ModelNet/modelnet40_normal_resampled/' \
    'modelnet40_shape_names.txt'

model = dict(backbone=dict(init_cfg=None))

train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

max_epochs = 6
warmup_epochs = 1
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=3)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(save_last=False))

# Pictures: the tokenizer groups of 2 of the fold's test clouds after the
# last epoch, in <work_dir>/vis/epoch_<e>/
# (ACTVisualizationHook, see the README: "Pictures of what the model does")
custom_hooks = [
    dict(
        type='ACTVisualizationHook',
        draw=True,
        interval=max_epochs,
        modes=['groups'],
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
