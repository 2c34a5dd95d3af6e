from .act_decoder import ACTDecoder

__all__ = ['ACTDecoder']
