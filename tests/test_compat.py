"""The fixes of act_mmdet3d.compat: each works (applied by conftest.py, as
the tools apply them), and each is still needed: the upstream failure it
fixes still happens in a fresh process without it (a test here fails once
upstream fixes the bug, so the fix can be dropped)."""
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from _helpers import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _message_hub_checkpoint():
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('act_compat_test')
    hub.update_scalar('train/loss', np.float64(1.5))
    hub.update_scalar('train/loss', 0.5)
    hub.update_info('iter', 3)
    return dict(
        meta=dict(seed=np.int64(3), epoch=1),
        state_dict=dict(w=torch.ones(2)),
        message_hub=hub.state_dict())


def test_new_checkpoints_load_with_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(_message_hub_checkpoint(), path)
    ckpt = torch.load(path, weights_only=True)
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert buffer.mean() == pytest.approx(1.0)
    assert buffer.current() == pytest.approx(0.5)
    assert ckpt['meta']['seed'] == 3


def test_plain_mmengine_checkpoints_fall_back_with_a_warning(
        tmp_path, monkeypatch):
    """Plain mmengine pickles getattr(HistoryBuffer, 'mean'), which the safe
    unpickler refuses; mmengine's loader then falls back, naming the file."""
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader
    path = tmp_path / 'old.pth'
    monkeypatch.setattr(HistoryBuffer, '__getstate__',
                        HistoryBuffer._mmengine_getstate)
    torch.save(_message_hub_checkpoint(), path)
    monkeypatch.undo()
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        torch.load(path, weights_only=True)
    ckpt = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert ckpt['meta']['epoch'] == 1
    assert ckpt['message_hub']['log_scalars']['train/loss'].mean() == \
        pytest.approx(1.0)


