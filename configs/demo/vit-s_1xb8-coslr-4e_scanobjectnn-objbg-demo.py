# Demo fine-tune: the ScanObjectNN-format demo data (OBJ_BG).
# Notes, sources and results: README.md beside this file.
_base_ = [
    '../_base_/models/act_vits_cls.py',
    '../_base_/datasets/scanobjectnn.py',
    '../_base_/schedules/adamw_cosine_300e.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/demo/ScanObjectNN'
variant = 'obj_bg'
# the demo's own class list (data/demo/ScanObjectNN_shape_names.txt)
classes = ('sphere', 'box', 'cylinder', 'cone', 'torus', 'table', 'chair',
           'mug', 'lamp', 'airplane')

model = dict(
    backbone=dict(
        num_groups=128,
        group_size=32),
    head=dict(num_classes=len(classes)))

train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root, variant=variant,
                 metainfo=dict(classes=classes)))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root, variant=variant,
                 metainfo=dict(classes=classes)))
test_dataloader = val_dataloader

max_epochs = 4
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
    logger=dict(interval=5), checkpoint=dict(interval=max_epochs))

# Pictures: the tokenizer groups (128 x 32) of 2 validation clouds after
# the last epoch, in <work_dir>/vis/epoch_<e>/
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
