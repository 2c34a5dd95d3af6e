# The ACT analysis grid on the embedded demo data (tools/analysis_tools/ablate.py).
# Notes, sources and results: README.md beside this file.
_base_ = ['./_base_/axes.py']

stages = dict(
    stage1='configs/demo/'
    'act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py',
    stage2='configs/demo/act_vit-s_1xb16-coslr-3e_shapenet55-demo.py',
    finetune='configs/demo/vit-s_1xb16-coslr-6e_modelnet40-demo.py')

grid = dict(teacher=['random', 'none'], target=['act', 'mae'])
seeds = [0, 1]

# study variables ('{name}' in the axes), set with --set name=VALUE
variables = dict(vit_weights=None, lm_path=None)

# overrides of every cell: shorter runs than the demo pipeline's (Stage I
# as there, 2 epochs; Stage II 2 epochs instead of 6; fine-tune 3 instead
# of 6, each with 1 warm-up epoch and a cosine to the end), no pictures
schedule = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=None, eta_min=1e-6, by_epoch=True,
         begin=1, end=None, convert_to_iter_based=True),
]
stage2_epochs = 2
finetune_epochs = 3
common = {
    'stage1.custom_hooks': [
        dict(type='DVAEScheduleHook', temp_start=1., temp_target=0.0625,
             temp_ntime=400, kl_start=0., kl_target=0.1, kl_ntime=32,
             kl_delay=3),
    ],
    'stage2.train_cfg.max_epochs': stage2_epochs,
    'stage2.param_scheduler': [
        schedule[0],
        dict(schedule[1], T_max=stage2_epochs - 1, end=stage2_epochs),
    ],
    'stage2.default_hooks.checkpoint.interval': stage2_epochs,
    'stage2.custom_hooks': [],
    'finetune.train_cfg.max_epochs': finetune_epochs,
    'finetune.train_cfg.val_interval': finetune_epochs,
    'finetune.param_scheduler': [
        schedule[0],
        dict(schedule[1], T_max=finetune_epochs - 1, end=finetune_epochs),
    ],
    'finetune.custom_hooks': [dict(type='PreciseBNHook', num_iters=20)],
}

# the linear SVM probe (tools/analysis_tools/svm_probe.py) on the fine-tune config's
# splits: frozen max + mean pooled tokens of the Stage II student
svm = dict(C=0.01)

# the figures of the table: (name, stage, metric key in its log)
figures = [
    ('Stage I val CD-L1 x1000', 'stage1', 'CDL1'),
    ('Stage II last loss', 'stage2', 'loss'),
    ('SVM acc. %', 'svm', 'accuracy'),
    ('fine-tune OA %', 'finetune', 'overall_acc'),
]
