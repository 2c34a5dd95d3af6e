"""Gumbel temperature and KL-weight schedules of the ACT Stage I dVAE."""
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet3d.registry import HOOKS


def cosine_schedule(step: float, start: float, target: float,
                    ntime: float) -> float:
    """``target + (start - target) * (1 + cos(pi * step / ntime)) / 2``,
    ``start`` before step 0 and ``target`` after ``ntime`` (the reference's
    ``get_temp`` / ``compute_loss`` formula)."""
    if step < 0:
        return start
    if step > ntime:
        return target
    return target + (start - target) * (
        1. + math.cos(math.pi * float(step) / ntime)) / 2.


def gumbel_temperature(it: int, start=1., target=0.0625,
                       ntime=100000) -> float:
    """Reference ``get_temp(config, niter)``."""
    return cosine_schedule(it, start, target, ntime)


def kl_weight(it: int, start=0., target=0.1, ntime=100000,
              delay=10000) -> float:
    """Reference ``compute_loss``: 0 for ``it < delay``, then a cosine ramp
    from ``start`` to ``target`` over ``ntime`` iterations (so the target
    is reached at ``delay + ntime`` = 110k iterations)."""
    step = it - delay
    if step < 0:
        return 0.
    return cosine_schedule(step, start, target, ntime)


@HOOKS.register_module()
class DVAEScheduleHook(Hook):
    """Set the dVAE's Gumbel temperature and KL weight every iteration.

    Both are pure functions of the (0-based) global iteration, so a resumed
    run gets exactly the values of an uninterrupted one. The values are
    written to the model's ``temperature`` / ``kl_weight`` attributes before
    each training iteration and to the message hub as
    ``train/temperature`` and ``train/kl_weight`` (printed by the logger
    every interval).

    Args:
        temp_start, temp_target, temp_ntime: temperature cosine schedule
            (1 -> 0.0625 over 100k iterations).
        kl_start, kl_target, kl_ntime, kl_delay: KL weight: 0 for the first
            ``kl_delay`` (10k) iterations, then cosine ``kl_start`` ->
            ``kl_target`` (0 -> 0.1) over ``kl_ntime`` (100k) iterations.
    """

    priority = 'NORMAL'

    def __init__(self,
                 temp_start: float = 1.,
                 temp_target: float = 0.0625,
                 temp_ntime: int = 100000,
                 kl_start: float = 0.,
                 kl_target: float = 0.1,
                 kl_ntime: int = 100000,
                 kl_delay: int = 10000) -> None:
        if temp_ntime <= 0 or kl_ntime <= 0:
            raise ValueError('temp_ntime and kl_ntime must be positive')
        if min(temp_start, temp_target) <= 0:
            raise ValueError('Gumbel temperatures must be > 0, got '
                             f'temp_start={temp_start}, '
                             f'temp_target={temp_target}')
        self.temp_args = (temp_start, temp_target, temp_ntime)
        self.kl_args = (kl_start, kl_target, kl_ntime, kl_delay)

    def values(self, it: int):
        """(temperature, kl_weight) at global iteration ``it``."""
        return (gumbel_temperature(it, *self.temp_args),
                kl_weight(it, *self.kl_args))

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        temp, klw = self.values(runner.iter)
        model = self._model(runner)
        for name in ('temperature', 'kl_weight'):
            if not hasattr(model, name):
                raise AttributeError(
                    f'DVAEScheduleHook: model {type(model).__name__} has no '
                    f'"{name}" attribute to schedule')
        model.temperature = temp
        model.kl_weight = klw
        runner.message_hub.update_scalar('train/temperature', temp)
        runner.message_hub.update_scalar('train/kl_weight', klw)
