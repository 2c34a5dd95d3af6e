"""tools/train.py, test.py, --resume and dist_train.sh on a tiny config."""
import json
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from _helpers import free_port

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PYTHON = sys.executable
CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_cls.py')
CLASSES = ('sphere', 'box', 'rod')


def _shape(cls, rng, n=96):
    if cls == 0:  # sphere
        p = rng.normal(size=(n, 3))
        p /= np.linalg.norm(p, axis=1, keepdims=True)
    elif cls == 1:  # box
        p = rng.uniform(-1, 1, size=(n, 3))
        axis = rng.integers(0, 3, n)
        p[np.arange(n), axis] = np.sign(p[np.arange(n), axis])
    else:  # rod
        p = rng.uniform(-1, 1, size=(n, 3)) * [0.1, 1, 0.1]
    p += rng.normal(scale=0.01, size=p.shape)
    return np.concatenate([p, np.zeros_like(p)], 1).astype(np.float32)


@pytest.fixture(scope='module')
def tiny_modelnet(tmp_path_factory):
    """ModelNet40-format data: shape names + FPS-cache pickles."""
    root = tmp_path_factory.mktemp('modelnet')
    (root / 'modelnet40_shape_names.txt').write_text('\n'.join(CLASSES) +
                                                     '\n')
    rng = np.random.default_rng(0)
    for split, per_class in (('train', 8), ('test', 4)):
        labels = [c for c in range(3) for _ in range(per_class)]
        points = [_shape(c, rng) for c in labels]
        with open(root / f'modelnet40_{split}_8192pts_fps.dat', 'wb') as f:
            pickle.dump([points, [np.array([c], np.int32) for c in labels]],
                        f)
    return str(root)


def _run(args, cwd=ROOT, env=None, timeout=600):
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env['PYTHONPATH'] = os.pathsep.join(
        p for p in (ROOT, full_env.get('PYTHONPATH')) if p)
    proc = subprocess.run(
        args, cwd=cwd, env=full_env, capture_output=True, text=True,
        timeout=timeout)
    assert proc.returncode == 0, (
        f'{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
        f'{proc.stderr[-5000:]}')
    return proc.stdout + proc.stderr


def _train(work_dir, data_root, *extra, launcher=None):
    opts = [f'train_dataloader.dataset.data_root={data_root}',
            f'val_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}']
    return _run([PYTHON, 'tools/train.py', CONFIG, '--work-dir',
                 str(work_dir), *extra, '--cfg-options', *opts])


def _params(ckpt):
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    return {k: v for k, v in state.items() if v.is_floating_point()}


def test_package_imports_and_registers():
    import act_mmdet3d
    from mmdet3d.registry import DATASETS, METRICS, MODELS, TRANSFORMS
    assert re.fullmatch(r'\d+\.\d+\.\d+', act_mmdet3d.__version__)
    for name in ('ACTPointTransformer', 'ACTClsHead', 'ACTClassifier'):
        assert MODELS.get(name) is not None, name
    for name in ('ModelNet40Dataset', 'ScanObjectNNDataset',
                 'ShapeNet55Dataset', 'ModelNetFewShotDataset'):
        assert DATASETS.get(name) is not None, name
    assert METRICS.get('PointClsMetric') is not None
    assert TRANSFORMS.get('PackPointClsInputs') is not None


def test_setup_is_idempotent():
    """A second run of the set-up command finds everything installed and
    installs nothing (no wall-clock limit: timings belong in benchmarks)."""
    out = _run(['bash', 'tools/setup_env.sh'])
    assert 'up to date' in out
    assert 'Successfully installed' not in out


@pytest.fixture(scope='module')
def full_run(tiny_modelnet, tmp_path_factory):
    work = tmp_path_factory.mktemp('full')
    log = _train(work, tiny_modelnet)
    return work, log


