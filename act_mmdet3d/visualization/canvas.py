"""Headless matplotlib canvases shared by every picture of the package.

Figures are built as ``matplotlib.figure.Figure`` on an Agg canvas (never
through ``pyplot``), so no display, no global backend switch and no figure
left open. A picture is a grid of 3D panels: one row per cloud (input,
reconstruction, prediction, ...), one column per point of view, all with
the same, equal axis scales.
"""
import io
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: points of view (elevation, azimuth) in degrees, named in the panels
DEFAULT_VIEWS = (('oblique', 25., -60.), ('front', 5., -90.),
                 ('top', 89., -90.))
UP_AXES = ('y', 'z', '-y')


def check_size(size: Sequence[int]) -> Tuple[int, int]:
    """``(width, height)`` in pixels, each an int in [64, 8192]."""
    if len(size) != 2:
        raise ValueError(f'size must be (width, height), got {size!r}')
    w, h = (int(v) for v in size)
    if (w, h) != tuple(size) or not (64 <= w <= 8192 and 64 <= h <= 8192):
        raise ValueError('size must be two integers in [64, 8192] pixels, '
                         f'got {tuple(size)}')
    return w, h


def new_figure(size: Sequence[int] = (960, 640), dpi: int = 100) -> Figure:
    """A figure that saves to exactly ``size`` = (width, height) pixels.

    Agg truncates ``inches * dpi`` to an int, so a quarter pixel is added
    to keep e.g. 0.29 * 100 = 28.999... from losing a pixel.
    """
    w, h = check_size(size)
    if not 10 <= dpi <= 600:
        raise ValueError(f'dpi must be in [10, 600], got {dpi}')
    fig = Figure(figsize=((w + .25) / dpi, (h + .25) / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str, palette: bool = False) -> str:
    """Write ``fig`` as a PNG at its own size and dpi; returns ``path``.

    ``palette=True`` writes an 8-bit palette PNG (256 colours, no
    dithering): about 3x smaller, for pictures kept in a repository.
    """
    if not path.lower().endswith('.png'):
        raise ValueError(f'pictures are PNG files, got {path!r}')
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if not palette:
        fig.savefig(path, dpi=fig.dpi, format='png')
        return path
    from PIL import Image
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=fig.dpi, format='png')
    buffer.seek(0)
    with Image.open(buffer) as im:
        im.convert('RGB').quantize(
            colors=256, method=Image.Quantize.MEDIANCUT,
            dither=Image.Dither.NONE).save(path, format='PNG', optimize=True)
    return path


def font_size(fig: Figure) -> float:
    """A text size that stays readable from 320 to 1920 pixels wide."""
    width_px = fig.get_figwidth() * fig.dpi
    return float(np.clip(width_px / 80., 5., 11.))


def to_plot_frame(xyz: np.ndarray, up: str = 'y') -> np.ndarray:
    """(N, 3) coordinates rotated so that ``up`` is matplotlib's z.

    ``'y'``: y-up object frames (ShapeNet, ModelNet, ScanObjectNN, the
    demo shapes) -> (x, -z, y); ``'z'``: z-up frames (mmdet3d Depth /
    LiDAR) unchanged; ``'-y'``: y-down camera frames -> (x, z, -y). Each is
    a proper rotation, so shapes are never mirrored.
    """
    xyz = np.asarray(xyz, dtype=np.float64)[..., :3]
    if up == 'y':
        return np.stack([xyz[..., 0], -xyz[..., 2], xyz[..., 1]], axis=-1)
    if up == 'z':
        return xyz
    if up == '-y':
        return np.stack([xyz[..., 0], xyz[..., 2], -xyz[..., 1]], axis=-1)
    raise ValueError(f'up must be one of {UP_AXES}, got {up!r}')


