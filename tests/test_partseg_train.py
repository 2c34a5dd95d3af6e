"""The part-segmentation configs end to end: tools/train.py + tools/test.py on
the demo ShapeNetPart data, learning well above the one-part baseline."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = 'configs/demo/vit-s_1xb16-coslr-4e_shapenetpart-demo.py'
FULL = 'configs/act/vit-s_1xb16-coslr-300e_shapenetpart.py'

# the demo config shrunk to a quick test: a 4-block, 96-wide transformer
# over 32 groups x 16 of 512 points, 4 epochs at batch 8
SMALL = [
    'model.backbone.embed_dims=96', 'model.backbone.depth=4',
    'model.backbone.num_heads=4', 'model.backbone.out_indices=[1,2,3]',
    'model.backbone.num_groups=32', 'model.backbone.group_size=16',
    'model.decode_head.in_channels=288',
    'model.decode_head.fp_channels=[256,128]',
    'model.decode_head.mid_channels=128', 'model.decode_head.channels=64',
    'train_dataloader.dataset.pipeline.1.num_points=512',
    'val_dataloader.dataset.pipeline.1.num_points=512',
    'test_dataloader.dataset.pipeline.1.num_points=512',
    'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
    'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
    'optim_wrapper.optimizer.lr=1e-3',
    'train_cfg.max_epochs=4', 'train_cfg.val_interval=4',
    'param_scheduler.1.T_max=3', 'param_scheduler.1.end=4',
    'default_hooks.logger.interval=10'
]


def run(args):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2')
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, (proc.stdout[-3000:] + proc.stderr[-5000:])
    return proc.stdout + proc.stderr


def last_val(work_dir, key):
    values = []
    for dirpath, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(dirpath, 'scalars.json')) as f:
                values += [json.loads(x) for x in f if key in x]
    assert values, f'no {key} logged under {work_dir}'
    return values[-1][key]


def one_part_baseline():
    """Instance mIoU of predicting, for every test shape, its most frequent
    ground-truth part everywhere (an oracle one-part prediction)."""
    import act_mmdet3d  # noqa: F401
    from mmengine.config import Config

    from mmdet3d.registry import DATASETS, METRICS
    cfg = Config.fromfile(osp.join(ROOT, DEMO))
    cfg.val_dataloader.dataset.pipeline[1]['num_points'] = 512
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = dataset.metainfo
    batch = []
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        gt = sample.gt_pts_seg.pts_semantic_mask.numpy()
        pred = np.full_like(gt, np.bincount(gt).argmax())
        batch.append(
            dict(
                category=sample.metainfo['category'],
                gt_pts_seg=dict(pts_semantic_mask=gt),
                pred_pts_seg=dict(pts_semantic_mask=pred)))
    metric.process({}, batch)
    return metric.compute_metrics(metric.results)['instance_mIoU']


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('partseg'))
    log = run(['tools/train.py', DEMO, '--work-dir', work, '--cfg-options',
               *SMALL])
    return work, log


def test_partseg_learns_well_above_the_one_part_baseline(trained):
    work, log = trained
    baseline = one_part_baseline()
    miou = last_val(work, 'instance_mIoU')
    assert 10 < baseline < 40, baseline
    assert miou > baseline + 10, (miou, baseline)
    assert 'class_mIoU' in log and 'Airplane_mIoU' in log


def test_test_tool_reproduces_the_last_validation(trained, tmp_path):
    work, _ = trained
    ckpt = osp.join(work, 'epoch_4.pth')
    log = run(['tools/test.py', DEMO, ckpt, '--work-dir', str(tmp_path),
               '--cfg-options', *SMALL])
    # the test draw is seeded per shape: the same points as validation
    assert f'instance_mIoU: {last_val(work, "instance_mIoU"):.4f}' in log


def test_full_config_builds_with_the_paper_settings():
    import act_mmdet3d  # noqa: F401
    from mmengine.config import Config

    from mmdet3d.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, FULL))
    assert cfg.optim_wrapper.optimizer.lr == 2e-4
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.train_cfg.max_epochs == 300
    assert cfg.train_dataloader.dataset.split == 'trainval'
    assert cfg.val_dataloader.dataset.split == 'test'
    assert cfg.train_dataloader.dataset.pipeline[1]['num_points'] == 2048
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert model.backbone.num_groups == 128
    assert model.backbone.out_indices == [3, 7, 11]
    assert model.category_parts[15] == [47, 48, 49]
