"""tools/create_demo_data.py writes the official formats, deterministically."""
import hashlib
import json
import os.path as osp
import pickle
import subprocess
import sys

import h5py
import numpy as np
import pytest

from act_mmdet3d.datasets.demo_shapes import (DEMO_CLASSES, PART_CATEGORIES,
                                              sample_shape)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCALE = '0.15'
PART_ROOT = 'shapenetcore_partanno_segmentation_benchmark_v0_normal'
MODELNET = osp.join('ModelNet', 'modelnet40_normal_resampled')


def _generate(out, *extra):
    proc = subprocess.run(
        [sys.executable, 'tools/create_demo_data.py', '--out', str(out),
         '--scale', SCALE, *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp('demo')
    log = _generate(out)
    return out, log


def _md5(path):
    return hashlib.md5(open(path, 'rb').read()).hexdigest()


def test_shapenet55_format(demo):
    out, _ = demo
    root = out / 'ShapeNet55-34'
    train = (root / 'ShapeNet-55' / 'train.txt').read_text().split()
    test = (root / 'ShapeNet-55' / 'test.txt').read_text().split()
    assert train and test and not set(train) & set(test)
    for name in train[:3] + test[:3]:
        synset, model_id = name[:-4].split('-')
        assert len(synset) == 8 and name.endswith('.npy') and model_id
        points = np.load(root / 'shapenet_pc' / name)
        assert points.shape == (8192, 3) and points.dtype == np.float32


def test_modelnet_txt_and_fps_cache(demo):
    out, _ = demo
    root = out / MODELNET
    names = (root / 'modelnet40_shape_names.txt').read_text().split()
    assert tuple(names) == DEMO_CLASSES
    for split in ('train', 'test'):
        ids = (root / f'modelnet40_{split}.txt').read_text().split()
        cls = '_'.join(ids[0].split('_')[:-1])
        rows = np.loadtxt(root / cls / f'{ids[0]}.txt', delimiter=',')
        assert rows.shape == (10000, 6)
        np.testing.assert_allclose(np.linalg.norm(rows[:, 3:], axis=1), 1,
                                   atol=1e-4)
        with open(root / f'modelnet40_{split}_8192pts_fps.dat', 'rb') as f:
            points, labels = pickle.load(f)
        assert len(points) == len(labels) == len(ids)
        assert points[0].shape == (8192, 6) and points[0].dtype == np.float32
        assert labels[0].shape == (1, ) and labels[0].dtype == np.int32
        assert DEMO_CLASSES[labels[0][0]] == cls
        # the cache holds an FPS subset of the txt cloud, in FPS order
        txt = np.loadtxt(root / cls / f'{ids[0]}.txt', delimiter=',')
        np.testing.assert_allclose(points[0][0], txt[0], atol=1e-6)
        d = np.linalg.norm(points[0][1:64, None, :3] - points[0][None, :1,
                                                                 :3], axis=2)
        assert d.min() > 0


def test_fewshot_pickles(demo):
    out, _ = demo
    for way, shot in ((5, 10), (5, 20), (10, 10), (10, 20)):
        for fold in (0, 9):
            with open(out / 'ModelNetFewshot' / f'{way}way{shot}shot' /
                      f'{fold}.pkl', 'rb') as f:
                data = pickle.load(f)
            assert set(data) == {'train', 'test'}
            labels = [item[1] for item in data['train']]
            assert sorted(set(labels)) == list(range(way))
            assert all(labels.count(i) == shot for i in range(way))
            points, label, modelnet_label = data['test'][0]
            assert points.shape == (8192, 6) and 0 <= label < way
            assert 0 <= modelnet_label < len(DEMO_CLASSES)


def test_scanobjectnn_h5(demo):
    out, _ = demo
    files = {
        'obj_bg': 'main_split/{}_objectdataset.h5',
        'obj_only': 'main_split_nobg/{}_objectdataset.h5',
        'hardest': 'main_split/{}_objectdataset_augmentedrot_scale75.h5',
    }
    for variant, pattern in files.items():
        for split in ('training', 'test'):
            with h5py.File(out / 'ScanObjectNN' / pattern.format(split),
                           'r') as f:
                data, label, mask = f['data'][:], f['label'][:], f['mask'][:]
            assert data.shape[1:] == (2048, 3) and data.dtype == np.float32
            assert label.shape == (len(data), ) and mask.shape == (len(data),
                                                                   2048)
            assert set(label) == set(range(len(DEMO_CLASSES)))
            if variant == 'obj_only':
                assert mask.all()  # no background points
            else:
                frac = mask.mean(1)
                assert (frac > 0.5).all() and (frac < 0.9).all()


def test_shapenetpart_files_and_part_labels(demo):
    out, _ = demo
    root = out / PART_ROOT
    lines = (root / 'synsetoffset2category.txt').read_text().splitlines()
    cats = dict(line.split('\t') for line in lines)
    ranges = {syn: ids for _, (name, syn, ids) in PART_CATEGORIES.items()}
    assert set(cats.values()) == set(ranges)
    seen = {syn: set() for syn in ranges}
    for split in ('train', 'val', 'test'):
        items = json.loads((root / 'train_test_split' /
                            f'shuffled_{split}_file_list.json').read_text())
        assert items
        for item in items:
            _, synset, model_id = item.split('/')
            rows = np.loadtxt(root / synset / f'{model_id}.txt')
            assert rows.ndim == 2 and rows.shape[1] == 7
            parts = rows[:, 6].astype(int)
            assert set(parts) <= set(ranges[synset])
            seen[synset] |= set(parts)
    for synset, ids in ranges.items():
        assert seen[synset] == set(ids), synset  # every part appears


def test_deterministic_and_seeded(demo, tmp_path):
    out, _ = demo
    again = tmp_path / 'again'
    _generate(again, '--only', 'modelnet40,scanobjectnn')
    for rel in (f'{MODELNET}/modelnet40_train_8192pts_fps.dat',
                'ScanObjectNN/main_split/test_objectdataset.h5'):
        assert _md5(out / rel) == _md5(again / rel)
    other = tmp_path / 'other'
    _generate(other, '--only', 'modelnet40', '--seed', '1')
    rel = f'{MODELNET}/modelnet40_train_8192pts_fps.dat'
    assert _md5(out / rel) != _md5(other / rel)


def test_second_run_skips_complete_datasets(demo):
    out, _ = demo
    log = _generate(out)
    assert 'written nothing' in log and 'already complete' in log


def test_bad_arguments_are_named(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/create_demo_data.py', '--out',
         str(tmp_path), '--only', 'modelnet41'],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and 'modelnet41' in proc.stderr
    proc = subprocess.run(
        [sys.executable, 'tools/create_demo_data.py', '--out',
         str(tmp_path), '--only', 'fewshot'],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and 'modelnet40_train_8192pts_fps.dat' in \
        proc.stderr


def _descriptor(points):
    """Rotation-about-y invariant: histograms of radius and height."""
    p = points - points.mean(0)
    r = np.linalg.norm(p, axis=1)
    p = p / r.max()
    radial = np.histogram(np.linalg.norm(p[:, [0, 2]], axis=1), 8,
                          (0, 1))[0]
    height = np.histogram(p[:, 1], 8, (-1, 1))[0]
    return np.concatenate([radial, height]) / len(p)


def test_demo_classes_are_geometrically_distinguishable():
    """Nearest centroid on a cheap descriptor is far above chance (10%)."""
    rng = np.random.default_rng(0)
    feats = {split: [] for split in ('train', 'test')}
    for split, count in (('train', 8), ('test', 4)):
        for k, cls in enumerate(DEMO_CLASSES):
            for _ in range(count):
                points = sample_shape(cls, 1024, rng)[0]
                feats[split].append((_descriptor(points), k))
    centroids = np.stack([
        np.mean([f for f, k in feats['train'] if k == c], 0)
        for c in range(len(DEMO_CLASSES))
    ])
    correct = [
        np.argmin(np.linalg.norm(centroids - f, axis=1)) == k
        for f, k in feats['test']
    ]
    assert np.mean(correct) > 0.6
