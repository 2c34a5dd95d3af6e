"""tools/demo_pipeline.py: Stage I -> Stage II -> fine-tune (pretrained vs
scratch) on the demo data, shrunk to a few iterations per stage."""
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


def _run(work_dir, *extra):
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'demo_pipeline.py'),
           '--work-dir', str(work_dir), '--cfg-options', *SHRINK, *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_demo_pipeline_chains_the_stages(tmp_path):
    out = _run(tmp_path)
    summary = json.loads((tmp_path / 'summary.json').read_text())
    stage1 = summary['stage1']['checkpoint']
    stage2 = summary['stage2']['checkpoint']
    assert stage1.startswith(str(tmp_path / 'autoencoder'))
    assert stage2.startswith(str(tmp_path / 'pretrain'))
    # Stage II loaded exactly the Stage I checkpoint, strictly; the
    # pretrained fine-tune loaded the Stage II student, the scratch one
    # loaded nothing
    assert f'loaded the teacher from {stage1}' in out
    assert f'load backbone. in model from: {stage2}' in out
    scratch_log = _log_text(tmp_path / 'finetune_modelnet40_scratch')
    assert 'load backbone.' not in scratch_log
    runs = summary['finetune']['modelnet40']
    assert set(runs) == {'pretrained', 'scratch'}
    for run in runs.values():
        assert 0 <= run['overall_acc'] <= 100
        assert 0 <= run['mean_acc'] <= 100
    assert (tmp_path / 'summary.png').stat().st_size > 10000
    assert 'fine-tune modelnet40 (pretrained)' in out
    assert 'fine-tune modelnet40 (scratch)' in out
    # the pictures (act_mmdet3d.visualization), each a PNG that decodes
    pictures = sorted(os.listdir(tmp_path / 'pictures'))
    assert pictures == [
        'curves_modelnet40.png', 'curves_pretraining.png',
        'groups_autoencoder_shapenet_demo_test0.png',
        'mask_pretrain_shapenet_demo_train0.png',
        'reconstruction_autoencoder_shapenet_demo_test0.png'
    ]
    from PIL import Image
    for name in pictures:
        with Image.open(tmp_path / 'pictures' / name) as im:
            im.load()  # decodes
            if not name.startswith('curves'):
                assert im.size == (720, 480), name

    # a second run skips every finished stage and reports the same figures
    again = _run(tmp_path, '--no-pictures')
    assert again.count('done before, skipped') == 4
    assert json.loads((tmp_path / 'summary.json').read_text())[
        'finetune'] == summary['finetune']


def _log_text(work_dir):
    import glob
    (log, ) = glob.glob(osp.join(str(work_dir), '*', '*.log'))
    with open(log) as f:
        return f.read()
