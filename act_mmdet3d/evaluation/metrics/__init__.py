from .chamfer_metric import ChamferDistanceMetric  # noqa: F401
from .point_cls_metric import PointClsMetric

__all__ = ['PointClsMetric']
