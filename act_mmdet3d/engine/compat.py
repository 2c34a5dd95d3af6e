"""Runtime compatibility fixes for the pinned stack, applied on import.

Nothing in torch, mmengine, mmcv or mmdet3d is edited on disk; each fix wraps
one function at run time, is idempotent and is documented here:

* ``weights_only`` checkpoints (torch >= 2.6): mmengine 0.10.7 saves its
  ``message_hub`` (``HistoryBuffer`` objects holding numpy arrays) into every
  checkpoint and loads with plain ``torch.load``, which torch 2.6+ runs with
  ``weights_only=True``; ``--resume`` then fails. The globals such checkpoints
  need (mmengine's ``HistoryBuffer`` and numpy's array reconstruction) are
  registered as safe globals, so trusted mmengine checkpoints load while the
  safe unpickler stays on for everything else.
* CPU-only distributed launches: mmengine's ``init_dist`` calls
  ``torch.cuda.set_device`` unconditionally and mmengine configs default to
  the ``nccl`` backend. Without CUDA, ``init_dist`` switches ``nccl`` to
  ``gloo`` and skips ``set_device``; ``MMDistributedDataParallel`` drops
  ``device_ids`` for CPU modules (DDP rejects device ids for CPU modules).
"""
import contextlib
import functools

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
    import mmengine.dist
    import mmengine.dist.utils
    import mmengine.runner.runner as runner_module
    for module in (mmengine.dist.utils, mmengine.dist, runner_module):
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


def apply_compat_patches():
    """Apply every fix once (called by ``import act_mmdet3d``)."""
    global _APPLIED
    if _APPLIED:
        return
    register_checkpoint_safe_globals()
    patch_init_dist()
    patch_ddp_for_cpu_modules()
    _APPLIED = True