def test_train_writes_checkpoints_and_learns(full_run):
    work, log = full_run
    assert osp.isfile(work / 'epoch_1.pth')
    assert osp.isfile(work / 'epoch_2.pth')
    assert (work / 'last_checkpoint').read_text().strip().endswith(
        'epoch_2.pth')
    ckpt = torch.load(work / 'epoch_2.pth', map_location='cpu')
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 12
    assert 'overall_acc' in log and 'mean_acc' in log


def test_resume_continues_at_the_right_iteration(full_run, tiny_modelnet,
                                                 tmp_path):
    work, _ = full_run
    # epoch 1 only, then resume from its checkpoint for epoch 2
    first = tmp_path / 'first'
    _run([PYTHON, 'tools/train.py', CONFIG, '--work-dir', str(first),
          '--cfg-options', f'train_dataloader.dataset.data_root={tiny_modelnet}',
          f'val_dataloader.dataset.data_root={tiny_modelnet}',
          'train_cfg.max_epochs=1'])
    ckpt1 = first / 'epoch_1.pth'
    assert torch.load(ckpt1, map_location='cpu')['meta']['iter'] == 6
    log = _run([PYTHON, 'tools/train.py', CONFIG, '--work-dir', str(first),
                '--resume', str(ckpt1), '--cfg-options',
                f'train_dataloader.dataset.data_root={tiny_modelnet}',
                f'val_dataloader.dataset.data_root={tiny_modelnet}'])
    assert 'resumed epoch: 1, iter: 6' in log
    resumed = _params(first / 'epoch_2.pth')
    uninterrupted = _params(work / 'epoch_2.pth')
    assert resumed.keys() == uninterrupted.keys()
    for key, value in uninterrupted.items():
        torch.testing.assert_close(resumed[key], value, rtol=0, atol=1e-6,
                                   msg=key)
    # the checkpoint the run resumed from is untouched
    assert torch.load(ckpt1, map_location='cpu')['meta']['iter'] == 6


def test_test_tool_evaluates_a_checkpoint(full_run, tiny_modelnet, tmp_path):
    work, _ = full_run
    log = _run([PYTHON, 'tools/test.py', CONFIG, str(work / 'epoch_2.pth'),
                '--work-dir', str(tmp_path), '--cfg-options',
                f'test_dataloader.dataset.data_root={tiny_modelnet}'])
    assert re.search(r'overall_acc: \d', log)


def test_dist_train_two_processes_equal_one(full_run, tiny_modelnet,
                                            tmp_path):
    """2 gloo processes x batch 2 == 1 process x batch 4 (within 1e-5)."""
    work, _ = full_run
    opts = [f'train_dataloader.dataset.data_root={tiny_modelnet}',
            f'val_dataloader.dataset.data_root={tiny_modelnet}',
            'train_dataloader.batch_size=2']
    log = _run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
                str(tmp_path), '--cfg-options', *opts],
               env=dict(PYTHON=PYTHON, PORT=str(free_port()),
                        OMP_NUM_THREADS='1'))
    assert 'Distributed launcher: pytorch' in log or 'world_size: 2' in log
    two = _params(tmp_path / 'epoch_2.pth')
    one = _params(work / 'epoch_2.pth')
    assert torch.load(tmp_path / 'epoch_2.pth',
                      map_location='cpu')['meta']['iter'] == 12
    first_epoch = _params(work / 'epoch_1.pth')
    assert any(not torch.equal(v, first_epoch[k]) for k, v in one.items())
    for key, value in one.items():
        torch.testing.assert_close(two[key], value, rtol=0, atol=1e-5,
                                   msg=key)


def test_train_rejects_missing_config_and_checkpoint(tmp_path):
    # in-process (tools/train.py's main): two interpreter start-ups saved
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import train
    with pytest.raises(FileNotFoundError, match='no/such/config.py'):
        train.main(['no/such/config.py'])
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        train.main([CONFIG, '--resume', 'missing.pth', '--work-dir',
                    str(tmp_path / 'work')])
    assert not (tmp_path / 'work').exists()  # failed before writing


