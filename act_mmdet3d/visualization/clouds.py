"""Pictures of single point clouds: tokenizer groups, Stage II masks, Stage I
reconstructions, part segmentations.

Every ``draw_*`` function takes arrays (numpy or torch, any device) and
returns a ``matplotlib.figure.Figure`` on an Agg canvas (save it with
:func:`~act_mmdet3d.visualization.canvas.save_figure`). Common keyword
arguments:

- ``size`` (tuple[int]): (width, height) of the PNG in pixels.
- ``dpi`` (int): dots per inch (text and marker scale). Defaults to 100.
- ``views`` (sequence): (name, elevation, azimuth) per column.
- ``up`` (str): the up axis of the clouds, ``'y'`` (ShapeNet-style object
  frames, the default), ``'z'`` or ``'-y'``.
- ``sample``, ``model``, ``checkpoint`` (str, optional): named in the
  title (``checkpoint=''`` reads "random init").
"""
from typing import Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..evaluation.metrics.part_seg_metric import shape_part_ious
from .canvas import (DEFAULT_VIEWS, cloud_grid, distinct_colors, font_size,
                     new_figure, point_size, scatter, set_equal_limits,
                     set_title, title_lines, to_plot_frame)

GREY = (0.72, 0.72, 0.72)
VISIBLE = (0.12, 0.47, 0.71)
MASKED = (0.93, 0.55, 0.50)


def as_numpy(x, name: str, ndim: Optional[int] = None,
             last: Optional[int] = None) -> np.ndarray:
    """``x`` as a numpy array, its shape checked (error names ``name``)."""
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f'{name} must have {ndim} dimensions, got shape '
                         f'{x.shape}')
    if last is not None and x.shape[-1] < last:
        raise ValueError(f'{name} must have >= {last} values in its last '
                         f'dimension, got shape {x.shape}')
    return x


def _frame(row_names, headline, *, size, dpi=100, views=DEFAULT_VIEWS,
           sample=None, model=None, checkpoint=None):
    fig = new_figure(size, dpi)
    top = set_title(fig, title_lines(headline, sample, model, checkpoint))
    # room for the views' names above the first row
    top -= font_size(fig) * 1.6 / (fig.get_figheight() * 72.)
    axes = cloud_grid(fig, row_names, views, top=top)
    return fig, axes


def _check_groups(points, centers, neighbor_idx):
    points = as_numpy(points, 'points', 2, 3)[:, :3]
    centers = as_numpy(centers, 'centers', 2, 3)[:, :3]
    idx = as_numpy(neighbor_idx, 'neighbor_idx', 2).astype(np.int64)
    if len(idx) != len(centers):
        raise ValueError(f'{len(centers)} centres but {len(idx)} groups of '
                         'neighbour indices')
    if idx.size and (idx.min() < 0 or idx.max() >= len(points)):
        raise ValueError(f'neighbor_idx must index the {len(points)} '
                         f'points, got values in [{idx.min()}, '
                         f'{idx.max()}]')
    return points, centers, idx


def draw_groups(points, centers, neighbor_idx, *,
                size=(960, 560), up: str = 'y', **kwargs) -> Figure:
    """The cloud as the tokenizer sees it: FPS centres and kNN groups.

    Args:
        points: (N, 3+) the input cloud (xyz first).
        centers: (G, 3) FPS centres.
        neighbor_idx: (G, K) indices into ``points`` of each group.

    Rows: the input cloud; every group in its own colour (overlapping
    groups: the later centre's colour), points in no group grey, centres
    black.
    """
    points, centers, idx = _check_groups(points, centers, neighbor_idx)
    g, k = idx.shape
    covered = np.zeros(len(points), dtype=bool)
    covered[idx.ravel()] = True
    headline = (f'tokenizer: {g} FPS centres x {k} nearest neighbours of '
                f'{len(points)} points ({covered.mean():.0%} of the points '
                'in a group)')
    fig, axes = _frame(['input', f'{g} groups + centres'], headline,
                       size=size, **kwargs)
    pts, ctr = to_plot_frame(points, up), to_plot_frame(centers, up)
    colors = distinct_colors(g)
    s = point_size(len(points), fig, axes.shape[1])
    for ax in axes[0]:
        scatter(ax, pts, [VISIBLE], s)
    for ax in axes[1]:
        scatter(ax, pts[~covered], [GREY], s * .6)
        scatter(ax, pts[idx.ravel()], np.repeat(colors, k, axis=0), s)
        scatter(ax, ctr, 'k', s * 2.5)
    set_equal_limits(axes, [pts])
    return fig


def draw_mask(points, centers, neighbor_idx, mask, *,
              size=(960, 560), up: str = 'y', **kwargs) -> Figure:
    """Stage II masking: the visible groups and the masked ones.

    Args:
        points: (N, 3+) the input cloud.
        centers: (G, 3) group centres.
        neighbor_idx: (G, K) group indices into ``points``.
        mask: (G,) bool, True where a group is masked (the student never
            sees its points).

    Rows: all groups, visible (blue) over masked (red, centres as x);
    what the student encodes: the visible groups only, each in its own
    colour.
    """
    points, centers, idx = _check_groups(points, centers, neighbor_idx)
    mask = as_numpy(mask, 'mask', 1).astype(bool)
    if len(mask) != len(centers):
        raise ValueError(f'mask has {len(mask)} entries for {len(centers)} '
                         'groups')
    g, k = idx.shape
    m = int(mask.sum())
    headline = (f'Stage II masking: {m} of {g} groups masked '
                f'({m / max(g, 1):.0%}); the student sees the other {g - m}')
    fig, axes = _frame(['visible / masked', 'student input'], headline,
                       size=size, **kwargs)
    pts, ctr = to_plot_frame(points, up), to_plot_frame(centers, up)
    s = point_size(len(points), fig, axes.shape[1])
    vis_idx, masked_idx = idx[~mask].ravel(), idx[mask].ravel()
    colors = distinct_colors(g)[~mask]
    for ax in axes[0]:
        scatter(ax, pts[masked_idx], [MASKED], s)
        scatter(ax, pts[vis_idx], [VISIBLE], s)
        scatter(ax, ctr[mask], [(0.75, 0.1, 0.1)], s * 2.5, marker='x',
                linewidths=.7)
        scatter(ax, ctr[~mask], 'k', s * 2.5)
    for ax in axes[1]:
        scatter(ax, pts[vis_idx], np.repeat(colors, k, axis=0), s)
        scatter(ax, ctr[~mask], 'k', s * 2.5)
    set_equal_limits(axes, [pts])
    return fig


