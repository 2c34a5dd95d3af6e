from .act_point_transformer import ACTPointTransformer
from .act_scene_backbone import ACTSceneBackbone
from .recon_point_transformer import ReConPointTransformer
from .three_detr_encoder import ThreeDETREncoder

__all__ = ['ACTPointTransformer', 'ACTSceneBackbone', 'ReConPointTransformer',
           'ThreeDETREncoder']
