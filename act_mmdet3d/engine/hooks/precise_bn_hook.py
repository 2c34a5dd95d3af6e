"""PreciseBNHook: recompute BatchNorm statistics before validation."""
import itertools
from typing import List

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop

from mmdet3d.registry import HOOKS
from .rng_state_hook import preserved_rng_states


def bn_modules(model: nn.Module) -> List[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of ``model`` that track running statistics."""
    return [
        m for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        and m.track_running_stats
    ]


@torch.no_grad()
def update_bn_stats(model: nn.Module, data_loader, num_iters: int) -> int:
    """Set every BatchNorm's running mean / variance to the average batch
    statistics of ``num_iters`` training batches.

    The model runs in train mode (``mode='tensor'``, no gradient) with each
    BatchNorm's momentum set to ``None`` (a cumulative average), as
    fvcore's ``update_bn_stats`` and mmpretrain's ``PreciseBNHook``; the
    momenta and the model's mode are restored afterwards. BatchNorms that
    stay in eval mode under ``model.train()`` (frozen stages) keep their
    statistics. Only the running statistics change: no weight, and (with the caller's
    :func:`preserved_rng_states`) no random state.

    Args:
        model (nn.Module): an mmengine model (``data_preprocessor`` +
            ``forward(inputs, data_samples, mode='tensor')``).
        data_loader (Iterable): training batches.
        num_iters (int): batches to average over (fewer if the loader is
            shorter).

    Returns:
        int: the batches used.
    """
    was_training = model.training
    model.train()
    # frozen parts stay in eval mode under model.train(): their statistics
    # are the checkpoint's and are left alone
    bns = [bn for bn in bn_modules(model) if bn.training]
    if not bns:
        model.train(was_training)
        return 0
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average of the batch statistics
    used = 0
    try:
        for data in itertools.islice(data_loader, num_iters):
            data = model.data_preprocessor(data, True)
            model(**data, mode='tensor')
            used += 1
    finally:
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        model.train(was_training)
    return used


@HOOKS.register_module()
class PreciseBNHook(Hook):
    """Recompute the BatchNorm running statistics before every validation.

    A BatchNorm's running variance starts at 1 and moves 10% per iteration
    towards the batch variance. ACT's mini-PointNet starts with a batch
    variance near 1e-5 (std-0.02 conv init), so for about the first 100
    iterations eval mode normalises with statistics ~30x off and a short
    run validates at chance although it trains well. This hook replaces
    them by the average batch statistics of ``num_iters`` training batches
    under the current weights (mmpretrain's ``PreciseBNHook``, fvcore's
    ``update_bn_stats``).

    It runs at the end of every training epoch (iteration, for an
    iteration-based loop) that a validation follows, and at the end of
    training, before the checkpoint hook (a lower priority) saves: so the
    checkpoints that ``tools/test.py`` reads hold the same statistics the
    validation used. The random states are preserved, so the training that
    follows (and exact resume) does not change.

    Args:
        num_iters (int): training batches averaged. Defaults to 20.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, num_iters: int = 20):
        if num_iters < 1:
            raise ValueError(f'PreciseBNHook num_iters must be >= 1, got '
                             f'{num_iters}')
        self.num_iters = num_iters

    @staticmethod
    def _validates_after(runner, done: int, total: int) -> bool:
        """Whether training validates or ends after ``done`` of ``total``
        epochs / iterations (the rule of mmengine's train loops)."""
        loop = runner.train_loop
        return done == total or (
            runner.val_loop is not None and done >= loop.val_begin
            and done % loop.val_interval == 0)

    def after_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop) and self._validates_after(
                runner, runner.epoch + 1, loop.max_epochs):
            self._update(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop) and \
                self._validates_after(runner, runner.iter + 1, loop.max_iters):
            self._update(runner)

    def _update(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        with preserved_rng_states():
            used = update_bn_stats(model, runner.train_dataloader,
                                   self.num_iters)
        if used:
            print_log(f'PreciseBN: BatchNorm statistics recomputed from '
                      f'{used} training batches', logger='current')
