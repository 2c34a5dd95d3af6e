"""Random generator states in checkpoints (the RNG half of exact resume).

:class:`RNGStateHook` stores the torch / CUDA / numpy / python generator
states in every checkpoint and hands them back on resume; the loop
:class:`~act_mmdet3d.engine.runner.ExactResumeEpochBasedTrainLoop`
restores them right before the next batch is drawn. See that module for
what else an exact resume needs.
"""
import contextlib
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from mmdet3d.registry import HOOKS


def get_rng_states() -> dict:
    """States of python's, numpy's, torch's (and CUDA's) global RNGs."""
    states = dict(
        python=random.getstate(),
        numpy=np.random.get_state(legacy=True),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    """Restore what :func:`get_rng_states` returned."""
    version, internal, gauss = states['python']
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(tuple(states['numpy']))
    torch.set_rng_state(states['torch'].cpu())
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in states['cuda']])


@contextlib.contextmanager
def preserved_rng_states():
    """Run a block without changing the global RNG states (yields them)."""
    states = get_rng_states()
    try:
        yield states
    finally:
        set_rng_states(states)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the global RNG states in checkpoints; hand them back on resume.

    ``before_save_checkpoint`` adds ``checkpoint['rng_states']`` (see
    :func:`get_rng_states`; checkpoints are written at the end of an
    iteration or epoch, where the states are those the next batch will
    start from). On resume the states are kept until the train loop
    restores them: :class:`ExactResumeEpochBasedTrainLoop` does so right
    before the next batch is drawn; other loops get them at
    ``before_train`` (approximate: data skipped after that point may draw
    from them).
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # during validation (e.g. a best checkpoint) the training states
        # are the ones set aside by ExactResumeEpochBasedTrainLoop
        loop = getattr(runner, '_train_loop', None)
        states = getattr(loop, 'training_rng_states', None)
        checkpoint['rng_states'] = states or get_rng_states()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('rng_states')

    def pop_rng_states(self) -> Optional[dict]:
        """The states of the checkpoint resumed from (once), or None."""
        states, self._pending = self._pending, None
        return states

    def before_train(self, runner) -> None:
        if getattr(runner.train_loop, 'restores_rng_states', False):
            return
        states = self.pop_rng_states()
        if states is not None and runner.iter > 0:
            set_rng_states(states)
