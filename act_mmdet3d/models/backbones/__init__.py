from .act_point_transformer import ACTPointTransformer
from .act_scene_backbone import ACTSceneBackbone
from .recon_point_transformer import ReConPointTransformer

__all__ = ['ACTPointTransformer', 'ACTSceneBackbone', 'ReConPointTransformer']