FAKE_SRUN = '''
"""Stand-in for SLURM's srun: --ntasks copies of the command on this
machine, each with the environment srun gives a task."""
import os
import subprocess
import sys

args, ntasks, i = sys.argv[1:], 1, 0
while i < len(args) and args[i].startswith('-'):
    if args[i] in ('-p', '-n', '-N', '-J'):
        i += 1
    elif args[i].startswith('--ntasks='):
        ntasks = int(args[i].split('=', 1)[1])
    i += 1
procs = [
    subprocess.Popen(args[i:], env=dict(
        os.environ, SLURM_PROCID=str(rank), SLURM_NTASKS=str(ntasks),
        SLURM_LOCALID=str(rank), SLURM_NODELIST='localhost',
        MASTER_ADDR='127.0.0.1'))
    for rank in range(ntasks)
]
sys.exit(max(p.wait() for p in procs))
'''

# records how the launch scripts call python, instead of running it
FAKE_PYTHON = '''
import json
import os
import sys

with open(os.environ['RECORD'], 'a') as f:
    f.write(json.dumps(dict(argv=sys.argv[1:],
                            rank=os.environ.get('SLURM_PROCID'))) + '\\n')
'''


def _executable(path, source):
    path.write_text(f'#!{PYTHON}\n{source}')
    path.chmod(0o755)
    return str(path)


def test_slurm_scripts_and_dist_test_on_cpu(tiny_modelnet, tmp_path):
    """slurm_train.sh under a stand-in srun: 2 tasks train and validate
    over gloo (mmengine's slurm launcher, CPU fixes). slurm_test.sh and
    dist_test.sh hand config, checkpoint, launcher and extra arguments to
    tools/test.py in the right order."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    _executable(bin_dir / 'srun', FAKE_SRUN)
    slurm_env = dict(PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
                     GPUS='2', GPUS_PER_NODE='2', OMP_NUM_THREADS='1',
                     MASTER_PORT=str(free_port()))
    work = tmp_path / 'slurm_work'
    opts = [f'train_dataloader.dataset.data_root={tiny_modelnet}',
            f'val_dataloader.dataset.data_root={tiny_modelnet}',
            'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2']
    log = _run(['bash', 'tools/slurm_train.sh', 'cpu', 'act', CONFIG,
                str(work), '--cfg-options', *opts],
               env=dict(slurm_env, PYTHON=PYTHON))
    assert 'Distributed launcher: slurm' in log
    assert re.search(r'Epoch\(val\) \[1\]\[2/2\]\s+overall_acc', log)
    ckpt = torch.load(work / 'epoch_1.pth', map_location='cpu')
    assert ckpt['meta']['iter'] == 6  # 24 samples / (2 tasks x batch 2)

    record = tmp_path / 'calls.jsonl'
    fake = _executable(tmp_path / 'python', FAKE_PYTHON)
    ckpt_path = str(work / 'epoch_1.pth')
    _run(['bash', 'tools/slurm_test.sh', 'cpu', 'act', CONFIG, ckpt_path,
          '--work-dir', 'out'],
         env=dict(slurm_env, PYTHON=fake, RECORD=str(record)))
    _run(['bash', 'tools/dist_test.sh', CONFIG, ckpt_path, '2', '--work-dir',
          'out'], env=dict(PYTHON=fake, RECORD=str(record)))
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    test_py = osp.join(ROOT, 'tools', 'test.py')
    slurm_calls = sorted(calls[:2], key=lambda c: c['rank'])
    assert [c['rank'] for c in slurm_calls] == ['0', '1']
    for call in slurm_calls:
        assert call['argv'] == ['-u', test_py, CONFIG, ckpt_path,
                                '--launcher=slurm', '--work-dir', 'out']
    dist = calls[2]['argv']
    assert dist[:2] == ['-m', 'torch.distributed.run']
    assert '--nproc_per_node=2' in dist
    assert dist[dist.index(test_py):] == [
        test_py, CONFIG, ckpt_path, '--launcher', 'pytorch', '--work-dir',
        'out']
