"""t-SNE of frozen-encoder features, coloured by class (scikit-learn).

The reference draws its t-SNE figures with openTSNE from a separate runner;
here scikit-learn's ``TSNE`` (exact PCA initialisation, seeded) embeds the
max + mean pooled final tokens that ``tools/analysis_tools/svm_probe.py``
also uses.
"""
from typing import Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

from .canvas import (distinct_colors, font_size, new_figure, set_title,
                     title_lines)
from .clouds import as_numpy


def embed_tsne(features, seed: int = 0,
               perplexity: Optional[float] = None) -> np.ndarray:
    """2-D t-SNE embedding of (N, C) features.

    Args:
        features: (N, C), N >= 5.
        seed (int): ``random_state``.
        perplexity (float, optional): default ``min(30, (N - 1) / 3)``
            (it must stay below N).

    Returns:
        np.ndarray: (N, 2) float64.
    """
    from sklearn.manifold import TSNE
    x = as_numpy(features, 'features', 2).astype(np.float64)
    n = len(x)
    if n < 5:
        raise ValueError(f't-SNE needs at least 5 samples, got {n}')
    if not np.isfinite(x).all():
        raise ValueError('features contain NaN or inf')
    if perplexity is None:
        perplexity = min(30., (n - 1) / 3.)
    if not 0 < perplexity < n:
        raise ValueError(f'perplexity must be in (0, {n}), got {perplexity}')
    return TSNE(n_components=2, perplexity=perplexity, init='pca',
                random_state=seed).fit_transform(x)


def draw_tsne(embedding, labels, class_names: Optional[Sequence[str]] = None,
              *,
              size=(800, 700),
              dpi: int = 100,
              headline: Optional[str] = None,
              sample: Optional[str] = None,
              model: Optional[str] = None,
              checkpoint: Optional[str] = None) -> Figure:
    """Scatter a (N, 2) embedding coloured by the (N,) class labels.

    Args:
        embedding: (N, 2) e.g. from :func:`embed_tsne`.
        labels: (N,) int class indices.
        class_names (Sequence[str], optional): legend names.
        headline (str, optional): first title line.
        sample (str, optional): the data described (e.g. "test split, 60
            clouds").
    """
    emb = as_numpy(embedding, 'embedding', 2)
    labels = as_numpy(labels, 'labels', 1).astype(np.int64)
    if emb.shape[1] != 2 or len(emb) != len(labels):
        raise ValueError(f'embedding (N, 2) and labels (N,) must match, got '
                         f'{emb.shape} and {labels.shape}')
    fig = new_figure(size, dpi)
    fs = font_size(fig)
    classes = sorted(set(labels.tolist()))
    headline = headline or (f't-SNE of frozen-encoder features: '
                            f'{len(labels)} clouds, {len(classes)} classes')
    top = set_title(fig, title_lines(headline, sample, model, checkpoint))
    ax = fig.add_axes((0.04, 0.03, 0.66, top - 0.05))
    colors = distinct_colors(max(len(classes), 1))
    for color, c in zip(colors, classes):
        name = (class_names[c] if class_names is not None
                and 0 <= c < len(class_names) else f'class {c}')
        sel = labels == c
        ax.scatter(emb[sel, 0], emb[sel, 1], color=color, s=14,
                   label=f'{name} ({int(sel.sum())})', linewidths=0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect('equal', adjustable='datalim')
    ax.legend(loc='upper left', bbox_to_anchor=(1.02, 1.), fontsize=fs * .7,
              frameon=False)
    return fig
