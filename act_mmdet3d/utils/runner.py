"""Building and tearing down an mmengine runner, the same in every tool."""
import gc
import os
import tempfile

import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


def build_runner(cfg: Config) -> Runner:
    """The runner a config asks for: ``runner_type`` or mmengine's."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def check_work_dir(work_dir: str) -> None:
    """Raise ``PermissionError`` naming ``work_dir`` unless it can be
    created and written (before any training is done)."""
    try:
        os.makedirs(work_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=work_dir):
            pass
    except OSError as e:
        raise PermissionError(f'work dir {work_dir} is not writable '
                              f'({type(e).__name__}: {e})') from e


def shut_down_process_group() -> None:
    """Free the DDP model, then destroy the process group, before exit.

    Leaving gloo's worker threads (held by the process group and by DDP's
    reducer) to the interpreter's teardown sometimes aborted a rank after
    training had finished ("terminate called without an active exception").
    Call it after ``del runner``.
    """
    gc.collect()
    if torch.distributed.is_available() and \
            torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
