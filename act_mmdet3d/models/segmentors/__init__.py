from .act_segmentor import ACTSegmentor

__all__ = ['ACTSegmentor']
