"""Scale and reliability: exact resume after SIGKILL, atomic checkpoints,
determinism and tools/analysis_tools/multi_seed.py, gradient accumulation,
FSDP.

The Stage II runs use configs/demo/act_vit-s_1xb16-coslr-3e_shapenet55-demo.py shrunk to a
tiny student and a tiny Stage I teacher written here (12 demo clouds,
batch 4: 3 iterations an epoch, 2 epochs, a checkpoint every 2
iterations), keeping everything random of the real run: random point
subsets and scale / translate in a data-loader worker, random masks, drop
path, the teacher's Gumbel noise and BatchNorm statistics, warm-up + cosine
learning rate.
"""
import glob
import json
import os
import os.path as osp
import pickle
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from _helpers import free_port
from mmengine.runner.checkpoint import save_checkpoint

import act_mmdet3d  # noqa: F401
from act_mmdet3d.engine.hooks import (AtomicCheckpointHook, DVAEScheduleHook,
                                      find_last_complete_checkpoint,
                                      get_rng_states, is_complete_checkpoint,
                                      set_rng_states)
from mmdet3d.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PYTHON = sys.executable
TEACHER = dict(
    type='ACTTeacherAutoencoder', num_groups=16, group_size=32,
    encoder_dims=48, num_tokens=64, tokens_dims=48, decoder_dims=24,
    vit_name='test_vit', num_prompts=4, allow_random_teacher=True)

STAGE2_CONFIG = """
_base_ = ['{root}/configs/demo/act_vit-s_1xb16-coslr-3e_shapenet55-demo.py']
custom_imports = dict(
    imports=['act_mmdet3d', 'act_test_kill_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='_ACTTestKillHook')]
data_root = '{root}/data/demo/ShapeNet55-34'
model = dict(
    backbone=dict(embed_dims=48, depth=2, num_heads=3, num_groups=16,
                  group_size=32, drop_path_rate=0.1),
    neck=dict(embed_dims=48, depth=1, num_heads=3, drop_path_rate=0.1),
    head=dict(in_channels=48, out_channels=24),
    target_generator=dict(
        num_groups=16, group_size=32, encoder_dims=48, num_tokens=64,
        tokens_dims=48, decoder_dims=24, transformer_type='vit', lm_path=None,
        vit_name='test_vit', num_prompts=4,
        init_cfg=dict(type='Pretrained', checkpoint='{teacher}')))
train_pipeline = [
    dict(type='PointSubsample', num_points=256, mode='random'),
    dict(type='NormalizePointsToUnitSphere'),
    dict(type='PointcloudScaleAndTranslate', scale_low=2. / 3.,
         scale_high=3. / 2., translate_range=0.2),
    dict(type='PackPointClsInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=1, persistent_workers=False,
    dataset=dict(data_root=data_root, indices=12, pipeline=train_pipeline))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1, eta_min=1e-6, by_epoch=True,
         begin=1, end=2, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=2)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=3))
"""

# Loaded by the training subprocesses (custom_imports): stops a run at a
# chosen moment, as a crash or a cluster pre-emption would.
KILL_HOOK = '''
import os
import signal
import time

from mmengine.hooks import Hook

from mmdet3d.registry import HOOKS


@HOOKS.register_module()
class _ACTTestKillHook(Hook):
    """ACT_TEST_BLOCK_AT=<iter>:<file>: before that iteration, write the
    file and wait to be SIGKILLed. ACT_TEST_DIE_SAVING=<iter>: SIGKILL
    this process half-way through writing that iteration's checkpoint."""

    def __init__(self):
        block = os.environ.get('ACT_TEST_BLOCK_AT', '')
        self.block_iter, _, self.flag = block.partition(':')
        self.die_iter = os.environ.get('ACT_TEST_DIE_SAVING', '')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if str(runner.iter) == self.block_iter:
            with open(self.flag + '.part', 'w') as f:
                f.write(str(os.getpid()))
            os.replace(self.flag + '.part', self.flag)
            time.sleep(300)

    def before_save_checkpoint(self, runner, checkpoint):
        if str(checkpoint['meta']['iter']) != self.die_iter:
            return
        from mmengine.fileio import LocalBackend

        def put(backend, obj, filepath):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

        LocalBackend.put = put
'''


# ------------------------------------------------------------ helpers
def _env(stage2, **extra):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=PYTHON, **extra)
    env['PYTHONPATH'] = os.pathsep.join([ROOT, stage2['mods']])
    return env


