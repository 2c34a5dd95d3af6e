from .act_point_transformer import ACTPointTransformer
from .act_scene_backbone import ACTSceneBackbone

__all__ = ['ACTPointTransformer', 'ACTSceneBackbone']
