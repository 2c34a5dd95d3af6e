from .act_classifier import ACTClassifier

__all__ = ['ACTClassifier']
