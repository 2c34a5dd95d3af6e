from .act_distill_head import ACTDistillHead
from .point_cls_head import ACTClsHead
from .point_recon_head import PointReconHead
from .point_seg_head import ACTSegHead
from .three_detr_head import ThreeDETRHead

__all__ = [
    'ACTClsHead', 'ACTDistillHead', 'ACTSegHead', 'PointReconHead',
    'ThreeDETRHead'
]
