# The demo twin of configs/act/3detr_act-vit-s_1xb8_scannet-3d.py: the ACT swap in 3DETR
# on the procedural rooms of configs/demo/3detr_1xb8-40e_scannet-3d-demo.py, with the
# Stage II student that `make demo` trains (work_dirs/demo/pretrain, the
# pretrained-teacher student; ViT-S, 12 blocks) as the backbone:
#
#   make demo   # or tools/demo_pipeline.py: writes the student
#   python tools/train.py configs/demo/3detr_act-vit-s_1xb8-40e_scannet-3d-demo.py
#
# Without that checkpoint, train from a random init with
# `--cfg-options model.backbone.init_cfg=None`.
#
# PreciseBNHook: the mini-PointNet's first BatchNorm sees a batch variance
# of ~1e-5 on metre-scale neighbourhoods while its running variance starts
# at 1 and decays by 0.9 an iteration; after the ~100 iterations of a demo
# the eval-mode statistics are still ~50x off (measured) and the swap
# validates near mAP 0.03 although its training loss matches 3DETR's. The
# hook recomputes them from training batches before validation and before
# the checkpoint is saved (a real 1080-epoch run does not need it).
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
