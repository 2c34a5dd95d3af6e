"""Pictures of 3D detections: a scene from above and in 3D, predicted vs
ground-truth boxes.

Works with mmdet3d's generic outputs: any ``BaseInstance3DBoxes`` (Depth,
LiDAR, Camera), i.e. ``Det3DDataSample.pred_instances_3d.bboxes_3d /
scores_3d / labels_3d`` and ``eval_ann_info['gt_bboxes_3d' /
'gt_labels_3d']``. mmdet3d's ``Det3DLocalVisualizer`` draws point clouds
through an open3d window (it needs a display or an offscreen OpenGL build)
and its bird's-eye view is LiDAR-centred without points, so the pictures
are drawn with matplotlib (Agg) from the boxes' ``corners``.
"""
from typing import Optional, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mmdet3d.structures import BaseInstance3DBoxes, DepthInstance3DBoxes
from .canvas import (distinct_colors, font_size, new_figure, set_title,
                     title_lines, to_plot_frame)
from .clouds import as_numpy

#: corner order of mmdet3d boxes: (x0y0z0, x0y0z1, x0y1z1, x0y1z0, x1y0z0,
#: x1y0z1, x1y1z1, x1y1z0) in the box frame
CORNER_BITS = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0],
                        [1, 0, 0], [1, 0, 1], [1, 1, 1], [1, 1, 0]])
#: the 12 edges: corner pairs that differ along one box axis
BOX_EDGES = tuple((i, j) for i in range(8) for j in range(i + 1, 8)
                  if np.abs(CORNER_BITS[i] - CORNER_BITS[j]).sum() == 1)
DET_VIEWS = (('oblique', 40., -60.), ('side', 20., 30.))
GT_COLOR = (0.1, 0.1, 0.1)


def as_boxes(boxes, name: str) -> Optional[BaseInstance3DBoxes]:
    """``BaseInstance3DBoxes`` as they are; an (M, 6/7) array as
    ``DepthInstance3DBoxes``; None stays None."""
    if boxes is None or isinstance(boxes, BaseInstance3DBoxes):
        return boxes
    array = torch.as_tensor(as_numpy(boxes, name), dtype=torch.float32)
    if array.dim() != 2 or array.size(-1) not in (6, 7):
        raise ValueError(f'{name} must be BaseInstance3DBoxes or an (M, 6/7) '
                         f'array of (x, y, z, dx, dy, dz[, yaw]), got shape '
                         f'{tuple(array.shape)}')
    return DepthInstance3DBoxes(array, box_dim=array.size(-1),
                                with_yaw=array.size(-1) == 7)


def up_axis_of(boxes: Optional[BaseInstance3DBoxes]) -> str:
    """The plot frame's up axis for a box type: z (Depth, LiDAR) or -y
    (Camera: y points down)."""
    if boxes is not None and getattr(boxes, 'YAW_AXIS', 2) == 1:
        return '-y'
    return 'z'


def _corners(boxes: Optional[BaseInstance3DBoxes], up: str) -> np.ndarray:
    if boxes is None or len(boxes) == 0:
        return np.zeros((0, 8, 3))
    return to_plot_frame(boxes.corners.detach().cpu().numpy(), up)


def _label(labels, i, class_names):
    if labels is None:
        return 'object'
    c = int(labels[i])
    if class_names is not None and 0 <= c < len(class_names):
        return str(class_names[c])
    return f'class {c}'


