# 3DETR on the procedural demo rooms (data/demo/scannet).
# Notes, sources and results: README.md beside this file.
_base_ = ['../3detr/3detr_1xb8_scannet-3d.py']

data_root = 'data/demo/scannet/'
classes = ('cabinet', 'bed', 'chair')  # the first three ScanNet classes
num_points = 2048

model = dict(
    backbone=dict(num_points=512),
    bbox_head=dict(num_classes=len(classes), num_queries=64))

# the base config's pipelines, with PointSample's count set to the rooms'
train_pipeline = _base_.train_pipeline
test_pipeline = _base_.test_pipeline
for _pipeline in (train_pipeline, test_pipeline):
    for _step in _pipeline:
        if _step['type'] == 'PointSample':
            _step['num_points'] = num_points
del _pipeline, _step
_loader = dict(num_workers=1, persistent_workers=False)
train_dataloader = dict(
    **_loader,
    batch_size=8,
    dataset=dict(
        data_root=data_root,
        pipeline=train_pipeline,
        metainfo=dict(classes=classes)))
val_dataloader = dict(
    **_loader,
    dataset=dict(
        data_root=data_root,
        pipeline=test_pipeline,
        metainfo=dict(classes=classes)))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=2e-3))
max_epochs = 40
warmup_epochs = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=20)
default_hooks = dict(
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
    logger=dict(interval=10))
