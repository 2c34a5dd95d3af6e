# Demo fine-tune: the ModelNet40-format demo data, from scratch.
# Notes, sources and results: README.md beside this file.
_base_ = [
    '../_base_/models/act_vits_cls.py',
    '../_base_/datasets/modelnet40.py',
    '../_base_/schedules/adamw_cosine_300e.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/demo/ModelNet/modelnet40_normal_resampled'
num_classes = 10  # the demo's own class list (modelnet40_shape_names.txt)

model = dict(head=dict(num_classes=num_classes))

train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
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
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
default_hooks = dict(logger=dict(interval=5))

# Pictures: the tokenizer groups of 2 validation clouds after the last
# epoch, in <work_dir>/vis/epoch_<e>/
# (ACTVisualizationHook, see the README: "Pictures of what the model does")
# PreciseBNHook: BatchNorm statistics recomputed before each validation
# (a short run otherwise validates at chance; README.md)
custom_hooks = [
    dict(type='PreciseBNHook', num_iters=20),
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
