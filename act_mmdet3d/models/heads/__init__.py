from .point_cls_head import ACTClsHead

__all__ = ['ACTClsHead']
