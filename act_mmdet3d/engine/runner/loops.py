"""Exact resume: a run killed mid-epoch and resumed ends as if never killed.

What mmengine restores on ``resume`` is the model, optimizer, parameter
schedulers, message hub and the epoch / iteration counters. Three things
are missing for a resumed run to reproduce an uninterrupted one:

* the random number generators (torch, CUDA, numpy, python): the mask
  sampling, drop path, the teacher's Gumbel noise and, with
  ``num_workers=0``, the data augmentation draw from them;
  :class:`RNGStateHook` stores them in every checkpoint;
* the position inside the epoch: ``EpochBasedTrainLoop`` restarts a resumed
  epoch from its first batch, so a checkpoint saved every N iterations
  (``CheckpointHook(by_epoch=False)``) replays batches;
  :class:`ExactResumeEpochBasedTrainLoop` skips the batches that were
  trained already (by loading them, as mmengine's ``IterBasedTrainLoop``
  does, so the data-loader workers' own RNG streams advance as in the
  uninterrupted run) and restores the generators exactly where they were
  saved: just before the next batch is drawn;
* a validation between epochs draws from the same generators (at least the
  data loader's base seed); the loop runs it with the training generators
  saved and restored, so the training trajectory does not depend on
  whether, or how often, it validates.

Samplers (mmengine's ``DefaultSampler`` shuffles with ``seed + epoch``),
worker seeds (``seed + rank * num_workers + worker_id``) and the schedules
(learning rate by the resumed scheduler state; Gumbel temperature and KL
weight are functions of the iteration, see ``DVAEScheduleHook``) need
nothing more. Limits: with ``persistent_workers=True`` and
``num_workers > 0`` the workers' RNG streams continue across epochs in an
uninterrupted run but restart in a resumed one; in distributed runs the
checkpoint holds rank 0's generators, which every rank restores (exact
when ranks share the seed, mmengine's default ``diff_rank_seed=False``).
"""
from typing import Optional

import torch
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from mmdet3d.registry import LOOPS
from ..hooks.rng_state_hook import (RNGStateHook, preserved_rng_states,
                                    set_rng_states)


@LOOPS.register_module()
class ExactResumeEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that resumes mid-epoch exactly.

    Same arguments as ``EpochBasedTrainLoop`` (the schedules in
    ``configs/_base_/schedules`` name it; ``default_runtime.py`` adds
    :class:`RNGStateHook`). A run resumed from a checkpoint saved after
    ``k`` iterations of an epoch skips the first ``k`` batches of the
    epoch's (identically shuffled) data and restores the RNG states saved
    by :class:`RNGStateHook` before drawing batch ``k + 1``; validation runs
    with the training RNG states preserved. With a fixed seed a run resumed
    at any checkpoint ends with the same parameters as an uninterrupted
    one (bitwise on CPU).
    """

    # RNGStateHook leaves restoring the generators to this loop
    restores_rng_states = True
    # the training RNG states while validation runs (None otherwise)
    training_rng_states: Optional[dict] = None
    # the states of the checkpoint resumed from, until restored
    _resume_rng: Optional[dict] = None

    def _rng_hook(self) -> Optional[RNGStateHook]:
        return next((h for h in self.runner.hooks
                     if isinstance(h, RNGStateHook)), None)

    def run(self) -> torch.nn.Module:
        self.runner.call_hook('before_train')
        hook = self._rng_hook()
        self._resume_rng = hook.pop_rng_states() if (
            hook is not None and self._iter > 0) else None
        if self._iter > 0 and hook is None:
            print_log(
                'ExactResumeEpochBasedTrainLoop: no RNGStateHook is '
                'registered, so the resumed run does not restore the random '
                'generators', logger='current', level=30)
        if self._iter > 0 and getattr(self.dataloader, 'persistent_workers',
                                      False):
            print_log(
                'resuming with persistent data-loader workers: their random '
                'augmentation streams restart, so the resumed run is not '
                'identical to an uninterrupted one (set persistent_workers='
                'False for exact resumes)', logger='current', level=30)
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None
                    and self._epoch >= self.val_begin
                    and (self._epoch % self.val_interval == 0
                         or self._epoch == self._max_epochs)):
                with preserved_rng_states() as states:
                    self.training_rng_states = states
                    try:
                        self.runner.val_loop.run()
                    finally:
                        self.training_rng_states = None
        self.runner.call_hook('after_train')
        return self.runner.model

    def _restore_rng(self) -> None:
        states, self._resume_rng = self._resume_rng, None
        if states is not None:
            set_rng_states(states)

    def run_epoch(self) -> None:
        """Iterate one epoch, skipping batches trained before a resume."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        num_batches = len(self.dataloader)
        done = self._iter - self._epoch * num_batches
        if not 0 <= done <= num_batches:
            raise RuntimeError(
                f'cannot resume at iteration {self._iter} of epoch '
                f'{self._epoch + 1}: the epoch has {num_batches} batches '
                '(did the dataset, batch size or number of processes change '
                'since the checkpoint was saved?)')
        if done == 0:
            self._restore_rng()
        if done < num_batches:
            batches = iter(self.dataloader)
            if done:
                print_log(
                    f'resuming inside epoch {self._epoch + 1}: skipping the '
                    f'{done} batches trained before the checkpoint',
                    logger='current')
                for _ in range(done):
                    next(batches)
                self._restore_rng()
            for idx, data_batch in enumerate(batches, start=done):
                self.run_iter(idx, data_batch)
        else:
            self._restore_rng()
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
