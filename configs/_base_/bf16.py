# bfloat16 training, the one definition: every stage's optimizer steps run
# under bfloat16 autocast (weights, gradients and optimizer states stay
# float32) and the frozen Stage II teacher runs in bfloat16 too. Keys are
# 'STAGE.dotted.key' (stage1: Stage I, stage2: Stage II, finetune: the
# downstream config), as the axes of configs/ablation/_base_/axes.py; the
# `precision` axis and tools/demo_pipeline.py --amp both read it.
bf16 = {
    **{
        f'{stage}.optim_wrapper.type': 'BF16AutocastOptimWrapper'
        for stage in ('stage1', 'stage2', 'finetune')
    },
    'stage2.model.teacher_dtype': 'bfloat16',
}
