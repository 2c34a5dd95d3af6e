from .feature_propagation import (PointFeaturePropagation,
                                  interpolation_weights)
from .recon_block import CrossAttention, ReConBlock
from .point_tokenizer import (MiniPointNet, MiniPointNetReference,
                              PointGrouper, PointGroups,
                              build_position_embedding)
from .three_detr_transformer import (DETRMLP, DETRDecoder, DETREncoder,
                                     FourierPositionEmbedding,
                                     MaskedDETREncoder)

__all__ = [
    'MiniPointNet', 'MiniPointNetReference', 'PointGrouper', 'PointGroups',
    'build_position_embedding', 'PointFeaturePropagation',
    'interpolation_weights', 'CrossAttention', 'ReConBlock', 'DETRMLP',
    'DETRDecoder', 'DETREncoder', 'FourierPositionEmbedding',
    'MaskedDETREncoder'
]