def _train(stage2, work_dir, *extra, **env):
    proc = subprocess.run(
        [PYTHON, 'tools/train.py', stage2['config'], '--work-dir',
         str(work_dir), *extra], cwd=ROOT, env=_env(stage2, **env),
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def _train_until_killed(stage2, work_dir, *extra, **env):
    """Run until the process SIGKILLs itself, or until it signals (by a
    flag file) that it waits at the chosen iteration, and SIGKILL it."""
    flag = str(work_dir) + '.waiting'
    if 'ACT_TEST_BLOCK_AT' in env:
        env['ACT_TEST_BLOCK_AT'] += ':' + flag
    with open(str(work_dir) + '.log', 'w') as log:
        proc = subprocess.Popen(
            [PYTHON, 'tools/train.py', stage2['config'], '--work-dir',
             str(work_dir), *extra], cwd=ROOT, env=_env(stage2, **env),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 240
        while proc.poll() is None and not osp.exists(flag):
            assert time.time() < deadline, 'the run neither died nor waited'
            time.sleep(0.05)
        if proc.poll() is None:  # waiting mid-epoch: kill it and its worker
            os.killpg(proc.pid, signal.SIGKILL)
        returncode = proc.wait()
    with open(str(work_dir) + '.log') as f:
        return returncode, f.read()


def _load(path):
    return torch.load(path, map_location='cpu')


def _flatten(obj, prefix=''):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _flatten(v, f'{prefix}.{k}')
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _flatten(v, f'{prefix}[{i}]')
    else:
        yield prefix, obj


def _assert_bitwise_equal(a, b, what):
    flat_a, flat_b = dict(_flatten(a)), dict(_flatten(b))
    assert flat_a.keys() == flat_b.keys(), what
    for key, value in flat_a.items():
        other = flat_b[key]
        if torch.is_tensor(value):
            assert value.dtype == other.dtype and torch.equal(
                value, other), f'{what}{key}'
        elif isinstance(value, np.ndarray):
            assert np.array_equal(value, other), f'{what}{key}'
        else:
            assert value == other, f'{what}{key}'


def _scalars(work_dir):
    """iteration -> (loss, lr) of every training record of every run
    (original and resumed) logged in ``work_dir``."""
    records = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if 'iter' in r:
                    records[r['iter']] = (r['loss'], r['lr'])
    return records


def _copy_work_dir(src, dst):
    """A copy of a work dir whose last_checkpoint names the copied file."""
    shutil.copytree(src, dst)
    record = dst / 'last_checkpoint'
    record.write_text(record.read_text().replace(str(src), str(dst)))
    return dst


# ------------------------------------------------------------ fixtures
@pytest.fixture(scope='module')
def stage2(tmp_path_factory):
    """The tiny Stage II config, its Stage I teacher checkpoint and the
    kill hook module."""
    root = tmp_path_factory.mktemp('stage2')
    torch.manual_seed(0)
    teacher = MODELS.build(TEACHER)
    teacher.init_weights()
    teacher_ckpt = str(root / 'teacher.pth')
    save_checkpoint(dict(state_dict=teacher.state_dict(), meta={}),
                    teacher_ckpt)
    mods = root / 'mods'
    mods.mkdir()
    (mods / 'act_test_kill_hook.py').write_text(KILL_HOOK)
    config = root / 'pretrain_tiny.py'
    config.write_text(STAGE2_CONFIG.format(root=ROOT, teacher=teacher_ckpt))
    return dict(root=root, config=str(config), teacher=teacher_ckpt,
                mods=str(mods))


@pytest.fixture(scope='module')
def seeds(stage2):
    """tools/analysis_tools/multi_seed.py with seeds 0 and 1 (seed 0 is the
    uninterrupted reference run of the resume tests)."""
    work = stage2['root'] / 'seeds'
    proc = subprocess.run(
        [PYTHON, 'tools/analysis_tools/multi_seed.py', stage2['config'],
         '--seeds', '0', '1', '--work-dir', str(work)], cwd=ROOT,
        env=_env(stage2), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return dict(work=work, out=proc.stdout, seed0=work / 'seed0',
                seed1=work / 'seed1')


@pytest.fixture(scope='module')
def chain(stage2, seeds):
    """killed_saving: SIGKILLed half-way through writing iter_4.pth.
    resumed: a copy of it resumed with --resume, SIGKILLed (from outside)
    before iteration 5, i.e. after 1 of the 3 batches of epoch 2.
    final: a copy of that resumed with --resume to the end."""
    root = stage2['root']
    killed = root / 'killed_saving'
    rc, log = _train_until_killed(stage2, killed, ACT_TEST_DIE_SAVING='4')
    assert rc == -signal.SIGKILL, log[-3000:]
    snapshot = {p.name: p.stat().st_size for p in killed.iterdir()}
    resumed = _copy_work_dir(killed, root / 'resumed')
    rc, resumed_log = _train_until_killed(
        stage2, resumed, '--resume', ACT_TEST_BLOCK_AT='4')
    assert rc == -signal.SIGKILL, resumed_log[-3000:]
    final = _copy_work_dir(resumed, root / 'final')
    final_log = _train(stage2, final, '--resume')
    return dict(killed=killed, snapshot=snapshot, resumed=resumed,
                resumed_log=resumed_log, final=final, final_log=final_log)


# --------------------------------------------------------- the kill tests
def test_kill_while_saving_leaves_the_last_complete_checkpoint(
        chain, seeds):
    killed = chain['killed']
    # the half-written file never got the checkpoint's name
    assert set(chain['snapshot']) >= {'iter_2.pth', 'iter_4.pth.tmp',
                                      'last_checkpoint'}
    assert 'iter_4.pth' not in chain['snapshot']
    assert not is_complete_checkpoint(str(killed / 'iter_4.pth.tmp'))
    assert (killed / 'last_checkpoint').read_text() == str(
        killed / 'iter_2.pth')
    assert find_last_complete_checkpoint(str(killed)) == str(
        killed / 'iter_2.pth')
    ckpt = _load(killed / 'iter_2.pth')
    assert ckpt['meta']['iter'] == 2
    # a fresh run with the same seed wrote the same iteration-2 state
    _assert_bitwise_equal(ckpt['state_dict'],
                          _load(seeds['seed0'] / 'iter_2.pth')['state_dict'],
                          'iter_2 state_dict')
    # --resume took iter_2 (last_checkpoint), removed the partial file and
    # continued inside epoch 1 (2 of its 3 batches were trained)
    log = chain['resumed_log']
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'iter_4.pth.tmp, a checkpoint whose writing was interrupted' in log
    assert 'skipping the 2 batches trained before' in log


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted_run(
        chain, seeds):
    reference = seeds['seed0']
    # killed after iteration 4 (1 of 3 batches of epoch 2) was saved
    assert (chain['resumed'] / 'last_checkpoint').read_text().endswith(
        'iter_4.pth')
    assert 'skipping the 1 batches trained before' in chain['final_log']
    assert 'resumed epoch: 1, iter: 4' in chain['final_log']
    ours, ref = _load(chain['final'] / 'iter_6.pth'), _load(reference /
                                                              'iter_6.pth')
    assert ours['meta']['iter'] == ref['meta']['iter'] == 6
    # parameters and buffers (teacher included), AdamW moments, lr
    # schedulers and the RNG states the run ended with: bitwise equal
    for key in ('state_dict', 'optimizer', 'param_schedulers',
                'rng_states'):
        _assert_bitwise_equal(ours[key], ref[key], key)
    # the same losses and learning rates at every iteration
    logged = _scalars(chain['final'])
    assert sorted(logged) == [1, 2, 3, 4, 5, 6]
    assert logged == _scalars(reference)
    assert len({lr for _, lr in logged.values()}) >= 4  # a real schedule


def test_teacher_stays_frozen_and_is_restored(chain, stage2, seeds):
    teacher = _load(stage2['teacher'])['state_dict']
    final = _load(chain['final'] / 'iter_6.pth')['state_dict']
    reference = _load(seeds['seed0'] / 'iter_6.pth')['state_dict']
    moved = []
    for key, value in teacher.items():
        ours = final['target_generator.' + key]
        assert torch.equal(ours, reference['target_generator.' + key]), key
        if 'running_' in key or 'num_batches' in key:
            moved.append(not torch.equal(ours, value))
        else:  # weights: exactly the Stage I checkpoint
            assert torch.equal(ours, value), key
    # 'reference' teacher mode updates the teacher's BatchNorm statistics:
    # they are part of the resumed state
    assert moved and any(moved)


def test_same_seed_reproduces_and_multi_seed_reports_mean_std(seeds):
    summary = json.loads((seeds['work'] / 'multi_seed.json').read_text())
    runs = summary['runs']
    assert [r['seed'] for r in runs] == [0, 1]
    losses = [r['figures']['loss'] for r in runs]
    # the figure is the last logged training loss of each run
    for run in runs:
        assert run['figures']['loss'] == _scalars(run['work_dir'])[6][0]
    assert losses[0] != losses[1]
    s = summary['summary']['loss']
    assert s['n'] == 2
    assert s['mean'] == pytest.approx(np.mean(losses))
    assert s['std'] == pytest.approx(np.std(losses, ddof=1))
    assert f'loss: {s["mean"]:.4f} +- {s["std"]:.4f}' in seeds['out']
    # different seeds, different models
    a = _load(seeds['seed0'] / 'iter_6.pth')['state_dict']
    b = _load(seeds['seed1'] / 'iter_6.pth')['state_dict']
    assert any(not torch.equal(a[k], b[k]) for k in a
               if k.startswith('backbone.'))


# ------------------------------------------------ atomic save, in-process
class _Killed(BaseException):
    """Stands for SIGKILL: no ``except Exception`` clean-up runs."""


class _StubRunner:
    """What ``CheckpointHook`` touches of a runner."""

    def __init__(self, work_dir, name):
        from mmengine.logging import MessageHub, MMLogger
        self.work_dir = str(work_dir)
        self.message_hub = MessageHub.get_instance(name)
        self.logger = MMLogger.get_instance(name)
        self.step = 0

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        # ~1 MB, so that half a file is a real truncation
        save_checkpoint(
            dict(state_dict=dict(w=torch.full((250000, ), self.step * 1.))),
            osp.join(out_dir, filename))


@pytest.mark.parametrize('hook_type', ['CheckpointHook',
                                       'AtomicCheckpointHook'])
def test_kill_during_save_with_max_keep_ckpts_1(tmp_path, monkeypatch,
                                                hook_type):
    """mmengine's hook deletes the previous checkpoint before writing the
    next: killed while writing, nothing loadable is left. The atomic hook
    keeps the previous one, byte-identical, and last_checkpoint names it."""
    from mmengine.fileio import LocalBackend
    from mmengine.hooks import CheckpointHook
    hook_cls = dict(CheckpointHook=CheckpointHook,
                    AtomicCheckpointHook=AtomicCheckpointHook)[hook_type]
    hook = hook_cls(interval=1, max_keep_ckpts=1)
    runner = _StubRunner(tmp_path, f'kill_save_{hook_type}')
    hook.before_train(runner)
    runner.step = 1
    hook._save_checkpoint_with_step(runner, 1, dict(epoch=1))
    first = (tmp_path / 'epoch_1.pth').read_bytes()

    def dying_put(backend, obj, filepath):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise _Killed

    monkeypatch.setattr(LocalBackend, 'put', dying_put)
    runner.step = 2
    with pytest.raises(_Killed):
        hook._save_checkpoint_with_step(runner, 2, dict(epoch=2))
    latest = find_last_complete_checkpoint(str(tmp_path))
    if hook_type == 'CheckpointHook':
        assert not (tmp_path / 'epoch_1.pth').exists()
        assert not is_complete_checkpoint(str(tmp_path / 'epoch_2.pth'))
        assert latest is None
    else:
        assert (tmp_path / 'epoch_1.pth').read_bytes() == first
        assert not (tmp_path / 'epoch_2.pth').exists()
        assert latest == str(tmp_path / 'epoch_1.pth')
        assert (tmp_path / 'last_checkpoint').read_text() == latest
        assert torch.equal(_load(latest)['state_dict']['w'],
                           torch.full((250000, ), 1.))
        assert sorted(os.listdir(tmp_path)) == [
            'epoch_1.pth', 'epoch_2.pth.tmp', 'last_checkpoint']
        # the restarted run removes the partial file, nothing else
        AtomicCheckpointHook(interval=1, max_keep_ckpts=1).before_train(
            _StubRunner(tmp_path, 'kill_save_restart'))
        assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth',
                                                'last_checkpoint']
        assert (tmp_path / 'epoch_1.pth').read_bytes() == first


def test_last_complete_checkpoint_skips_truncated_and_missing(tmp_path):
    for i in (1, 2):
        save_checkpoint(dict(state_dict=dict(w=torch.ones(1000) * i)),
                        str(tmp_path / f'epoch_{i}.pth'))
        os.utime(tmp_path / f'epoch_{i}.pth', (i, i))
    record = tmp_path / 'last_checkpoint'
    assert find_last_complete_checkpoint(str(tmp_path)) == str(
        tmp_path / 'epoch_2.pth')  # no record: the newest complete file
    data = (tmp_path / 'epoch_2.pth').read_bytes()
    (tmp_path / 'epoch_2.pth').write_bytes(data[:len(data) - 100])
    record.write_text(str(tmp_path / 'epoch_2.pth'))
    assert find_last_complete_checkpoint(str(tmp_path)) == str(
        tmp_path / 'epoch_1.pth')
    record.write_text(str(tmp_path / 'epoch_9.pth'))  # deleted file
    assert find_last_complete_checkpoint(str(tmp_path)) == str(
        tmp_path / 'epoch_1.pth')
    record.write_text('')  # truncated record
    assert find_last_complete_checkpoint(str(tmp_path)) == str(
        tmp_path / 'epoch_1.pth')
    (tmp_path / 'epoch_1.pth').unlink()
    assert find_last_complete_checkpoint(str(tmp_path)) is None


def test_rng_states_round_trip_through_a_checkpoint(tmp_path):
    import random
    states = get_rng_states()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    path = str(tmp_path / 'rng.pth')
    save_checkpoint(dict(rng_states=states), path)
    set_rng_states(torch.load(path, weights_only=True)['rng_states'])
    assert (random.random(), np.random.rand(),
            torch.rand(1).item()) == expected


def test_dvae_schedules_are_a_function_of_the_iteration():
    """Gumbel temperature and KL weight need no saved state: a resumed run
    at iteration k sets exactly the uninterrupted run's values."""

    class Model:
        temperature = kl_weight = None

    class Runner:
        def __init__(self, it):
            from mmengine.logging import MessageHub
            self.iter, self.model = it, Model()
            self.message_hub = MessageHub.get_instance('dvae_schedule_test')

    kwargs = dict(temp_ntime=20, kl_ntime=8, kl_delay=3)
    uninterrupted = DVAEScheduleHook(**kwargs)
    resumed = DVAEScheduleHook(**kwargs)
    values = {}
    for it in range(15):
        runner = Runner(it)
        uninterrupted.before_train_iter(runner, 0)
        values[it] = (runner.model.temperature, runner.model.kl_weight)
    for it in (7, 11, 14):
        runner = Runner(it)
        resumed.before_train_iter(runner, 0)
        assert (runner.model.temperature, runner.model.kl_weight) == \
            values[it]
    assert values[14][0] < values[7][0] and values[14][1] > values[7][1] > 0


# ------------------------------------------------ gradient accumulation
def _tiny_modelnet(root):
    """ModelNet40 FPS-cache pickles of 3 synthetic classes (24 + 6)."""
    (root / 'modelnet40_shape_names.txt').write_text('sphere\nbox\nrod\n')
    rng = np.random.default_rng(0)
    for split, per_class in (('train', 8), ('test', 2)):
        labels = [c for c in range(3) for _ in range(per_class)]
        clouds = []
        for c in labels:
            p = rng.normal(size=(96, 3)) * [1, 1 + c, 1 - 0.4 * c]
            clouds.append(np.concatenate([p, np.zeros_like(p)],
                                         1).astype(np.float32))
        with open(root / f'modelnet40_{split}_8192pts_fps.dat', 'wb') as f:
            pickle.dump([clouds, [np.array([c], np.int32) for c in labels]],
                        f)
    return str(root)


def test_accumulate_two_equals_double_batch(tmp_path):
    """--accumulate 2 at batch 4 == batch 8 (same 24 samples, same order).
    The tiny classifier's tokenizer is frozen (BatchNorm in eval mode):
    with BatchNorm batch statistics, 2 x 4 samples normalise differently
    from 8 and the runs would differ by design."""
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import train
    data = _tiny_modelnet(tmp_path)
    config = osp.join(ROOT, 'tests', 'data', 'tiny_cls.py')

    def run(name, batch, *extra):
        work = tmp_path / name
        train.main([
            config, '--work-dir', str(work), *extra, '--cfg-options',
            f'train_dataloader.dataset.data_root={data}',
            f'val_dataloader.dataset.data_root={data}',
            f'train_dataloader.batch_size={batch}', f'experiment_name={name}',
            'train_cfg.val_interval=10'
        ])
        ckpt = _load(work / 'epoch_2.pth')
        return ckpt['meta']['iter'], ckpt['state_dict']

    iters_acc, accumulated = run('acc2', 4, '--accumulate', '2')
    iters_big, big = run('batch8', 8)
    iters_small, small = run('batch4', 4)
    assert (iters_acc, iters_big, iters_small) == (12, 6, 12)
    # batch 4 without accumulation takes twice the steps: far apart
    assert max((small[k] - big[k]).abs().max().item() for k in big
               if big[k].is_floating_point()) > 1e-3
    for key, value in big.items():
        if value.is_floating_point():
            torch.testing.assert_close(accumulated[key], value, rtol=0,
                                       atol=1e-5, msg=key)


# ------------------------------------------------------------------ FSDP
def test_fsdp_config_builds_and_trains_on_two_gloo_processes(stage2):
    """configs/act/act_vit-s_8xb128-fsdp-coslr-300e_shapenet55.py: FlexibleRunner + FSDPStrategy;
    2 CPU processes (gloo) train one iteration and write a full checkpoint
    with the plain Stage II keys."""
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'act', 'act_vit-s_8xb128-fsdp-coslr-300e_shapenet55.py'))
    assert cfg.runner_type == 'FlexibleRunner'
    assert cfg.strategy.type == 'FSDPStrategy'
    assert cfg.strategy.model_wrapper.use_orig_params is True
    fsdp_config = stage2['root'] / 'pretrain_tiny_fsdp.py'
    fsdp_config.write_text(
        STAGE2_CONFIG.format(root=ROOT, teacher=stage2['teacher']).replace(
            'configs/demo/act_vit-s_1xb16-coslr-3e_shapenet55-demo.py',
            'configs/act/act_vit-s_8xb128-fsdp-coslr-300e_shapenet55.py') + '''
train_dataloader.update(
    batch_size=2, num_workers=0,
    dataset=dict(data_root=data_root, split='train', indices=4,
                 pipeline=train_pipeline))
train_cfg = dict(max_epochs=1)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(by_epoch=True, interval=1))
''')
    work = stage2['root'] / 'fsdp'
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', str(fsdp_config), '2',
         '--work-dir', str(work)], cwd=ROOT,
        env=_env(stage2, PORT=str(free_port())), capture_output=True,
        text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    out = proc.stdout + proc.stderr
    assert 'Epoch(train) [1][1/1]' in out
    ckpt = _load(work / 'epoch_1.pth')
    plain = MODELS.build(
        Config.fromfile(stage2['config'], import_custom_modules=False).model)
    assert set(ckpt['state_dict']) == set(plain.state_dict())
    # FSDP's full optimizer state is keyed by parameter names (a plain
    # optimizer's by index): the run was sharded
    assert all(isinstance(k, str) for k in ckpt['optimizer']['state'])
    teacher = _load(stage2['teacher'])['state_dict']
    for key, value in teacher.items():
        if 'running_' not in key and 'num_batches' not in key:
            assert torch.equal(ckpt['state_dict']['target_generator.' + key],
                               value), key