def cloud_grid(fig: Figure,
               row_names: Sequence[str],
               views: Sequence[Tuple[str, float, float]] = DEFAULT_VIEWS,
               top: float = 0.86) -> np.ndarray:
    """(rows, views) array of 3D axes, rows named on the left, views on
    top, every panel without ticks (scales are equal, see
    :func:`set_equal_limits`)."""
    if not row_names or not views:
        raise ValueError('a picture needs at least one row and one view')
    fs = font_size(fig)
    rows, cols = len(row_names), len(views)
    axes = np.empty((rows, cols), dtype=object)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.01, top=top,
                        wspace=0., hspace=0.06)
    for r, name in enumerate(row_names):
        for c, (view, elev, azim) in enumerate(views):
            ax = fig.add_subplot(rows, cols, r * cols + c + 1,
                                 projection='3d')
            ax.view_init(elev=elev, azim=azim)
            ax.set_axis_off()
            if r == 0:
                ax.set_title(view, fontsize=fs * .85, pad=0)
            if c == 0:
                ax.text2D(-0.04, 0.5, name, transform=ax.transAxes,
                          rotation=90, va='center', ha='center',
                          fontsize=fs * .85)
            axes[r, c] = ax
    return axes


def set_equal_limits(axes: Sequence, clouds: Sequence[np.ndarray],
                     margin: float = 0.02) -> Tuple[np.ndarray, np.ndarray]:
    """One cube (objects) or box (scenes) of equal scale for every panel.

    Args:
        axes: 3D axes.
        clouds: (N_i, 3) plot-frame points that must be visible.

    Returns:
        tuple: the (3,) lower and upper limits used.
    """
    pts = np.concatenate([np.asarray(c).reshape(-1, 3) for c in clouds])
    if not len(pts):
        lo, hi = -np.ones(3), np.ones(3)
    else:
        lo, hi = pts.min(0), pts.max(0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - margin * span.max(), hi + margin * span.max()
    span = hi - lo
    for ax in np.ravel(axes):
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_zlim(lo[2], hi[2])
        # box edges proportional to the ranges: one unit is as long on
        # every axis
        ax.set_box_aspect(tuple(span / span.max()), zoom=1.4)
    return lo, hi


def scatter(ax, xyz: np.ndarray, color, size: float = 2.,
            **kwargs) -> None:
    """Scatter plot-frame points without depth shading (colours stay the
    legend's)."""
    xyz = np.asarray(xyz).reshape(-1, 3)
    kwargs.setdefault('linewidths', 0)
    if len(xyz):
        ax.scatter(xyz[:, 0], xyz[:, 1], xyz[:, 2], c=color, s=size,
                   depthshade=False, **kwargs)


def point_size(num_points: int, fig: Figure, cols: int) -> float:
    """Marker area (pt^2) that keeps ~1k-10k point clouds legible."""
    panel_px = fig.get_figwidth() * fig.dpi / max(cols, 1)
    return float(np.clip(panel_px / 60. * (2048. / max(num_points, 1))**.5,
                         .3, 12.))


def distinct_colors(n: int) -> np.ndarray:
    """(n, 3) RGB colours, neighbours in index order far apart in hue."""
    from matplotlib.colors import hsv_to_rgb
    golden = 0.618033988749895
    hue = (0.58 + np.arange(n) * golden) % 1.
    sat = np.where(np.arange(n) % 2, 0.75, 0.95)
    val = np.where(np.arange(n) % 3 == 2, 0.6, 0.85)
    return hsv_to_rgb(np.stack([hue, sat, val], axis=1))


def title_lines(headline: str, sample: Optional[str] = None,
                model: Optional[str] = None,
                checkpoint: Optional[str] = None) -> str:
    """Two-line title: what is shown, then sample / model / checkpoint."""
    details = []
    if sample:
        details.append(f'sample {sample}')
    if model:
        details.append(f'model {model}')
    if checkpoint is not None:
        details.append('checkpoint ' + (osp.basename(checkpoint)
                                        if checkpoint else 'none (random '
                                        'init)'))
    return headline + ('\n' + ' | '.join(details) if details else '')


def set_title(fig: Figure, text: str) -> float:
    """The figure title, its `` | ``-separated details wrapped to the
    figure width; returns the highest free figure fraction below it."""
    fs = font_size(fig)
    # a DejaVu Sans character is ~0.6 em wide on average
    width = int(fig.get_figwidth() * 72. / (fs * 0.6))
    lines = []
    for line in text.split('\n'):
        parts = line.split(' | ')
        current = parts[0]
        for part in parts[1:]:
            if len(current) + 3 + len(part) > width:
                lines.append(current)
                current = part
            else:
                current += ' | ' + part
        lines.append(current)
    fig.suptitle('\n'.join(lines), fontsize=fs, y=0.995, va='top')
    return 0.995 - (len(lines) * fs * 1.3 + 2.) / (fig.get_figheight() * 72.)