def test_bad_checkpoint_file_is_named(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader
    path = tmp_path / 'truncated.pth'
    torch.save(dict(w=torch.ones(100)), path)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(Exception):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert path.stat().st_size == 50  # never rewritten


@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU path')
def test_pytorch_launcher_works_without_cuda(tmp_path):
    script = tmp_path / 'launch.py'
    script.write_text('''
import torch, act_mmdet3d.compat.install
from mmengine.dist import init_dist, get_world_size
from mmengine.model.wrappers import MMDistributedDataParallel
init_dist('pytorch', backend='nccl')
assert torch.distributed.get_backend() == 'gloo'
model = MMDistributedDataParallel(torch.nn.Linear(2, 2), device_ids=[0])
out = model(torch.ones(1, 2)).sum()
out.backward()
print('world', get_world_size())
''')
    env = dict(os.environ, RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
               MASTER_ADDR='127.0.0.1',
               MASTER_PORT=str(free_port()))
    proc = subprocess.run([sys.executable, str(script)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'world 1' in proc.stdout


# ------------------------------------------- the upstream bugs still exist

# Run in a fresh process that imports act_mmdet3d but applies no fix; each
# probe prints whether mmengine / mmcv / mmdet3d still fail without it.
_UPSTREAM_PROBES = r"""
import inspect, io, json, os, pickle
import numpy as np, torch
import act_mmdet3d  # registers only
from act_mmdet3d import compat
from mmengine.logging import HistoryBuffer, MessageHub

def checkpoint_bytes():
    hub = MessageHub.get_instance('probe')
    hub.update_scalar('train/loss', np.float64(1.5))
    buf = io.BytesIO()
    torch.save(dict(meta=dict(seed=np.int64(3)),
                    message_hub=hub.state_dict()), buf)
    return buf.getvalue()

def fails(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001
        # torch's message ends with the refused global
        return f'{type(error).__name__}: ...{str(error)[-400:]}'
    return None

out = {}
plain = checkpoint_bytes()
load = lambda data: torch.load(io.BytesIO(data), weights_only=True)
# 3: plain mmengine checkpoints do not load with torch's default
from mmengine.runner.checkpoint import CheckpointLoader
path = os.path.join(os.environ['PROBE_DIR'], 'plain.pth')
open(path, 'wb').write(plain)
out['patch_checkpoint_loading'] = fails(
    lambda: CheckpointLoader.load_checkpoint(path, map_location='cpu'))
# 2: with the safe globals only, HistoryBuffer's pickled getattr is refused
compat.register_checkpoint_safe_globals()
out['patch_history_buffer_pickling'] = fails(lambda: load(plain))
# 1: with HistoryBuffer pickled without getattr, the classes are refused
torch.serialization.clear_safe_globals()
compat.patch_history_buffer_pickling()
out['register_checkpoint_safe_globals'] = fails(
    lambda: load(checkpoint_bytes()))
if not torch.cuda.is_available():
    from mmengine.dist import init_dist
    # 4: init_dist needs CUDA (set_device, nccl)
    out['patch_init_dist'] = fails(lambda: init_dist('pytorch', 'nccl'))
    torch.distributed.init_process_group('gloo')
    # 5: MMDistributedDataParallel passes device_ids for a CPU module
    from mmengine.model.wrappers import MMDistributedDataParallel
    out['patch_ddp_for_cpu_modules'] = fails(
        lambda: MMDistributedDataParallel(torch.nn.Linear(2, 2),
                                          device_ids=[0]))
    # 6: FSDPStrategy hands FSDP a CUDA device index
    import mmengine._strategy.fsdp as fsdp_module
    seen = {}

    def build(cfg, default_args=None):
        seen.update(default_args)
        raise StopIteration

    fsdp_module.MODEL_WRAPPERS.build = build
    try:
        fsdp_module.FSDPStrategy()._wrap_model(torch.nn.Linear(2, 2))
    except StopIteration:
        pass
    out['patch_fsdp_strategy_for_cpu'] = (
        None if isinstance(seen['device_id'], torch.device) else
        f'device_id={seen["device_id"]!r} without CUDA')
# 7: mmengine calls FSDP.optim_state_dict_to_load with torch 2.0's order
from mmengine._strategy import FSDPStrategy
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
params = list(inspect.signature(FSDP.optim_state_dict_to_load).parameters)
source = inspect.getsource(FSDPStrategy.load_optim_state_dict)
out['patch_fsdp_optim_state_loading'] = (
    'optim_state_dict_to_load(state_dict, self.model' in
    source.replace('\n', '').replace(' ' * 12, '') and params[0] == 'model'
    and f'signature {params[:3]}, called (state_dict, model, optim)') or None
# 8: mmcv's point ops have no CPU kernel
import mmcv.ops
out['install_mmcv_cpu_ops'] = fails(
    lambda: mmcv.ops.furthest_point_sample(torch.rand(1, 16, 3), 4))
# 9: indoor_eval under numpy >= 2.4
from mmdet3d.evaluation.functional import indoor_eval
from mmdet3d.structures import Box3DMode, DepthInstance3DBoxes
box = DepthInstance3DBoxes(torch.tensor([[0., 0., 0., 1., 1., 1., 0.]]))
ann = dict(gt_bboxes_3d=box, gt_labels_3d=np.array([0]))
pred = dict(bboxes_3d=box, labels_3d=torch.tensor([0]),
            scores_3d=torch.tensor([0.9]))
out['patch_indoor_eval'] = fails(
    lambda: indoor_eval([ann], [pred], [0.25], ('a', ),
                        box_mode_3d=Box3DMode.DEPTH))
print('PROBES', json.dumps(out))
"""


@pytest.fixture(scope='module')
def upstream_failures(tmp_path_factory):
    """{fix name: the upstream error without the fix, or None}."""
    env = dict(os.environ, PYTHONPATH=ROOT, RANK='0', LOCAL_RANK='0',
               WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
               MASTER_PORT=str(free_port()),
               PROBE_DIR=str(tmp_path_factory.mktemp('probe')))
    proc = subprocess.run([sys.executable, '-c', _UPSTREAM_PROBES], env=env,
                          cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines()
                if line.startswith('PROBES '))
    return json.loads(line[len('PROBES '):])


_CPU_ONLY = ('patch_init_dist', 'patch_ddp_for_cpu_modules',
             'patch_fsdp_strategy_for_cpu')


# each fix -> a piece of the upstream error it fixes (so that a probe failing
# for another reason does not pass)
_EXPECTED = dict(
    register_checkpoint_safe_globals='multiarray.scalar',
    patch_history_buffer_pickling='getattr',
    patch_checkpoint_loading='add_safe_globals',
    patch_init_dist='NVIDIA driver',
    patch_ddp_for_cpu_modules='device_ids',
    patch_fsdp_strategy_for_cpu='device_id=0',
    patch_fsdp_optim_state_loading='called (state_dict, model, optim)',
    install_mmcv_cpu_ops='RuntimeError',  # no CPU kernel / no CUDA
    patch_indoor_eval='0-dimensional')


@pytest.mark.parametrize('fix', sorted(_EXPECTED))
def test_upstream_still_needs_the_fix(fix, upstream_failures):
    """Fails once upstream no longer has the bug: drop the fix then."""
    if fix in _CPU_ONLY and torch.cuda.is_available():
        pytest.skip('the bug shows without CUDA only')
    if fix == 'patch_indoor_eval' and \
            tuple(map(int, np.__version__.split('.')[:2])) < (2, 4):
        pytest.skip('the bug shows with numpy >= 2.4 only')
    error = upstream_failures[fix]
    assert error, f'upstream works without compat.{fix}: remove the fix'
    assert _EXPECTED[fix] in error, error


def test_every_fix_is_probed():
    from act_mmdet3d import compat
    assert set(_EXPECTED) == set(compat.__all__) - {'FIXES', 'apply_all'}
    assert len(compat.FIXES) == len(_EXPECTED)
