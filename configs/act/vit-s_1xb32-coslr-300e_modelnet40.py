# ACT fine-tuning on ModelNet40 (paper: 93.7% OA at 1k points with a
# 10-view vote), the paper's table and the reference cfgs/
# finetune_classification/full/finetune_modelnet.yaml + tools/
# runner_finetune.py:
#   AdamW lr 5e-4, weight decay 0.05 (none on norms, biases, cls_token),
#   cosine 300 epochs with 10 warm-up epochs, batch 32, gradient clip 10,
#   ViT-S (12 blocks, 384 wide, 6 heads), drop path 0.1, 1024 points,
#   64 groups x 32, [cls; max-pool] -> 256 -> 256 -> 40 head, dropout 0.5,
#   plain cross-entropy.
# Points as the reference: the 8192-point FPS cache
# (modelnet40_{train,test}_8192pts_fps.dat) normalised to the unit sphere;
#   train: FPS of 1200 from a random start point (the dataset shuffles the
#          points, the runner's FPS starts at point 0), a random 1024 of them;
#   val / test: an FPS of 1024 from point 0 = the first 1024 cache points.
#
# Paper text vs reference code (and the value used here):
# - train augmentation: the released runner applies only PointcloudRotate
#   (about y) to every dataset, ModelNet40 included (PointcloudScale-
#   AndTranslate is commented out of train_transforms and used for the
#   vote only); the recipe table of this paper family (ReCon, same authors
#   and code base) and Point-MAE, which ACT follows, use scale & translate
#   for ModelNet40 -> PointcloudScaleAndTranslate (per-axis scale
#   U[2/3, 3/2], translation U[-0.2, 0.2]). The code's choice is one line:
#   replace it in train_pipeline with dict(type='PointcloudRotate').
# - test-time vote: the reference votes 10 views, each a fresh random 1024
#   of the FPS-1200 points, scaled and translated, and its test mode repeats
#   that vote 299 times and reports the best repetition. Here one seeded
#   10-view vote (ACTClassifier num_votes=10, vote_seed=0) scales and
#   translates the same FPS-1024 points; validation during training does
#   not vote. The model is shared by the val and test loops, so the vote is
#   switched on for tools/test.py from the command line (below).
# - label smoothing: none in the code (plain nn.CrossEntropyLoss) -> 0.
# - weight decay exemptions: the reference's add_weight_decay exempts 1-D
#   parameters, biases and '*token*' names, so cls_pos is decayed; the
#   shared schedule exempts it -> the code is followed (cls_pos decays).
# - schedule: the code uses timm's CosineLRScheduler per epoch (warm-up
#   from 1e-6, cosine over all 300 epochs to 1e-7); the shared schedule
#   (_base_/schedules/adamw_cosine_300e.py) follows the paper's wording:
#   linear warm-up 10 epochs, cosine over the other 290 to 1e-6, per
#   iteration.
# - reported figure: the reference reports the best test-set epoch (and the
#   best of 299 votes); we report the last epoch and one vote.
#
# Pretrained backbone: the Stage II checkpoint (configs/act/
# act_vit-s_1xb128-coslr-300e_shapenet55.py), its `backbone.*` keys. Another file:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (overriding `pretrained` alone does not reach the model: mmengine
# substitutes it when this file is read); from scratch:
#   --cfg-options model.backbone.init_cfg=None
#
# Reporting: the last epoch, 10-view vote. The CheckpointHook keeps the last
# checkpoints (no save_best); the reported figure is
#   python tools/test.py configs/act/vit-s_1xb32-coslr-300e_modelnet40.py \
#       work_dirs/vit-s_1xb32-coslr-300e_modelnet40/epoch_300.pth
# (the test loop votes: model.test_num_votes=10; add --cfg-options
# model.test_num_votes=1 for the single-view figure). To also keep the best
# validation epoch (labelled "best epoch"; best_overall_acc_epoch_N.pth):
#   --cfg-options default_hooks.checkpoint.save_best=overall_acc \
#       default_hooks.checkpoint.rule=greater
# The seed is randomness.seed = 0 (default_runtime), printed by mmengine in
# the log's environment block ("seed: 0").
_base_ = [
    '../_base_/models/act_vits_cls.py',
    '../_base_/datasets/modelnet40.py',
    '../_base_/schedules/adamw_cosine_300e.py',
    '../_base_/default_runtime.py',
]

pretrained = 'work_dirs/act_vit-s_1xb128-coslr-300e_shapenet55/epoch_300.pth'
num_classes = 40
cache_points = 8192  # the whole FPS cache, normalised as the reference
num_points = 1024
fps_candidates = 1200  # the reference's point_all for 1024 points

model = dict(
    backbone=dict(
        drop_path_rate=0.1,
        num_groups=64,
        group_size=32,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=num_classes, label_smoothing=0.),
    num_votes=1,  # validation during training: no vote
    test_num_votes=10,  # the test loop (tools/test.py): the 10-view vote
    vote_scale=(2. / 3., 3. / 2.),
    vote_translate=0.2,
    vote_seed=0)

train_pipeline = [
    dict(type='NormalizePointsToUnitSphere'),
    dict(
        type='PointSubsample',
        num_points=num_points,
        mode='fps_random',
        num_candidates=fps_candidates,
        fps_start='random'),
    dict(
        type='PointcloudScaleAndTranslate',
        scale_low=2. / 3.,
        scale_high=3. / 2.,
        translate_range=0.2),
    dict(type='PackPointClsInputs'),
]
test_pipeline = [
    dict(type='NormalizePointsToUnitSphere'),
    dict(type='PointSubsample', num_points=num_points, mode='first'),
    dict(type='PackPointClsInputs'),
]

# an FPS of 1200 of 8192 points takes ~9 ms per cloud on one CPU core,
# ~0.3 s per batch of 32: 8 workers keep up with a GPU step
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    dataset=dict(num_points=cache_points, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    dataset=dict(num_points=cache_points, pipeline=test_pipeline))
test_dataloader = val_dataloader

# the reference's add_weight_decay: cls_pos is decayed (see above)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'.cls_pos': dict(decay_mult=1.)}),
    clip_grad=dict(max_norm=10, norm_type=2))
