"""Crash-safe checkpoints: atomic writes and the last complete checkpoint.

mmengine's ``CheckpointHook`` writes ``epoch_N.pth`` in place and, with
``max_keep_ckpts``, deletes the oldest checkpoint *before* writing the new
one; a process killed while writing leaves a truncated ``epoch_N.pth`` and,
with ``max_keep_ckpts=1``, no complete checkpoint at all (``last_checkpoint``
then names a deleted file). :class:`AtomicCheckpointHook` writes each
checkpoint to ``<name>.tmp``, flushes it to disk and renames it
(``os.replace`` is atomic on POSIX file systems), then rewrites
``last_checkpoint`` the same way, and only then deletes outdated
checkpoints. :func:`find_last_complete_checkpoint` is what ``tools/train.py
--resume`` uses to pick the newest checkpoint that was written completely.
"""
import glob
import os
import os.path as osp
import zipfile
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmdet3d.registry import HOOKS
from ..checkpoint import check_state_dict

TMP_SUFFIX = '.tmp'


def _fsync_dir(path: str) -> None:
    """Persist a rename (the directory entry) where the OS allows it."""
    try:
        fd = os.open(path or '.', os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def commit_file(tmp_path: str, path: str) -> None:
    """Flush ``tmp_path`` to disk and atomically rename it to ``path``."""
    with open(tmp_path, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(tmp_path, path)
    _fsync_dir(osp.dirname(path))


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see old or new, never
    a partial file."""
    tmp_path = path + TMP_SUFFIX
    with open(tmp_path, 'w') as f:
        f.write(text)
    commit_file(tmp_path, path)


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a completely written ``torch.save`` file.

    ``torch.save`` writes a zip archive whose central directory comes last,
    so a truncated file has none; reading it is cheap (no tensor data).
    Files of the legacy (non-zip) format are loaded to check them.
    """
    if not osp.isfile(path) or osp.getsize(path) == 0:
        return False
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                return any(
                    name.endswith('data.pkl') for name in archive.namelist())
        except (zipfile.BadZipFile, OSError, EOFError):
            return False
    try:
        from mmengine.runner.checkpoint import _load_checkpoint
        _load_checkpoint(path, map_location='cpu')
    except Exception:  # noqa: BLE001 - any failure means unusable
        return False
    return True


def find_last_complete_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume ``work_dir`` from, or None.

    The file named in ``work_dir/last_checkpoint`` if it is complete;
    otherwise the most recently written complete ``*.pth`` (not a
    ``best_*`` one) next to it or in ``work_dir`` (a warning names the
    unusable file).
    """
    record = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(record):
        with open(record) as f:
            named = f.read().strip() or None
    if named is not None and is_complete_checkpoint(named):
        return named
    folders = {work_dir}
    if named is not None:
        folders.add(osp.dirname(named))
    candidates = sorted(
        {
            p
            for d in folders for p in glob.glob(osp.join(d, '*.pth'))
            if not osp.basename(p).startswith('best_')  # no optimizer state
        },
        key=osp.getmtime,
        reverse=True)
    found = next((p for p in candidates if is_complete_checkpoint(p)), None)
    if named is not None:
        print_log(
            f'{record} names {named}, which is missing or incomplete '
            f'(killed while saving?); resuming from {found} instead',
            logger='current',
            level=30)
    return found


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose checkpoints survive a kill at any moment.

    Same arguments and file names as mmengine's ``CheckpointHook``. On a
    local file system each checkpoint (periodic and best) is written to
    ``<name>.tmp`` and renamed when complete, ``last_checkpoint`` is
    replaced atomically after that, and checkpoints beyond
    ``max_keep_ckpts`` are deleted last, so at every moment the work dir
    holds the previous complete checkpoint and a ``last_checkpoint`` naming
    a complete file. Leftover ``*.pth.tmp`` files of a killed run are
    removed when training starts. Other storage backends (no rename) fall
    back to mmengine's behaviour.
    """

    def _is_local(self) -> bool:
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not (self._is_local() and is_main_process()):
            return
        for path in glob.glob(osp.join(self.out_dir, '*.pth' + TMP_SUFFIX)):
            print_log(f'removing {path}, a checkpoint whose writing was '
                      'interrupted', logger='current', level=30)
            os.remove(path)

    def _atomic_save(self, runner, filename: str, **kwargs) -> None:
        """``runner.save_checkpoint`` to ``<filename>.tmp``, then rename."""
        tmp_name = filename + TMP_SUFFIX
        runner.save_checkpoint(self.out_dir, tmp_name, **kwargs)
        if is_main_process():
            commit_file(
                osp.join(self.out_dir, tmp_name),
                osp.join(self.out_dir, filename))

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self._is_local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = []
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        self._atomic_save(
            runner,
            ckpt_filename,
            file_client_args=self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_text(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in outdated:
            path = osp.join(self.out_dir, self.filename_tmpl.format(old))
            if osp.isfile(path):
                os.remove(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self._is_local():
            return super()._save_best_checkpoint(runner, metrics)
        save = runner.save_checkpoint

        def atomic_save(out_dir, filename, *args, **kwargs):
            save(out_dir, filename + TMP_SUFFIX, *args, **kwargs)
            if is_main_process():
                commit_file(
                    osp.join(out_dir, filename + TMP_SUFFIX),
                    osp.join(out_dir, filename))

        runner.save_checkpoint = atomic_save
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            del runner.save_checkpoint


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Refuse a checkpoint whose weights do not fit the model, naming it.

    mmengine loads ``load_from`` / ``--resume`` checkpoints with
    ``strict=False``: a checkpoint of another model only logs missing keys
    and training or testing goes on with random weights.
    ``tools/train.py --resume`` and ``tools/test.py`` register this hook;
    it compares the checkpoint's ``state_dict`` (``module.`` prefixes
    stripped) with the model's keys and shapes before anything is loaded.

    Args:
        filename (str): the checkpoint, named in the error.
    """

    priority = 'VERY_HIGH'

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict') if isinstance(
            checkpoint, dict) else None
        if not isinstance(state, dict):
            raise KeyError(f'checkpoint {self.filename} has no "state_dict" '
                           '(not an mmengine checkpoint?)')
        state = {
            (k[len('module.'):] if k.startswith('module.') else k): v
            for k, v in state.items()
        }
        model = runner.model
        if type(model).__name__.endswith('FullyShardedDataParallel'):
            return  # its state_dict() is a collective; strategy checks it
        model = model.module if is_model_wrapper(model) else model
        check_state_dict(model, state, f'checkpoint {self.filename}')
