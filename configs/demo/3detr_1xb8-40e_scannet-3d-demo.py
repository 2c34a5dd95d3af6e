# The demo twin of configs/3detr/3detr_1xb8_scannet-3d.py: 3DETR on the
# procedural ScanNet-format rooms of data/demo/scannet (24 train / 8 val
# rooms of a floor, two walls and box-shaped cabinets, beds and chairs;
# `python tools/create_demo_data.py --only scannet`), small enough to train
# on a CPU in minutes:
#
#   python tools/train.py configs/demo/3detr_1xb8-40e_scannet-3d-demo.py
#   python tools/test.py configs/demo/3detr_1xb8-40e_scannet-3d-demo.py \
#       work_dirs/3detr_1xb8-40e_scannet-3d-demo/epoch_40.pth
#
# The model is the reference's (3 encoder, 8 decoder layers, 256 wide) with
# the sizes scaled to the rooms: 2048 points a room, 512 pre-encoder
# centres, 64 queries, 3 classes; 40 epochs of 3 iterations at lr 2e-3.
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
