from .act_distill_head import ACTDistillHead  # noqa: F401
from .point_cls_head import ACTClsHead
from .point_seg_head import ACTSegHead

__all__ = ['ACTClsHead', 'ACTSegHead']
