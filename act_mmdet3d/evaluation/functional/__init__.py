from .target_diversity import code_perplexity, target_diversity

__all__ = ['code_perplexity', 'target_diversity']
