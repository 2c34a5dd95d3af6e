"""One training stage of a multi-stage study: a ``tools/train.py`` run in
its own process, skipped when it finished before with the same inputs."""
import json
import os.path as osp
import subprocess
import sys
import time
from typing import Sequence

from .scalars import read_scalars

#: the repository root (the package is installed editable from it)
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint mmengine saved last in ``work_dir``."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise FileNotFoundError(f'{marker} not found: the stage saved no '
                                'checkpoint')
    with open(marker) as f:
        path = f.read().strip()
    if not osp.isfile(path):
        raise FileNotFoundError(f'{marker} names {path}, which is missing')
    return path


def run_stage(name: str, config: str, work_dir: str,
              cfg_options: Sequence[str], force: bool) -> dict:
    """Train ``config`` into ``work_dir`` with ``tools/train.py`` (run from
    the repository root, its log streaming to the terminal).

    Skipped when ``work_dir/done.json`` records the same config and options
    (unless ``force``). Returns ``dict(name, config, cfg_options, work_dir,
    checkpoint, seconds, ran, scalars)``, ``scalars`` being the run's
    :func:`~act_mmdet3d.utils.read_scalars` records.
    """
    done = osp.join(work_dir, 'done.json')
    if osp.isfile(done) and not force:
        with open(done) as f:
            record = json.load(f)
        if (record.get('config') == config
                and record.get('cfg_options') == list(cfg_options)):
            print(f'\n=== {name}: done before, skipped ({done}; --force '
                  'reruns)', flush=True)
            record.update(ran=False, scalars=read_scalars(work_dir))
            return record
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), config,
           '--work-dir', work_dir]
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    print(f'\n=== {name}: {" ".join(cmd[1:])}', flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO_ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f'{name} failed (exit {proc.returncode}): see the '
                           f'log above and {work_dir}')
    record = dict(name=name, config=config, cfg_options=list(cfg_options),
                  work_dir=work_dir, checkpoint=last_checkpoint(work_dir),
                  seconds=seconds)
    with open(done, 'w') as f:
        json.dump(record, f, indent=1)
    record.update(ran=True, scalars=read_scalars(work_dir))
    return record
