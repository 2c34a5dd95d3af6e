"""Runtime compatibility fixes for the pinned stack, applied on import.

Nothing in torch, mmengine, mmcv or mmdet3d is edited on disk; each fix wraps
one function at run time, is idempotent and is documented here:

* ``weights_only`` checkpoints (torch >= 2.6): mmengine 0.10.7 saves its
  ``message_hub`` (``HistoryBuffer`` objects holding numpy arrays) into every
  checkpoint and loads with plain ``torch.load``, which torch 2.6+ runs with
  ``weights_only=True``; ``--resume`` then fails. Two fixes:
  (1) ``HistoryBuffer`` no longer pickles its table of statistics functions
  (pickled as ``getattr(HistoryBuffer, 'mean')``, which the safe unpickler
  rightly refuses); it is rebuilt on unpickling. Together with registering
  ``HistoryBuffer`` and numpy's array/scalar reconstruction as safe globals,
  checkpoints written from now on load with ``weights_only=True``.
  (2) Checkpoints written by plain mmengine (which contain that ``getattr``)
  fall back to ``weights_only=False`` with a warning naming the file: load
  only checkpoints you trust, as with torch < 2.6.
* CPU-only distributed launches: mmengine's ``init_dist`` calls
  ``torch.cuda.set_device`` unconditionally and mmengine configs default to
  the ``nccl`` backend. Without CUDA, ``init_dist`` switches ``nccl`` to
  ``gloo`` and skips ``set_device``; ``MMDistributedDataParallel`` drops
  ``device_ids`` for CPU modules (DDP rejects device ids for CPU modules).
  mmengine's ``FSDPStrategy`` passes ``device_id=LOCAL_RANK`` (a CUDA
  index) to FSDP; without CUDA it passes the CPU device instead, which
  torch's FSDP supports with gloo. Its ``load_optim_state_dict`` (used by
  ``--resume``) calls ``FSDP.optim_state_dict_to_load`` with torch 2.0's
  argument order (state dict, model, optimizer); torch >= 2.1 takes
  (model, optimizer, state dict): it is called that way instead.
"""
import contextlib
import functools
import inspect

import numpy as np
import torch

_APPLIED = False


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


@contextlib.contextmanager
def _no_cuda_set_device():
    original = torch.cuda.set_device
    torch.cuda.set_device = lambda *args, **kwargs: None
    try:
        yield
    finally:
        torch.cuda.set_device = original


def _cpu_friendly_init_dist(init_dist):

    @functools.wraps(init_dist)
    def wrapper(launcher, backend='nccl', *args, **kwargs):
        if torch.cuda.is_available():
            return init_dist(launcher, backend, *args, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
        with _no_cuda_set_device():
            return init_dist(launcher, backend, *args, **kwargs)

    wrapper.__act_mmdet3d_patched__ = True
    return wrapper


def patch_init_dist():
    """Make ``launcher=pytorch|slurm`` work on CPU-only machines (gloo)."""
    import mmengine._strategy.distributed as strategy_module
    import mmengine.dist
    import mmengine.dist.utils
    import mmengine.runner.runner as runner_module
    for module in (mmengine.dist.utils, mmengine.dist, runner_module,
                   strategy_module):
        fn = getattr(module, 'init_dist', None)
        if fn is not None and not getattr(fn, '__act_mmdet3d_patched__',
                                          False):
            module.init_dist = _cpu_friendly_init_dist(fn)


def patch_ddp_for_cpu_modules():
    """Drop ``device_ids`` when mmengine wraps a CPU module in DDP."""
    from mmengine.model.wrappers import MMDistributedDataParallel
    init = MMDistributedDataParallel.__init__
    if getattr(init, '__act_mmdet3d_patched__', False):
        return

    @functools.wraps(init)
    def __init__(self, module, *args, **kwargs):
        devices = {p.device.type for p in module.parameters()}
        if devices <= {'cpu'}:
            kwargs['device_ids'] = None
            kwargs['output_device'] = None
        init(self, module, *args, **kwargs)

    __init__.__act_mmdet3d_patched__ = True
    MMDistributedDataParallel.__init__ = __init__


def patch_fsdp_strategy_for_cpu():
    """FSDP on the CPU device when CUDA is unavailable (gloo)."""
    try:
        from mmengine._strategy import FSDPStrategy
    except ImportError:  # pragma: no cover - torch without FSDP
        return
    wrap = FSDPStrategy._wrap_model
    if getattr(wrap, '__act_mmdet3d_patched__', False):
        return

    @functools.wraps(wrap)
    def _wrap_model(self, model):
        if torch.cuda.is_available():
            return wrap(self, model)
        cfg = dict(self.model_wrapper or dict(
            type='MMFullyShardedDataParallel'))
        cfg.setdefault('device_id', torch.device('cpu'))
        original, self.model_wrapper = self.model_wrapper, cfg
        try:
            return wrap(self, model)
        finally:
            self.model_wrapper = original

    _wrap_model.__act_mmdet3d_patched__ = True
    FSDPStrategy._wrap_model = _wrap_model


def patch_fsdp_optim_state_loading():
    """Call ``FSDP.optim_state_dict_to_load`` with torch >= 2.1's argument
    order (model, optimizer, state dict) when resuming an FSDP run."""
    try:
        from mmengine._strategy import FSDPStrategy
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    except ImportError:  # pragma: no cover - torch without FSDP
        return
    params = list(inspect.signature(FSDP.optim_state_dict_to_load).parameters)
    load = FSDPStrategy.load_optim_state_dict
    if params[:2] != ['model', 'optim'] or getattr(
            load, '__act_mmdet3d_patched__', False):
        return

    @functools.wraps(load)
    def load_optim_state_dict(self, state_dict: dict) -> None:
        optimizer = self.optim_wrapper.optimizer
        self.optim_wrapper.load_state_dict(
            FSDP.optim_state_dict_to_load(self.model, optimizer, state_dict))

    load_optim_state_dict.__act_mmdet3d_patched__ = True
    FSDPStrategy.load_optim_state_dict = load_optim_state_dict


def apply_compat_patches():
    """Apply every fix once (called by ``import act_mmdet3d``)."""
    global _APPLIED
    if _APPLIED:
        return
    register_checkpoint_safe_globals()
    patch_history_buffer_pickling()
    patch_checkpoint_loading()
    patch_init_dist()
    patch_ddp_for_cpu_modules()
    patch_fsdp_strategy_for_cpu()
    patch_fsdp_optim_state_loading()
    _APPLIED = True
