from .chamfer_metric import ChamferDistanceMetric  # noqa: F401
from .part_seg_metric import PartSegMetric
from .point_cls_metric import PointClsMetric

__all__ = ['PointClsMetric', 'PartSegMetric']