def test_fsdp_optimizer_state_round_trip_for_resume(tmp_path):
    """mmengine 0.10.7 calls FSDP.optim_state_dict_to_load with torch 2.0's
    argument order; act_mmdet3d's fix makes FSDPStrategy's resume path
    load a full optimizer state back (1-process gloo group, CPU)."""
    import torch.distributed as dist
    from mmengine._strategy import FSDPStrategy
    from mmengine.optim import OptimWrapper
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    assert not dist.is_initialized()
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
        world_size=1)
    try:
        torch.manual_seed(0)
        model = FSDP(torch.nn.Sequential(torch.nn.Linear(4, 8),
                                         torch.nn.Linear(8, 1)),
                     device_id=torch.device('cpu'), use_orig_params=True)
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
        model(torch.randn(3, 4)).sum().backward()
        optimizer.step()
        saved = FSDP.optim_state_dict(model, optimizer)
        fresh = torch.optim.AdamW(model.parameters(), lr=0.1)
        strategy = FSDPStrategy.__new__(FSDPStrategy)
        strategy.model = model
        strategy.optim_wrapper = OptimWrapper(fresh)
        strategy.load_optim_state_dict(saved)
        for param in model.parameters():
            for key in ('exp_avg', 'exp_avg_sq', 'step'):
                assert torch.equal(fresh.state[param][key],
                                   optimizer.state[param][key]), key
    finally:
        dist.destroy_process_group()
