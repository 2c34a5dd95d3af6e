"""Point-cloud transforms of ACT (registered in mmdet3d's TRANSFORMS)."""
from .formatting import PackPointClsInputs
from .point_transforms import (NormalizePointsToUnitSphere, PointcloudRotate,
                               PointcloudScaleAndTranslate, PointSubsample)
from .utils import farthest_point_sample

__all__ = [
    'NormalizePointsToUnitSphere', 'PointcloudScaleAndTranslate',
    'PointcloudRotate', 'PointSubsample', 'PackPointClsInputs',
    'farthest_point_sample'
]
