# Demo_real.py with a 15-epoch fine-tune.
# Notes, sources and results: README.md beside this file.
_base_ = ['./demo_real.py']

grid = dict(teacher=['lm', 'lm_random'], target=['act', 'scratch'])

finetune_epochs = 15
_warmup = dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
               end=1, convert_to_iter_based=True)
_cosine = dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
               begin=1, T_max=finetune_epochs - 1, end=finetune_epochs,
               convert_to_iter_based=True)
common = {
    'finetune.train_cfg.max_epochs': finetune_epochs,
    'finetune.train_cfg.val_interval': 5,
    'finetune.param_scheduler': [_warmup, _cosine],
}