def draw_reconstruction(points, coarse, fine, cd_l1: Optional[float] = None,
                        *, size=(960, 720), up: str = 'y',
                        **kwargs) -> Figure:
    """Stage I teacher: input vs coarse vs fine reconstruction.

    Args:
        points: (N, 3+) the input cloud.
        coarse: (M, 3) the coarse reconstruction (G * K / 4 points).
        fine: (F, 3) the fine reconstruction (G * K points).
        cd_l1 (float, optional): the sample's CD-L1 x 1000 (fine vs input),
            shown in the title.

    All rows share one colour scale (height), so shapes compare directly.
    """
    clouds = [as_numpy(c, n, 2, 3)[:, :3] for c, n in
              ((points, 'points'), (coarse, 'coarse'), (fine, 'fine'))]
    headline = 'Stage I teacher reconstruction'
    if cd_l1 is not None:
        headline += f': CD-L1 x1000 = {cd_l1:.2f} (fine vs input)'
    names = [f'input ({len(clouds[0])})', f'coarse ({len(clouds[1])})',
             f'fine ({len(clouds[2])})']
    fig, axes = _frame(names, headline, size=size, **kwargs)
    frames = [to_plot_frame(c, up) for c in clouds]
    z = np.concatenate([f[:, 2] for f in frames])
    lo, hi = z.min(), max(z.max(), z.min() + 1e-6)
    for row, pts in zip(axes, frames):
        s = point_size(len(pts), fig, axes.shape[1])
        for ax in row:
            scatter(ax, pts, pts[:, 2], s, cmap='viridis', vmin=lo, vmax=hi)
    set_equal_limits(axes, frames)
    return fig


def shape_miou(pred: np.ndarray, gt: np.ndarray,
               parts: Sequence[int]) -> float:
    """Mean part IoU of one shape, in % (``PartSegMetric``'s per-shape
    value: a part absent from both counts 100)."""
    return float(np.mean(shape_part_ious(pred, gt, parts)) * 100.)


def draw_partseg(points, pred, gt, parts: Optional[Sequence[int]] = None,
                 category: Optional[str] = None, *,
                 size=(960, 720), up: str = 'y', **kwargs) -> Figure:
    """ShapeNetPart: prediction vs ground truth, coloured by part.

    Args:
        points: (N, 3+) the cloud.
        pred: (N,) predicted global part ids.
        gt: (N,) ground-truth global part ids.
        parts (Sequence[int], optional): the part ids of the shape's
            category (``metainfo['seg_classes'][category]``); the mIoU is
            averaged over them. Default: the ids in ``gt``.
        category (str, optional): named in the title.

    Rows: ground truth, prediction, errors (wrong points red). The title
    gives the shape's mIoU as :class:`PartSegMetric` computes it.
    """
    points = as_numpy(points, 'points', 2, 3)[:, :3]
    pred = as_numpy(pred, 'pred', 1).astype(np.int64)
    gt = as_numpy(gt, 'gt', 1).astype(np.int64)
    if not len(points) == len(pred) == len(gt):
        raise ValueError(f'{len(points)} points, {len(pred)} predicted and '
                         f'{len(gt)} ground-truth labels: they must match')
    parts = sorted(set(gt.tolist())) if parts is None else list(parts)
    miou = shape_miou(pred, gt, parts)
    right = float((pred == gt).mean() * 100.)
    headline = (f'part segmentation{f" ({category})" if category else ""}: '
                f'shape mIoU {miou:.1f}%, {right:.1f}% of the points right')
    fig, axes = _frame(['ground truth', 'prediction', 'errors'], headline,
                       size=size, **kwargs)
    pts = to_plot_frame(points, up)
    # one colour per part of the category, shared by both rows; ids outside
    # the category (a wrong prediction) are black
    palette = distinct_colors(max(len(parts), 1))
    lookup = {p: palette[i] for i, p in enumerate(parts)}

    def colors(labels):
        return np.array([lookup.get(int(v), (0., 0., 0.)) for v in labels])

    s = point_size(len(points), fig, axes.shape[1])
    wrong = pred != gt
    err = np.where(wrong[:, None], (0.85, 0.1, 0.1), GREY)
    for row, c in zip(axes, (colors(gt), colors(pred), err)):
        for ax in row:
            scatter(ax, pts, c, s)
    handles = [
        _patch(lookup[p], f'part {p}') for p in parts
    ] + [_patch((0.85, 0.1, 0.1), f'wrong ({int(wrong.sum())})')]
    fig.subplots_adjust(bottom=0.06)
    fig.legend(handles=handles, loc='lower center', ncol=len(handles),
               fontsize=font_size(fig) * .8, frameon=False,
               handlelength=1., columnspacing=1.)
    set_equal_limits(axes, [pts])
    return fig


def _patch(color, label):
    from matplotlib.patches import Patch
    return Patch(facecolor=color, label=label)
