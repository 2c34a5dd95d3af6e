from .act_distill_head import ACTDistillHead  # noqa: F401
from .point_cls_head import ACTClsHead

__all__ = ['ACTClsHead']
