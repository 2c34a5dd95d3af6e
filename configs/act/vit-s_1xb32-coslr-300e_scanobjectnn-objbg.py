# ACT fine-tuning on ScanObjectNN OBJ_BG (paper: 93.29% OA), the paper's
# table and the reference cfgs/finetune_classification/full/
# finetune_scan_objbg.yaml + tools/runner_finetune.py:
#   AdamW lr 5e-4, weight decay 0.05 (none on norms, biases, cls_token),
#   cosine 300 epochs with 10 warm-up epochs, batch 32, gradient clip 10,
#   ViT-S (12 blocks, 384 wide, 6 heads), drop path 0.1, 2048 points,
#   128 groups x 32, [cls; max-pool] -> 256 -> 256 -> 15 head, dropout 0.5,
#   plain cross-entropy, train augmentation: rotation about y; no test vote.
#
# Paper text vs reference code (and the value used here):
# - augmentation: the code rotates about the y axis (the runner's
#   train_transforms, the same for every dataset); the recipe table of this
#   paper family (ReCon, same authors and code base) lists Rotation for
#   ScanObjectNN too -> PointcloudRotate.
# - label smoothing: none in the code (models/act.py: plain
#   nn.CrossEntropyLoss, LabelSmoothingCrossEntropy commented out) and in
#   the four reference fine-tuning configs -> 0.
# - weight decay exemptions: the reference's add_weight_decay skips 1-D
#   parameters, biases and names containing 'token', so cls_token is
#   exempt but cls_pos (1x1x384) is decayed; the shared schedule
#   (_base_/schedules/adamw_cosine_300e.py) exempts cls_pos too. The code
#   is followed: cls_pos decays here.
# - schedule: the code uses timm's CosineLRScheduler stepped per epoch
#   (warm-up from 1e-6, cosine over all 300 epochs to 1e-7, 301 epochs run);
#   the shared schedule follows the paper's wording with mmengine
#   schedulers: linear warm-up over 10 epochs, cosine over the other 290 to
#   1e-6, updated every iteration, 300 epochs.
# - reported figure: the reference keeps and reports the best test-set
#   epoch (ckpt-best); we report the last epoch (see below).
#
# Pretrained backbone: the Stage II checkpoint (configs/act/
# act_vit-s_1xb128-coslr-300e_shapenet55.py), its `backbone.*` keys. Another file:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (overriding the `pretrained` variable alone does not reach the model:
# mmengine substitutes it when this file is read); from scratch:
#   --cfg-options model.backbone.init_cfg=None
#
# Reporting: the last epoch. The CheckpointHook keeps the last checkpoints
# (no save_best); the reported figure is
#   python tools/test.py configs/act/vit-s_1xb32-coslr-300e_scanobjectnn-objbg.py \
#       work_dirs/vit-s_1xb32-coslr-300e_scanobjectnn-objbg/epoch_300.pth
# To also keep the best validation epoch (labelled "best epoch", the
# reference's way; file best_overall_acc_epoch_N.pth):
#   --cfg-options default_hooks.checkpoint.save_best=overall_acc \
#       default_hooks.checkpoint.rule=greater
# The seed is randomness.seed = 0 (default_runtime), printed by mmengine in
# the log's environment block ("seed: 0").
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
