from .point_tokenizer import (MiniPointNet, MiniPointNetReference,
                              PointGrouper, PointGroups,
                              build_position_embedding)

__all__ = [
    'MiniPointNet', 'MiniPointNetReference', 'PointGrouper', 'PointGroups',
    'build_position_embedding'
]