def draw_detection(points,
                   pred_boxes,
                   gt_boxes=None,
                   pred_scores=None,
                   pred_labels=None,
                   gt_labels=None,
                   class_names: Optional[Sequence[str]] = None,
                   score_thr: float = 0.,
                   max_boxes: int = 12,
                   max_points: int = 20000,
                   *,
                   size=(1200, 520),
                   dpi: int = 100,
                   views=DET_VIEWS,
                   up: Optional[str] = None,
                   sample: Optional[str] = None,
                   model: Optional[str] = None,
                   checkpoint: Optional[str] = None) -> Figure:
    """A scene from above and in 3D with predicted and true boxes.

    Args:
        points: (N, 3+) scene points (xyz first, the boxes' frame).
        pred_boxes: predicted ``BaseInstance3DBoxes`` (or (M, 6/7) Depth
            box array); None or empty: none.
        gt_boxes: ground-truth boxes, same types. Optional.
        pred_scores: (M,) scores; the ``max_boxes`` best with
            ``score >= score_thr`` are drawn, each with its score in the
            legend.
        pred_labels, gt_labels: (M,) class indices into ``class_names``.
        class_names (Sequence[str], optional): the dataset's classes.
        score_thr (float): lowest score drawn.
        max_boxes (int): most predictions drawn.
        max_points (int): points drawn (a seeded random subset beyond).
        up (str, optional): the up axis; default from the box type
            (z for Depth / LiDAR, -y for Camera).

    Panels: the top view (the ground plane, equal scales, ground truth
    annotated with its class) and ``views`` in 3D. Ground truth: black
    dashed; predictions: one colour each, legend "class score".
    """
    points = as_numpy(points, 'points', 2, 3)[:, :3]
    pred_boxes = as_boxes(pred_boxes, 'pred_boxes')
    gt_boxes = as_boxes(gt_boxes, 'gt_boxes')
    n_pred = 0 if pred_boxes is None else len(pred_boxes)
    scores = (np.ones(n_pred) if pred_scores is None else as_numpy(
        pred_scores, 'pred_scores', 1).astype(np.float64))
    if len(scores) != n_pred:
        raise ValueError(f'{n_pred} predicted boxes but {len(scores)} '
                         'scores')
    for labels, boxes, name in ((pred_labels, pred_boxes, 'pred_labels'),
                                (gt_labels, gt_boxes, 'gt_labels')):
        n = 0 if boxes is None else len(boxes)
        if labels is not None and len(as_numpy(labels, name)) != n:
            raise ValueError(f'{name} has {len(as_numpy(labels, name))} '
                             f'entries for {n} boxes')
    if up is None:
        up = up_axis_of(gt_boxes if pred_boxes is None else pred_boxes)
    keep = [i for i in np.argsort(-scores, kind='stable')
            if scores[i] >= score_thr][:max_boxes]
    pred_corners = _corners(pred_boxes, up)[keep]
    gt_corners = _corners(gt_boxes, up)

    rng = np.random.default_rng(0)
    if len(points) > max_points:
        points = points[rng.choice(len(points), max_points, replace=False)]
    pts = to_plot_frame(points, up)

    fig = new_figure(size, dpi)
    fs = font_size(fig)
    headline = (f'3D detection: {len(keep)} of {n_pred} predictions drawn '
                f'(score >= {score_thr:g}), {len(gt_corners)} ground-truth '
                'boxes')
    top = set_title(fig, title_lines(headline, sample, model, checkpoint))
    top -= fs * 1.6 / (fig.get_figheight() * 72.)
    cols = 1 + len(views)
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.1, top=top,
                        wspace=0.05)
    colors = distinct_colors(max(len(keep), 1))
    every = [pts] + [c.reshape(-1, 3) for c in (pred_corners, gt_corners)]
    allpts = np.concatenate(every)
    lo, hi = allpts.min(0), allpts.max(0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - 0.03 * span.max(), hi + 0.03 * span.max()

    # top view: the ground plane (plot x, y), equal scales
    ax = fig.add_subplot(1, cols, 1)
    ax.set_title('top', fontsize=fs * .85)
    ax.scatter(pts[:, 0], pts[:, 1], c=pts[:, 2], cmap='Greys', s=.5,
               linewidths=0, vmin=lo[2] - .5 * span[2], vmax=hi[2])
    for k, c in enumerate(gt_corners):
        _edges_2d(ax, c, GT_COLOR, '--')
        name = _label(gt_labels, k, class_names)
        ax.text(c[:, 0].mean(), c[:, 1].mean(), name, fontsize=fs * .6,
                ha='center', va='center', color=GT_COLOR)
    for k, c in enumerate(pred_corners):
        _edges_2d(ax, c, colors[k], '-')
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect('equal', adjustable='box')
    ax.tick_params(labelsize=fs * .6)

    for v, (view, elev, azim) in enumerate(views):
        ax = fig.add_subplot(1, cols, v + 2, projection='3d')
        ax.view_init(elev=elev, azim=azim)
        ax.set_title(view, fontsize=fs * .85)
        ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], c=pts[:, 2],
                   cmap='Greys', s=.3, linewidths=0, depthshade=False,
                   vmin=lo[2] - .5 * span[2], vmax=hi[2])
        for c in gt_corners:
            _edges_3d(ax, c, GT_COLOR, '--')
        for k, c in enumerate(pred_corners):
            _edges_3d(ax, c, colors[k], '-')
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_zlim(lo[2], hi[2])
        ax.set_box_aspect(tuple((hi - lo) / (hi - lo).max()), zoom=1.1)
        ax.tick_params(labelsize=fs * .5)

    handles = [Line2D([], [], color=GT_COLOR, linestyle='--',
                      label=f'ground truth ({len(gt_corners)})')]
    handles += [
        Line2D([], [], color=colors[k],
               label=f'{_label(pred_labels, i, class_names)} '
               f'{scores[i]:.2f}') for k, i in enumerate(keep)
    ]
    fig.legend(handles=handles, loc='lower center', fontsize=fs * .75,
               ncol=min(len(handles), 7), frameon=False)
    return fig


def _edges_2d(ax, corners, color, style):
    for i, j in BOX_EDGES:
        ax.plot(corners[[i, j], 0], corners[[i, j], 1], color=color,
                linestyle=style, linewidth=1.)


def _edges_3d(ax, corners, color, style):
    for i, j in BOX_EDGES:
        ax.plot(corners[[i, j], 0], corners[[i, j], 1], corners[[i, j], 2],
                color=color, linestyle=style, linewidth=1.)
