"""Checkpoint conversion from the reference code bases (ACT, Point-MAE,
Point-BERT, ReCon): one module per source layout holding its rule table,
:mod:`.rules` the table vocabulary, :mod:`.convert` the machinery.
``tools/model_converters/convert_checkpoint.py`` is the command line."""
from .convert import (ALIASES, LAYOUTS, PARTS, SOURCES,
                      CheckpointConversionError, ConversionReport,
                      check_against_target, convert_checkpoint,
                      convert_state_dict, detect_layout, get_layout,
                      infer_backbone_cfg, infer_cls_head_cfg,
                      infer_seg_head_cfg, infer_teacher_cfg,
                      load_source_checkpoint, target_shapes,
                      unwrap_state_dict)
from .rules import Layout, Rule

__all__ = [
    'PARTS', 'LAYOUTS', 'ALIASES', 'SOURCES', 'CheckpointConversionError',
    'ConversionReport', 'Layout', 'Rule', 'get_layout',
    'load_source_checkpoint', 'unwrap_state_dict', 'detect_layout',
    'convert_state_dict', 'infer_backbone_cfg', 'infer_cls_head_cfg',
    'infer_teacher_cfg', 'infer_seg_head_cfg', 'target_shapes',
    'check_against_target', 'convert_checkpoint'
]
