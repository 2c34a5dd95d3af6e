# ACT fine-tune: ScanObjectNN OBJ_BG.
# Notes, sources and results: README.md beside this file.
_base_ = [
    '../_base_/models/act_vits_cls.py',
    '../_base_/datasets/scanobjectnn.py',
    '../_base_/schedules/adamw_cosine_300e.py',
    '../_base_/default_runtime.py',
]

pretrained = 'work_dirs/act_vit-s_1xb128-coslr-300e_shapenet55/epoch_300.pth'
variant = 'obj_bg'
num_classes = 15

model = dict(
    backbone=dict(
        drop_path_rate=0.1,
        num_groups=128,
        group_size=32,
        fps_skip_near_origin=True,  # FPS as the reference (pointnet2_ops)
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=num_classes, label_smoothing=0.),
    # the reference votes on ModelNet40 only (its vote raises
    # NotImplementedError at 2048 points)
    num_votes=1)

train_dataloader = dict(batch_size=32, dataset=dict(variant=variant))
val_dataloader = dict(batch_size=32, dataset=dict(variant=variant))
test_dataloader = val_dataloader

# the reference's add_weight_decay: cls_pos is decayed (see above)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'.cls_pos': dict(decay_mult=1.)}),
    clip_grad=dict(max_norm=10, norm_type=2))
