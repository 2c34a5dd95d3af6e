from .act_point_transformer import ACTPointTransformer

__all__ = ['ACTPointTransformer']
