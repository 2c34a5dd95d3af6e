"""Fixes 1-3 of :mod:`act_mmdet3d.compat`: mmengine checkpoints (message hub
``HistoryBuffer`` objects, numpy scalars) under torch >= 2.6's
``torch.load(weights_only=True)``."""
import functools

import numpy as np
import torch


def _numpy_safe_globals():
    """Numpy objects that appear in mmengine checkpoints (arrays, scalars)."""
    safe = [np.ndarray, np.dtype]
    try:
        from numpy.core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy layout changed
        from numpy._core.multiarray import _reconstruct, scalar
    safe += [_reconstruct, scalar]
    # numpy >= 1.25 pickles dtypes as instances of ``np.dtypes.*DType``.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return safe


def register_checkpoint_safe_globals():
    """Allow ``torch.load(weights_only=True)`` on mmengine checkpoints."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 loads with weights_only=False anyway
        return
    from mmengine.logging import HistoryBuffer
    from mmengine.logging.message_hub import MessageHub  # noqa: F401
    add([HistoryBuffer] + _numpy_safe_globals())


def _history_buffer_getstate(self):
    # mmengine's own __getstate__ adds the class-level table of statistics
    # functions to the state; custom ones are re-registered on import.
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    state.pop('_statistics_methods', None)
    return state


def _history_buffer_setstate(self, state):
    state = dict(state)
    methods = state.pop('statistics_methods', {})  # old checkpoints
    self._set_default_statistics()
    self._statistics_methods.update(methods)
    self.__dict__.update(state)


def patch_history_buffer_pickling():
    """Pickle ``HistoryBuffer`` without its statistics-function table."""
    from mmengine.logging import HistoryBuffer
    if HistoryBuffer.__getstate__ is _history_buffer_getstate:
        return
    # kept so that tests can write checkpoints as plain mmengine does
    HistoryBuffer._mmengine_getstate = HistoryBuffer.__getstate__
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    HistoryBuffer.__setstate__ = _history_buffer_setstate


def patch_checkpoint_loading():
    """Safe load first; fall back to ``weights_only=False`` with a warning."""
    import pickle

    from mmengine.logging import print_log
    from mmengine.runner.checkpoint import CheckpointLoader
    load = CheckpointLoader._schemes.get('')
    if load is None or getattr(load, '__act_mmdet3d_patched__', False):
        return

    @functools.wraps(load)
    def load_from_local(filename, map_location):
        try:
            return load(filename, map_location)
        except pickle.UnpicklingError as error:
            if 'weights_only' not in str(error).lower():
                raise
            print_log(
                f'{filename} holds objects that torch.load(weights_only='
                'True) refuses (e.g. a checkpoint written by plain mmengine); '
                'loading it with weights_only=False. Only load checkpoints '
                'you trust.',
                logger='current',
                level=30)
            return torch.load(
                filename, map_location=map_location, weights_only=False)

    load_from_local.__act_mmdet3d_patched__ = True
    CheckpointLoader._schemes[''] = load_from_local
