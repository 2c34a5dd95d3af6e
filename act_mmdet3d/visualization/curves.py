"""Training curves from mmengine's ``vis_data/scalars.json`` (the records
of :func:`act_mmdet3d.utils.read_scalars`)."""
import math
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..utils.scalars import train_curve, val_curve
from .canvas import distinct_colors, font_size, new_figure, set_title

#: the scalars drawn by default when a run logged them: (key, panel title)
CURVE_KEYS = (
    ('loss', 'training loss'),
    ('lr', 'learning rate'),
    ('temperature', 'Gumbel temperature'),
    ('kl_weight', 'KL weight'),
    ('acc', 'training accuracy (%)'),
    ('cos_sim', 'distillation cosine similarity'),
    ('overall_acc', 'validation OA (%)'),
    ('instance_mIoU', 'validation instance mIoU (%)'),
    ('CDL1', 'validation CD-L1 x1000'),
)


def curve(records: Sequence[dict], key: str):
    """``(xs, ys, x_name)`` of ``key``: against ``iter`` in training
    records, else against the epoch (``step``) of validation records."""
    xs, ys = train_curve(records, key)
    if xs:
        return xs, ys, 'iteration'
    return (*val_curve(records, key), 'epoch')


def draw_curves(runs: Mapping[str, Sequence[dict]],
                keys: Optional[Sequence[str]] = None,
                *,
                size=(1200, 700),
                dpi: int = 100,
                title: Optional[str] = None) -> Figure:
    """One panel per scalar, every run overlaid (e.g. pretrained vs
    scratch).

    Args:
        runs (Mapping[str, Sequence[dict]]): label -> records of
            :func:`~act_mmdet3d.utils.read_scalars`, drawn in this order.
        keys (Sequence[str], optional): scalars to draw. Default: those of
            :data:`CURVE_KEYS` any run logged.
        title (str, optional): first title line (default: the run labels).
    """
    if not runs:
        raise ValueError('draw_curves needs at least one run')
    titles = dict(CURVE_KEYS)
    logged = {k for records in runs.values() for r in records for k in r}
    if keys is None:
        keys = [k for k, _ in CURVE_KEYS if k in logged]
        if not keys:
            raise ValueError(f'none of the scalars {list(titles)} was logged '
                             f'(found {sorted(logged)}); pass keys=...')
    else:
        missing = [k for k in keys if k not in logged]
        if missing:
            raise KeyError(f'scalars {missing} were not logged by any run '
                           f'(found {sorted(logged)})')
    fig = new_figure(size, dpi)
    fs = font_size(fig)
    top = set_title(fig, title or ('training curves: ' +
                                   ' vs '.join(runs)))
    height_pt = fig.get_figheight() * 72.
    top -= fs * 1.8 / height_pt
    cols = min(len(keys), 3)
    rows = math.ceil(len(keys) / cols)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=fs * 2.6 / height_pt,
                        top=top, wspace=0.3, hspace=0.5 + 0.1 * (rows > 2))
    colors = distinct_colors(len(runs))
    for n, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, n + 1)
        x_name, steps = 'iteration', []
        for (label, records), color in zip(runs.items(), colors):
            xs, ys, x = curve(records, key)
            if xs:
                x_name = x
                steps += xs
                ax.plot(xs, ys, color=color, label=label, linewidth=1.2,
                        marker='o' if x == 'epoch' else None,
                        markersize=3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if x_name == 'epoch':  # whole epochs, even for a single one
            ax.set_xlim(min(steps) - .5, max(steps) + .5)
        ax.set_title(titles.get(key, key), fontsize=fs * .85)
        ax.set_xlabel(x_name, fontsize=fs * .75)
        ax.tick_params(labelsize=fs * .65)
        ax.grid(alpha=.3)
        if n == 0:
            ax.legend(fontsize=fs * .7)
    return fig


def label_runs(paths: Sequence[str],
               labels: Optional[Sequence[str]] = None) -> Dict[str, str]:
    """Label -> path, labels defaulting to the work dirs' names."""
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f'{len(labels)} labels for {len(paths)} runs')
    if labels is None:
        labels = [osp.basename(osp.normpath(p)) for p in paths]
        if len(set(labels)) < len(labels):
            labels = [osp.normpath(p) for p in paths]
    if len(set(labels)) < len(labels):
        raise ValueError(f'run labels must differ, got {list(labels)}')
    return dict(zip(labels, paths))
