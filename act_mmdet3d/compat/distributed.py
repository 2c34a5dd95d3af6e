"""Fixes 4-7 of :mod:`act_mmdet3d.compat`: mmengine's distributed launch,
DDP and FSDP wrappers on CPU-only machines (gloo)."""
import contextlib
import functools
import inspect

import torch


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
