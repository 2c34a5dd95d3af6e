# ACT fine-tune: ShapeNetPart part segmentation.
# Notes, sources and results: README.md beside this file.
_base_ = [
    '../_base_/models/act_vits_partseg.py',
    '../_base_/datasets/shapenetpart.py',
    '../_base_/schedules/adamw_cosine_300e.py',
    '../_base_/default_runtime.py',
]

pretrained = 'work_dirs/act_vit-s_1xb128-coslr-300e_shapenet55/epoch_300.pth'

model = dict(
    backbone=dict(
        fps_skip_near_origin=True,  # FPS as the reference (pointnet2_ops)
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)
