"""ACTVisualizationHook: pictures of the model being trained, every N
epochs, under the work dir."""
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.dist import master_only
from mmengine.hooks import Hook

from mmdet3d.registry import HOOKS
from .canvas import check_size, save_figure
from .model_pictures import SAMPLE_MODES, check_mode, draw_sample, unwrap


@HOOKS.register_module()
class ACTVisualizationHook(Hook):
    """Save a few pictures of what the model does every ``interval`` epochs.

    In the spirit of mmdet3d's ``Det3DVisualizationHook`` (and, like it,
    off unless ``draw=True``), but for every ACT model: after each
    ``interval``-th training epoch ``e`` (the epochs where the demo configs
    validate), the model in eval mode draws ``modes`` (see
    ``tools/analysis_tools/visualize.py``: ``groups``, ``mask``,
    ``reconstruction``, ``partseg``, ``detection``) on the samples
    ``indices`` of the validation set (the training set when the config has
    no validation, as Stage II), written as
    ``<work_dir>/<out_dir>/epoch_<e>/<mode>_<split><index>.png``.

    The pictures are drawn with seeded random streams (data pipeline,
    masks, Gumbel noise) whose global states are restored afterwards, so a
    run trains the same with and without the hook. Only rank 0 draws.

    Args:
        draw (bool): draw at all. Defaults to False.
        interval (int): every ``interval`` epochs. Defaults to 1.
        modes (Sequence[str]): what to draw. Defaults to ``('groups',)``.
        indices (Sequence[int]): dataset samples drawn. Defaults to (0, 1).
        split (str): ``'val'`` (falls back to ``'train'`` without a
            validation loop) or ``'train'``.
        out_dir (str): folder under the work dir. Defaults to ``'vis'``.
        size (Sequence[int]): (width, height) in pixels.
        dpi (int): dots per inch. Defaults to 100.
        seed (int): seed of the pictures. Defaults to 0.
        mask_ratio (float, optional): ``mask``: override the model's.
        score_thr (float): ``detection``: lowest score drawn.
    """

    priority = 'LOW'

    def __init__(self,
                 draw: bool = False,
                 interval: int = 1,
                 modes: Sequence[str] = ('groups', ),
                 indices: Sequence[int] = (0, 1),
                 split: str = 'val',
                 out_dir: str = 'vis',
                 size: Sequence[int] = (640, 480),
                 dpi: int = 100,
                 seed: int = 0,
                 mask_ratio: Optional[float] = None,
                 score_thr: float = 0.3):
        if isinstance(modes, str):
            modes = [modes]
        for mode in modes:
            check_mode(mode, SAMPLE_MODES)
        if isinstance(interval, bool) or not isinstance(interval, int) \
                or interval < 1:
            raise ValueError(f'ACTVisualizationHook: interval must be an int '
                             f'>= 1, got {interval!r}')
        if split not in ('val', 'train'):
            raise ValueError("ACTVisualizationHook: split must be 'val' or "
                             f"'train', got {split!r}")
        if not indices or any(not isinstance(i, int) or i < 0
                              for i in indices):
            raise ValueError('ACTVisualizationHook: indices must be ints >= '
                             f'0, got {indices!r}')
        self.draw = draw
        self.interval = interval
        self.modes = tuple(modes)
        self.indices = tuple(indices)
        self.split = split
        self.out_dir = out_dir
        self.size = check_size(size)
        self.dpi = dpi
        self.seed = seed
        self.mask_ratio = mask_ratio
        self.score_thr = score_thr

    def _dataset(self, runner):
        """The dataset drawn from, and its split name."""
        if self.split == 'val' and runner.val_loop is not None:
            return runner.val_loop.dataloader.dataset, 'val'
        return runner.train_dataloader.dataset, 'train'

    def before_train(self, runner) -> None:
        """Fail before the first epoch on an index beyond the dataset."""
        if not self.draw:
            return
        dataset, split = self._dataset(runner)
        bad = [i for i in self.indices if i >= len(dataset)]
        if bad:
            raise IndexError(f'ACTVisualizationHook: indices {bad} are out '
                             f'of range: the {split} set has {len(dataset)} '
                             f'samples (0..{len(dataset) - 1})')

    def after_train_epoch(self, runner) -> None:
        if self.draw and self.every_n_epochs(runner, self.interval):
            self.draw_pictures(runner, runner.epoch + 1)

    @master_only
    def draw_pictures(self, runner, epoch: int) -> List[str]:
        """Draw every mode and index now; returns the files written."""
        dataset, split = self._dataset(runner)
        folder = osp.join(runner.work_dir, self.out_dir, f'epoch_{epoch}')
        model = unwrap(runner.model)
        name = type(model).__name__
        if getattr(runner.cfg, 'filename', None):
            name += f' ({osp.basename(runner.cfg.filename)})'
        draw_kwargs = dict(size=self.size, dpi=self.dpi)
        paths = []
        for mode in self.modes:
            kwargs = dict(draw_kwargs)
            if mode == 'detection':
                kwargs['score_thr'] = self.score_thr
            for index in self.indices:
                fig = draw_sample(
                    mode, model, dataset, index, split=split,
                    seed=self.seed, mask_ratio=self.mask_ratio,
                    draw_kwargs=kwargs, model_name=name,
                    checkpoint=f'epoch {epoch} (training)')
                paths.append(save_figure(
                    fig, osp.join(folder, f'{mode}_{split}{index}.png')))
        runner.logger.info(f'ACTVisualizationHook: {len(paths)} pictures '
                           f'in {folder}')
        return paths
