"""Headless pictures of what the model does
(tools/analysis_tools/visualize.py, hooks).

- :mod:`.clouds`: ``draw_groups``, ``draw_mask``, ``draw_reconstruction``,
  ``draw_partseg`` (arrays -> matplotlib figure);
- :mod:`.detection`: ``draw_detection`` (any mmdet3d 3D boxes);
- :mod:`.curves`: ``draw_curves`` (mmengine's ``vis_data/scalars.json``);
- :mod:`.tsne`: ``embed_tsne``, ``draw_tsne``;
- :mod:`.model_pictures`: a model on one dataset sample -> figure;
- :mod:`.api`: ``render`` / ``render_curves``, config + checkpoint -> PNGs;
- :mod:`.hook`: ``ACTVisualizationHook`` (registered in mmdet3d's HOOKS).

All figures are matplotlib ``Figure`` objects on an Agg canvas: no display.
"""
from .api import build_model, render, render_curves
from .canvas import DEFAULT_VIEWS, new_figure, save_figure
from .clouds import (draw_groups, draw_mask, draw_partseg,
                     draw_reconstruction, shape_miou)
from .curves import CURVE_KEYS, draw_curves
from .detection import BOX_EDGES, draw_detection
from .hook import ACTVisualizationHook
from .model_pictures import MODES, SAMPLE_MODES, draw_sample
from .tsne import draw_tsne, embed_tsne

__all__ = [
    'ACTVisualizationHook', 'BOX_EDGES', 'CURVE_KEYS', 'DEFAULT_VIEWS',
    'MODES', 'SAMPLE_MODES', 'build_model', 'draw_curves', 'draw_detection',
    'draw_groups', 'draw_mask', 'draw_partseg', 'draw_reconstruction',
    'draw_sample', 'draw_tsne', 'embed_tsne', 'new_figure', 'render',
    'render_curves', 'save_figure', 'shape_miou'
]
