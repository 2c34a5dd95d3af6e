from .act_cls_head import ACTClsHead
from .act_distill_head import ACTDistillHead
from .act_seg_head import ACTSegHead
from .point_recon_head import PointReconHead
from .three_detr_head import ThreeDETRHead

__all__ = [
    'ACTClsHead', 'ACTDistillHead', 'ACTSegHead', 'PointReconHead',
    'ThreeDETRHead'
]
