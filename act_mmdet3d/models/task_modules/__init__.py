from .match_costs_3d import (AxisAlignedGIoU3DCost, Center3DL1Cost,
                             ObjectnessCost, RotatedGIoU3DCost,
                             aligned_giou_3d, rotated_giou_3d)

__all__ = [
    'AxisAlignedGIoU3DCost', 'Center3DL1Cost', 'ObjectnessCost',
    'RotatedGIoU3DCost', 'aligned_giou_3d', 'rotated_giou_3d'
]
