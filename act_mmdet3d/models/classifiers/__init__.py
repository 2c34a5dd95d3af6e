from .point_classifier import ACTClassifier

__all__ = ['ACTClassifier']
