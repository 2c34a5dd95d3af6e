"""configs/act/vit-s_1xb32-coslr-60e_s3dis-seg.py through mmdet3d's own S3DIS dataset, pipeline,
sliding-window inference and SegMetric, on synthetic rooms written exactly as
mmdet3d's ``tools/create_data.py s3dis`` leaves them (v2 info pkl)."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/act/vit-s_1xb32-coslr-60e_s3dis-seg.py'


def synthetic_room(rng, n=3000):
    """(n, 6) float32 xyz rgb of a 2 x 2 x 1 m room and (n,) int64 labels:
    ceiling 0, floor 1, wall 2, table 7, chair 8 (S3DIS class ids)."""
    parts = []

    def add(label, xyz, rgb):
        parts.append((label, xyz, np.broadcast_to(rgb, xyz.shape)))

    k = n // 6
    u = rng.uniform(0, 2, (k, 2))
    add(0, np.c_[u, np.full(k, 1.0)], (200, 200, 200))
    u = rng.uniform(0, 2, (k, 2))
    add(1, np.c_[u, np.zeros(k)], (120, 80, 40))
    u = rng.uniform(0, 2, (k, 2))
    wall = np.where(u[:, :1] < 1, np.c_[u[:, 0] * 2, np.zeros(k)],
                    np.c_[np.zeros(k), (u[:, 0] - 1) * 2])
    add(2, np.c_[wall, u[:, 1] / 2], (230, 230, 210))
    top = rng.uniform([0.8, 0.8], [1.4, 1.4], (k, 2))
    add(7, np.c_[top, np.full(k, 0.7)], (150, 100, 50))
    seat = rng.uniform([0.3, 1.4], [0.7, 1.8], (n - 4 * k, 2))
    add(8, np.c_[seat, np.full(len(seat), 0.45)], (30, 30, 160))
    labels = np.concatenate([np.full(len(x), lab) for lab, x, _ in parts])
    xyz = np.concatenate([x for _, x, _ in parts])
    rgb = np.concatenate([c for _, _, c in parts])
    xyz = xyz + rng.normal(0, 0.005, xyz.shape)
    return (np.c_[xyz, rgb].astype(np.float32), labels.astype(np.int64))


def write_s3dis(root, areas=(1, 5), rooms_per_area=1, seed=0):
    """points/ semantic_mask/ instance_mask/ *.bin, seg_info/*.npy and
    s3dis_infos_Area_{i}.pkl as mmdet3d 1.4's converter writes them."""
    rng = np.random.default_rng(seed)
    for sub in ('points', 'semantic_mask', 'instance_mask', 'seg_info'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    for area in areas:
        data_list = []
        for i in range(rooms_per_area):
            name = f'Area_{area}_{i}'
            points, labels = synthetic_room(rng)
            points.tofile(osp.join(root, 'points', f'{name}.bin'))
            labels.tofile(osp.join(root, 'semantic_mask', f'{name}.bin'))
            labels.tofile(osp.join(root, 'instance_mask', f'{name}.bin'))
            data_list.append(
                dict(
                    sample_idx=i,
                    lidar_points=dict(num_pts_feats=6,
                                      lidar_path=f'{name}.bin'),
                    pts_semantic_mask_path=f'{name}.bin',
                    pts_instance_mask_path=f'{name}.bin',
                    instances=[]))
        info = dict(
            metainfo=dict(
                categories={
                    c: i
                    for i, c in enumerate(
                        ('table', 'chair', 'sofa', 'bookcase', 'board'))
                },
                dataset='s3dis',
                info_version='1.1'),
            data_list=data_list)
        with open(osp.join(root, f's3dis_infos_Area_{area}.pkl'), 'wb') as f:
            pickle.dump(info, f)
        # two training samples per room (mmdet3d resamples by point count)
        np.save(
            osp.join(root, 'seg_info',
                     f'Area_{area}_resampled_scene_idxs.npy'),
            np.repeat(np.arange(rooms_per_area), 2).astype(np.int32))


@pytest.fixture(scope='module')
def s3dis_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('s3dis'))
    write_s3dis(root)
    return root


def data_options(root):
    return [
        f'train_dataloader.dataset.data_root={root}',
        "train_dataloader.dataset.ann_files=['s3dis_infos_Area_1.pkl']",
        'train_dataloader.dataset.scene_idxs='
        "['seg_info/Area_1_resampled_scene_idxs.npy']",
        f'test_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'model.backbone.init_cfg=None',
        'model.test_cfg.batch_size=8',
    ]


def run(args):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2')
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout[-3000:] + proc.stderr[-5000:])
    return proc.stdout + proc.stderr


def test_config_builds_through_mmdet3d():
    import act_mmdet3d  # noqa: F401
    from mmengine.config import Config

    from mmdet3d.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    assert cfg.train_dataloader.dataset.type == 'S3DISSegDataset'
    assert cfg.val_evaluator.type == 'SegMetric'
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'ACTSegmentor'
    assert model.decode_head.conv_seg.out_channels == 13
    assert model.test_cfg.mode == 'slide'
    assert not hasattr(model.decode_head, 'label_conv')


def test_dataset_reads_the_synthetic_rooms(s3dis_root):
    import act_mmdet3d  # noqa: F401
    from mmengine.config import Config

    from mmdet3d.registry import DATASETS
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.update(
        data_root=s3dis_root,
        ann_files=['s3dis_infos_Area_1.pkl'],
        scene_idxs=['seg_info/Area_1_resampled_scene_idxs.npy'])
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) == 2
    sample = dataset[0]
    points = sample['inputs']['points']
    labels = sample['data_samples'].gt_pts_seg.pts_semantic_mask
    assert points.shape == (2048, 9)  # xyz (xy centred), rgb, normalised xyz
    assert set(np.unique(labels.numpy())) <= {0, 1, 2, 7, 8, 13}


def test_train_and_test_one_iteration_with_segmetric(s3dis_root, tmp_path):
    work = str(tmp_path / 'work')
    log = run(['tools/train.py', CONFIG, '--work-dir', work, '--cfg-options',
               *data_options(s3dis_root), 'train_dataloader.batch_size=2',
               'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1'])
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    assert 'decode.loss_sem_seg' in log
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert state['meta']['iter'] == 1
    assert 'decode_head.conv_seg.weight' in state['state_dict']

    log = run(['tools/test.py', CONFIG, ckpt, '--work-dir',
               str(tmp_path / 'test'), '--cfg-options',
               *data_options(s3dis_root)])
    assert 'miou' in log and 'acc_cls' in log
    result = [
        json.loads(line) for line in open(_last_json(tmp_path / 'test'))
    ][-1]
    assert 0.0 <= result['miou'] <= 1.0


def _last_json(work):
    found = []
    for dirpath, _, files in os.walk(work):
        found += [osp.join(dirpath, f) for f in files if f.endswith('.json')
                  and not f.startswith('scalars')]
    assert found, f'no json results under {work}'
    return sorted(found)[-1]
