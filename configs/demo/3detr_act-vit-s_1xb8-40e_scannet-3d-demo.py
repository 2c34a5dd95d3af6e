# The ACT swap in 3DETR on the demo rooms, from make demo's student.
# Notes, sources and results: README.md beside this file.
_base_ = [
    './3detr_1xb8-40e_scannet-3d-demo.py',
    '../_base_/models/act_scene_backbone.py',
]

pretrained = 'work_dirs/demo/pretrain/epoch_3.pth'

model = dict(
    backbone=dict(
        _base_.act_scene_backbone,
        num_seeds=256,  # tokens (the real config: 2048 of 40k points)
        init_cfg=dict(_base_.act_scene_backbone.init_cfg,
                      checkpoint=pretrained)),
    bbox_head=dict(in_channels=256))

optim_wrapper = dict(paramwise_cfg=_base_.act_backbone_paramwise_cfg)

custom_hooks = [dict(type='PreciseBNHook', num_iters=3)]
