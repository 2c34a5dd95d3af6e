from .match_costs_3d import (AxisAlignedGIoU3DCost, Center3DL1Cost,
                             ObjectnessCost, aligned_giou_3d)

__all__ = [
    'AxisAlignedGIoU3DCost', 'Center3DL1Cost', 'ObjectnessCost',
    'aligned_giou_3d'
]
