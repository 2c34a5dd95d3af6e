"""The runtime fixes of act_mmdet3d.engine.compat."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import act_mmdet3d  # noqa: F401  (applies the fixes)
from _helpers import free_port


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
import torch, act_mmdet3d
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
