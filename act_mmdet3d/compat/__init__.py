"""Every fix this project makes to another library, none applied on import.

``import act_mmdet3d`` only registers modules. The fixes below change other
libraries' functions at run time (nothing on disk is edited); each is
idempotent and can be applied on its own, and :func:`apply_all` applies
them all. Who applies them:

* the tools (``tools/train.py``, ``tools/test.py``, the analysis tools)
  call :func:`apply_all` before building anything;
* configs list ``'act_mmdet3d.compat.install'`` in ``custom_imports``
  (importing that module calls :func:`apply_all`). ``_base_/
  default_runtime.py`` does so for every config built on it rather than
  only for the configs that need mmcv's ops: each runner writes and
  resumes mmengine checkpoints (fixes 1-3) and may be launched on CPU
  (4-7), so a config run by plain mmengine / mmdet3d tools trains as it
  does through ``tools/train.py``. The detection configs inherit mmdet3d's
  own runtime and need fixes 8 and 9 on CPU: they name it themselves;
* the test suite applies them in ``tests/conftest.py``.

The fixes, by upstream library (pinned: torch >= 2.6, mmengine 0.10.7,
mmcv 2.1, mmdet3d 1.4, numpy >= 2.4). Each has a test in
``tests/test_compat.py`` that fails once upstream no longer needs it.

========  =================================================================
fix       upstream bug -> how it is fixed
========  =================================================================
1 mmengine  checkpoints hold ``HistoryBuffer`` / numpy objects that torch
            >= 2.6's ``torch.load(weights_only=True)`` refuses ->
            :func:`register_checkpoint_safe_globals` allows them.
2 mmengine  ``HistoryBuffer`` pickles its statistics-function table as
            ``getattr(HistoryBuffer, 'mean')``, refused by the safe
            unpickler -> :func:`patch_history_buffer_pickling` leaves it
            out and rebuilds it on unpickling.
3 mmengine  checkpoints written by plain mmengine still fail to load with
            ``weights_only=True`` -> :func:`patch_checkpoint_loading` falls
            back to ``weights_only=False`` with a warning naming the file.
4 mmengine  ``init_dist`` calls ``torch.cuda.set_device`` and configs say
            ``nccl`` -> :func:`patch_init_dist` uses gloo without CUDA.
5 mmengine  ``MMDistributedDataParallel`` passes ``device_ids`` that DDP
            rejects for CPU modules -> :func:`patch_ddp_for_cpu_modules`.
6 mmengine  ``FSDPStrategy`` passes a CUDA ``device_id`` to FSDP ->
            :func:`patch_fsdp_strategy_for_cpu` passes the CPU device.
7 mmengine  ``FSDPStrategy.load_optim_state_dict`` calls torch 2.0's
            ``FSDP.optim_state_dict_to_load(state, model, optim)``; torch
            >= 2.1 takes ``(model, optim, state)`` ->
            :func:`patch_fsdp_optim_state_loading`.
8 mmcv      2.1's point / box ops (``furthest_point_sample``,
            ``ball_query``, ``gather_points``, ``three_nn``, ``knn``,
            ``points_in_boxes_*``, ``nms3d`` ...) have CUDA kernels only ->
            :func:`install_mmcv_cpu_ops` dispatches CPU tensors to
            :mod:`act_mmdet3d.ops` (:mod:`.mmcv_cpu_ops`;
            ``ACT_MMCV_FALLBACK=0`` in the environment turns it off).
9 mmdet3d   1.4's ``indoor_eval`` calls ``float()`` on 1-d arrays, an error
            since numpy 2.4 -> :func:`patch_indoor_eval` (:mod:`.indoor_eval`).
========  =================================================================
"""
from .checkpoint_loading import (patch_checkpoint_loading,
                                 patch_history_buffer_pickling,
                                 register_checkpoint_safe_globals)
from .distributed import (patch_ddp_for_cpu_modules,
                          patch_fsdp_optim_state_loading,
                          patch_fsdp_strategy_for_cpu, patch_init_dist)
from .indoor_eval import patch_indoor_eval
from .mmcv_cpu_ops import install as install_mmcv_cpu_ops

FIXES = (register_checkpoint_safe_globals, patch_history_buffer_pickling,
         patch_checkpoint_loading, patch_init_dist, patch_ddp_for_cpu_modules,
         patch_fsdp_strategy_for_cpu, patch_fsdp_optim_state_loading,
         install_mmcv_cpu_ops, patch_indoor_eval)


def apply_all() -> None:
    """Apply every fix of :data:`FIXES` (idempotent)."""
    for fix in FIXES:
        fix()


__all__ = [
    'FIXES', 'apply_all', 'install_mmcv_cpu_ops', 'patch_checkpoint_loading',
    'patch_ddp_for_cpu_modules', 'patch_fsdp_optim_state_loading',
    'patch_fsdp_strategy_for_cpu', 'patch_history_buffer_pickling',
    'patch_indoor_eval', 'patch_init_dist', 'register_checkpoint_safe_globals'
]
