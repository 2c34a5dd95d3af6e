"""tools/demo_pipeline.py: three students (pretrained teacher, random
teacher, scratch) through Stage I -> target diversity -> Stage II ->
fine-tune + SVM probe on the procedural demo data, shrunk to a few
iterations per stage."""
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHRINK = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
    'train_dataloader.batch_size=4', 'train_dataloader.dataset.indices=8',
]


# 2 train and 1 test clouds of each of the 10 demo classes (sorted by class)
SVM_SUBSET = [
    'train_dataloader.dataset.indices=' + str(list(range(0, 300, 15))),
    'test_dataloader.dataset.indices=' + str(list(range(0, 100, 10))),
]


def _run(work_dir, *extra):
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'demo_pipeline.py'),
           '--work-dir', str(work_dir), '--data', 'procedural',
           '--svm-cfg-options', *SVM_SUBSET, '--cfg-options', *SHRINK,
           *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_demo_pipeline_chains_the_stages(tmp_path):
    out = _run(tmp_path, '--amp')  # the bfloat16 option (make demo: float32)
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert summary['data'].startswith('data: the procedural demo clouds')
    teachers = summary['teachers']
    assert set(teachers) == {'pretrained', 'random'}
    for name, sub in (('pretrained', ''), ('random', '_random')):
        stage1 = teachers[name]['stage1']['checkpoint']
        stage2 = teachers[name]['stage2']['checkpoint']
        assert stage1.startswith(str(tmp_path / f'autoencoder{sub}'))
        assert stage2.startswith(str(tmp_path / f'pretrain{sub}'))
        # Stage II loaded exactly its Stage I checkpoint, strictly
        assert f'loaded the teacher from {stage1}' in out
        assert f'load backbone. in model from: {stage2}' in out
        targets = teachers[name]['targets']
        assert targets['layer'] == 'output'
        assert 0 <= targets['constant_share'] <= 1
        assert 1 <= targets['sampled_perplexity'] <= targets['num_tokens']
    # the pretrained teacher is MiniLM's weights, the control random ones
    assert 'loaded 6 BertModel layers' in out
    assert 'built RANDOM-weight 6 BertModel layers' in out
    scratch_log = _log_text(tmp_path / 'finetune_modelnet40_scratch')
    # --amp: every training ran under bfloat16 autocast, recorded so that a
    # change of precision reruns it
    for run in ('autoencoder', 'pretrain_random',
                'finetune_modelnet40_scratch'):
        done = json.loads((tmp_path / run / 'done.json').read_text())
        assert 'optim_wrapper.type=BF16AutocastOptimWrapper' in \
            done['cfg_options'], run
    assert "type='BF16AutocastOptimWrapper'" in scratch_log
    done = json.loads((tmp_path / 'pretrain' / 'done.json').read_text())
    assert 'model.teacher_dtype=bfloat16' in done['cfg_options']
    assert 'load backbone.' not in scratch_log
    assert 'PreciseBN: BatchNorm statistics recomputed' in scratch_log
    students = summary['students']
    assert list(students) == ['pretrained', 'random', 'scratch']
    for entry in students.values():
        assert 0 <= entry['svm_accuracy'] <= 100
        run = entry['finetune']['modelnet40']
        assert 0 <= run['overall_acc'] <= 100
        assert 0 <= run['mean_acc'] <= 100
    svm = json.loads((tmp_path / 'svm_scratch.json').read_text())
    assert svm['checkpoint'] is None  # the random init
    assert (svm['num_train'], svm['num_test'], svm['num_classes']) == \
        (20, 10, 10)
    assert (tmp_path / 'summary.png').stat().st_size > 10000
    for label in ('(a) pretrained teacher', '(b) random-weight teacher',
                  '(c) from scratch'):
        assert f'fine-tune modelnet40 ({label}' in out
    # the pictures (act_mmdet3d.visualization), each a PNG that decodes
    pictures = sorted(os.listdir(tmp_path / 'pictures'))
    assert pictures == [
        'curves_modelnet40.png', 'curves_pretraining.png',
        'groups_act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo_test0.png',
        'mask_act_vit-s_1xb16-coslr-3e_shapenet55-demo_train0.png',
        'reconstruction_act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo_test0.png'
    ]
    from PIL import Image
    for name in pictures:
        with Image.open(tmp_path / 'pictures' / name) as im:
            im.load()  # decodes
            if not name.startswith('curves'):
                assert im.size == (720, 480), name

    # a second run skips every finished training and reports the same
    # figures
    again = _run(tmp_path, '--amp', '--no-pictures')
    assert again.count('done before, skipped') == 7
    second = json.loads((tmp_path / 'summary.json').read_text())
    for name in students:
        assert second['students'][name]['finetune'] == \
            students[name]['finetune']


def _log_text(work_dir):
    import glob
    (log, ) = glob.glob(osp.join(str(work_dir), '*', '*.log'))
    with open(log) as f:
        return f.read()


def test_real_data_options_fit_every_stage_config(tmp_path):
    """The options that point the demo at data/real merge into each stage's
    config (Stage II has no validation loader: an option for it would stop
    Stage II and its target measurement before they start)."""
    from _helpers import load_tool

    from act_mmdet3d.utils import load_config
    demo = load_tool('tools/demo_pipeline.py')
    real = tmp_path / demo.REAL_ROOT
    real.mkdir(parents=True)
    (real / 'summary.json').write_text(json.dumps(dict(
        models=12, source='test', pretrain=dict(train=9, test=3),
        classes=['a', 'b'], classification=dict(train=8, test=4))))
    demo.ROOT = str(tmp_path)
    opts, note = demo.data_options('real')
    assert 'real shapes' in note
    for stage1, stage2 in demo.TEACHERS.values():
        for config, key in ((stage1, 'stage1'), (stage2, 'stage2')):
            cfg = load_config(osp.join(ROOT, config), opts[key])
            root = cfg.train_dataloader.dataset.data_root
            assert root == f'{demo.REAL_ROOT}/ShapeNet55-34'
            assert cfg.train_dataloader.dataset.split == 'train'
    for config in demo.TASK_CONFIGS.values():
        if 'modelnet40' in config:
            cfg = load_config(osp.join(ROOT, config), opts['modelnet40'])
            assert cfg.model.head.num_classes == 2
