"""Pictures from a config and a checkpoint (what
``tools/analysis_tools/visualize.py`` and ``tools/demo_pipeline.py`` call).

Only the part of the model a mode needs is built and loaded, strictly:

================  ==========================================  ============
mode              module built from the config                checkpoint
================  ==========================================  ============
groups, mask      ``model.backbone`` (the student)            optional
                  or the whole model (a Stage I config)
tsne              ``model.backbone``, unmasked                optional
reconstruction    the Stage I teacher: ``model`` or           required
                  ``model.target_generator``
partseg,          the whole model                             required
detection
================  ==========================================  ============

A submodule is loaded from the checkpoint keys under its prefix
(``backbone.``, ``target_generator.``); without a checkpoint the module
keeps a seeded random initialisation, which the title says.
"""
import copy
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger, print_log
from torch import nn

from ..engine.checkpoint import load_prefixed_state_dict
from ..utils.config import load_config
from ..utils.scalars import read_scalars
from .canvas import save_figure
from .curves import draw_curves, label_runs
from .model_pictures import (MODES, SAMPLE_MODES, check_mode,
                             dataset_features, draw_sample, seeded)
from .tsne import draw_tsne, embed_tsne

NEEDS_CHECKPOINT = ('reconstruction', 'partseg', 'detection')
SPLITS = ('test', 'val', 'train')


# ------------------------------------------------------------- the model
def module_config(mode: str, cfg: Config) -> Tuple[dict, Optional[str]]:
    """The module config a mode builds, and the checkpoint prefix of its
    weights (None: the whole state dict)."""
    model = copy.deepcopy(cfg.model)
    if mode in ('groups', 'mask', 'tsne') and 'backbone' in model:
        sub, prefix = model.backbone, 'backbone.'
        if mode == 'tsne':
            sub.update(mask_ratio=0., out_indices=-1)
    elif mode == 'reconstruction' and 'target_generator' in model:
        sub, prefix = model.target_generator, 'target_generator.'
    else:
        sub, prefix = model, None
    if 'vit_name' in sub:
        # a Stage I teacher: its ViT comes with the checkpoint (or stays
        # random for the weight-free groups), no ViT weights file is read
        sub.update(vit_weights=None, allow_random_teacher=True)
    sub = ConfigDict(sub)
    # weights come from the checkpoint (or stay random): nothing is loaded
    # at build time
    for part in (sub, sub.get('backbone'), sub.get('target_generator')):
        if isinstance(part, dict) and 'init_cfg' in part:
            part.init_cfg = None
    return sub, prefix


def build_model(mode: str, cfg: Config, checkpoint: Optional[str] = None,
                seed: int = 0, device: Union[str, torch.device] = 'cpu'
                ) -> nn.Module:
    """The module ``mode`` runs (see the table above), loaded, in eval
    mode."""
    from mmdet3d.registry import MODELS
    check_mode(mode, SAMPLE_MODES + ('tsne', ))
    if checkpoint is None and mode in NEEDS_CHECKPOINT:
        raise ValueError(f'mode "{mode}" draws a trained model: give its '
                         'CHECKPOINT')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    sub, prefix = module_config(mode, cfg)
    with seeded(seed):
        module = MODELS.build(sub)
        if checkpoint is None and hasattr(module, 'init_weights'):
            # mmengine lists every parameter's init at INFO level
            logger = MMLogger.get_current_instance()
            level = logger.level
            logger.setLevel(logging.WARNING)
            try:
                module.init_weights()
            finally:
                logger.setLevel(level)
    if checkpoint is not None:
        load_prefixed_state_dict(module, checkpoint, prefix)
    return module.to(device).eval()


# ------------------------------------------------------------ the data
def default_split(cfg: Config) -> str:
    for split in SPLITS:
        loader = cfg.get(f'{split}_dataloader')
        if loader and loader.get('dataset'):
            return split
    raise KeyError(f'{cfg.filename}: no test / val / train dataloader')


def build_dataset(cfg: Config, split: Optional[str] = None):
    """The dataset of ``<split>_dataloader`` with its own pipeline
    (default: the first of test, val, train the config has)."""
    from mmdet3d.registry import DATASETS
    split = split or default_split(cfg)
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    loader = cfg.get(f'{split}_dataloader')
    if not loader or not loader.get('dataset'):
        raise KeyError(f'{cfg.filename}: no {split}_dataloader.dataset '
                       f'(pass --split with one of the others)')
    return DATASETS.build(copy.deepcopy(loader.dataset)), split


# ------------------------------------------------------------- pictures
def _stem(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def render(mode: str,
           config: str,
           checkpoint: Optional[str] = None,
           indices: Sequence[int] = (0, ),
           out_dir: str = 'work_dirs/vis',
           split: Optional[str] = None,
           cfg_options=None,
           seed: int = 0,
           mask_ratio: Optional[float] = None,
           max_samples: Optional[int] = None,
           device: str = 'cpu',
           draw_kwargs: Optional[Dict] = None,
           palette: bool = False) -> List[str]:
    """Draw ``mode`` for samples of a config's split; returns the PNGs.

    Files: ``<out_dir>/<mode>_<config name>_<split><index>.png`` (one per
    index), or ``tsne_<config name>_<split>.png`` (``max_samples``
    clouds evenly spaced over the split, default all).

    Args:
        mode (str): one of :data:`SAMPLE_MODES` or ``'tsne'``
            (``'curves'``: see :func:`render_curves`).
        config (str): the config file.
        checkpoint (str, optional): the trained weights (see the module
            table for which modes need one).
        indices (Sequence[int]): samples of the split.
        split (str, optional): 'test', 'val' or 'train' (default: the
            first the config has).
        cfg_options: overrides, a dict or ``['key=value', ...]``.
        seed (int): seeds random initialisation, pipeline, masks, noise.
        mask_ratio (float, optional): ``mask``: override the config's.
        max_samples (int, optional): ``tsne``: clouds embedded.
        draw_kwargs (dict, optional): ``size``, ``dpi``, ``views``, ``up``,
            ``score_thr`` ... for the draw function.
        palette (bool): 8-bit palette PNGs (see :func:`save_figure`).
    """
    check_mode(mode, MODES)
    if mode == 'curves':
        raise ValueError('mode "curves" reads work dirs: use render_curves '
                         '(tools/analysis_tools/visualize.py curves '
                         'WORK_DIR ...)')
    cfg = load_config(config, cfg_options)
    model = build_model(mode, cfg, checkpoint, seed, device)
    dataset, split = build_dataset(cfg, split)
    model_name = f'{cfg.model.type} ({osp.basename(config)})'
    ckpt_name = checkpoint if checkpoint is not None else ''
    draw_kwargs = dict(draw_kwargs or {})
    paths = []
    if mode == 'tsne':
        feats, labels = dataset_features(model, dataset, max_samples,
                                         seed=seed)
        fig = draw_tsne(embed_tsne(feats, seed), labels,
                        dataset.metainfo.get('classes'),
                        sample=f'{split} split, {len(labels)} clouds',
                        model=model_name, checkpoint=ckpt_name,
                        **draw_kwargs)
        paths.append(save_figure(
            fig, osp.join(out_dir, f'tsne_{_stem(config)}_{split}.png'),
            palette))
    else:
        for index in indices:
            fig = draw_sample(mode, model, dataset, index, split=split,
                              seed=seed, mask_ratio=mask_ratio,
                              draw_kwargs=draw_kwargs,
                              model_name=model_name, checkpoint=ckpt_name)
            name = f'{mode}_{_stem(config)}_{split}{index}.png'
            paths.append(save_figure(fig, osp.join(out_dir, name), palette))
    for path in paths:
        print_log(f'visualize: wrote {path}', logger='current')
    return paths


def render_curves(runs: Sequence[str],
                  out_file: str = 'work_dirs/vis/curves.png',
                  labels: Optional[Sequence[str]] = None,
                  keys: Optional[Sequence[str]] = None,
                  title: Optional[str] = None,
                  draw_kwargs: Optional[Dict] = None,
                  palette: bool = False) -> str:
    """Overlay the curves of work dirs (or ``scalars.json`` files) into
    ``out_file``; returns it."""
    if not runs:
        raise ValueError('curves: give at least one work dir')
    named = label_runs(runs, labels)
    records = {label: read_scalars(path) for label, path in named.items()}
    fig = draw_curves(records, keys, title=title, **(draw_kwargs or {}))
    save_figure(fig, out_file, palette)
    print_log(f'visualize: wrote {out_file}', logger='current')
    return out_file
