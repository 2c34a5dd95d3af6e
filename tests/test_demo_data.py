"""tools/dataset_converters/create_demo_data.py: official formats,
determinism, learnability.

The files are read the way the reference loaders read the official ones
(numpy.load, np.loadtxt, h5py, pickle, json).
"""
import importlib
import importlib.util
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import h5py
import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODELNET = osp.join('ModelNet', 'modelnet40_normal_resampled')
PART = 'shapenetcore_partanno_segmentation_benchmark_v0_normal'
SMALL = ['--scale', '0.2', '--workers', '1', '--fewshot-shots', '2,5',
         '--fewshot-folds', '2']
OFFICIAL_PART_IDS = {
    'Airplane': range(0, 4), 'Bag': range(4, 6), 'Cap': range(6, 8),
    'Car': range(8, 12), 'Chair': range(12, 16), 'Earphone': range(16, 19),
    'Guitar': range(19, 22), 'Knife': range(22, 24), 'Lamp': range(24, 28),
    'Laptop': range(28, 30), 'Motorbike': range(30, 36),
    'Mug': range(36, 38), 'Pistol': range(38, 41), 'Rocket': range(41, 44),
    'Skateboard': range(44, 47), 'Table': range(47, 50)
}


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        '_create_demo_data_under_test',
        osp.join(ROOT, 'tools', 'dataset_converters', 'create_demo_data.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # picklable tasks for --workers > 1
    spec.loader.exec_module(module)
    return module


tool = _load_tool()
demo_shapes = tool.shapes  # act_mmdet3d/datasets/demo_shapes.py


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp('demo')
    assert tool.main(['--out', str(out), '--seed', '0', *SMALL]) == 0
    return out


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def _reference_fps(xyz, npoint, start):
    """The reference's farthest_point_sample loop (float32 xyz)."""
    distance = np.ones((len(xyz), )) * 1e10
    farthest, out = start, []
    for _ in range(npoint):
        out.append(farthest)
        dist = np.sum((xyz - xyz[farthest, :])**2, -1)
        mask = dist < distance
        distance[mask] = dist[mask]
        farthest = np.argmax(distance, -1)
    return np.array(out)


# ----------------------------------------------------------------- shapes


def test_sample_shape_api():
    module = importlib.import_module('act_mmdet3d.datasets.demo_shapes')
    assert module.DEMO_CLASSES == demo_shapes.DEMO_CLASSES
    rng = np.random.default_rng(0)
    assert len(demo_shapes.DEMO_CLASSES) == 10
    for name in demo_shapes.SHAPES:
        p, n, parts = demo_shapes.sample_shape(name, 3000, rng, noise=0.0)
        assert p.shape == n.shape == (3000, 3) and p.dtype == np.float32
        assert parts.shape == (3000, ) and parts.dtype == np.int64
        np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1, atol=1e-5)
        assert np.linalg.norm(p, axis=1).max() == pytest.approx(1, abs=1e-5)
        counts = np.bincount(parts, minlength=len(
            demo_shapes.PART_NAMES[name]))
        assert len(counts) == len(demo_shapes.PART_NAMES[name])
        assert counts.min() > 0, (name, counts)
    a = demo_shapes.sample_shape('chair', 500, np.random.default_rng(3))
    b = demo_shapes.sample_shape('chair', 500, np.random.default_rng(3))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    with pytest.raises(ValueError, match='unknown shape'):
        demo_shapes.sample_shape('dragon', 10, rng)
    with pytest.raises(ValueError, match='rotation'):
        demo_shapes.sample_shape('box', 10, rng, rotation='sideways')


def test_normals_point_outwards_on_convex_shapes():
    rng = np.random.default_rng(1)
    for name in ('sphere', 'box', 'cylinder', 'cone'):
        p, n, _ = demo_shapes.sample_shape(name, 2000, rng, rotation='so3')
        assert np.mean(np.sum((p - p.mean(0)) * n, axis=1) > 0) > 0.99


def test_modelnet_fps_cache_is_the_reference_loop(tmp_path):
    """The FPS cache of one (split, class) group, now computed by the op,
    is the reference loop's FPS (what the tool's own loop gave before)."""
    label, first, count = 3, 1, 2
    name = demo_shapes.DEMO_CLASSES[label]
    (tmp_path / name).mkdir()
    sampled = tool._modelnet_group((0, 'train', label, first, count,
                                    str(tmp_path)))
    assert len(sampled) == count
    for number, got in zip(range(first, first + count), sampled):
        rng = tool._rng(0, 'modelnet40', label, number)
        demo_shapes.sample_shape(name, tool.MODELNET_POINTS, rng,
                                 noise=0.004, rotation='up')
        start = int(rng.integers(0, tool.MODELNET_POINTS))
        txt = np.loadtxt(tmp_path / name / f'{name}_{number:04d}.txt',
                         delimiter=',').astype(np.float32)
        ref = _reference_fps(txt[:, :3], tool.MODELNET_FPS, start)
        np.testing.assert_array_equal(got, txt[ref])


# ------------------------------------------------------------- ShapeNet-55


def test_shapenet55_format(demo):
    root = demo / 'ShapeNet55-34'
    synsets = json.loads((demo / 'shapenet_synset_dict.json').read_text())
    lines = {}
    for split in ('train', 'test'):
        text = (root / 'ShapeNet-55' / f'{split}.txt').read_text()
        assert text.endswith('.npy\n') and '\r' not in text
        lines[split] = text.splitlines()
    assert lines['train'] and lines['test']
    assert not set(lines['train']) & set(lines['test'])
    for line in lines['train'] + lines['test']:
        # parsed as the reference's ShapeNet dataset does
        taxonomy_id = line.split('-')[0]
        model_id = line.split('-')[1].split('.')[0]
        assert taxonomy_id in synsets and len(model_id) == 32
        assert (root / 'shapenet_pc' / line).is_file()
    assert len(os.listdir(root / 'shapenet_pc')) == sum(map(len,
                                                            lines.values()))
    points = np.load(root / 'shapenet_pc' / lines['test'][0])
    assert points.shape == (8192, 3) and points.dtype == np.float32
    assert set(synsets.values()) == set(demo_shapes.SHAPES)


# ------------------------------------------------------------ ModelNet40


def test_modelnet_txt_and_fps_cache(demo):
    root = demo / MODELNET
    names = [line.rstrip() for line in open(root /
                                            'modelnet40_shape_names.txt')]
    assert names == list(demo_shapes.DEMO_CLASSES)
    for split in ('train', 'test'):
        ids = [
            line.rstrip() for line in open(root / f'modelnet40_{split}.txt')
        ]
        assert len(ids) == len(set(ids)) == 10 * (6 if split == 'train' else
                                                  2)
        with open(root / f'modelnet40_{split}_8192pts_fps.dat', 'rb') as f:
            points, labels = pickle.load(f)
        assert len(points) == len(labels) == len(ids)
        for shape_id, cloud, label in zip(ids, points, labels):
            cls = '_'.join(shape_id.split('_')[0:-1])
            assert (root / cls / f'{shape_id}.txt').is_file()
            assert cloud.shape == (8192, 6) and cloud.dtype == np.float32
            assert label.shape == (1, ) and label.dtype == np.int32
            assert names[label[0]] == cls
        # the cache is the reference's FPS of the txt file, as it reads it
        shape_id, cloud = ids[-1], points[-1]
        cls = '_'.join(shape_id.split('_')[0:-1])
        path = root / cls / f'{shape_id}.txt'
        assert _read(path).count(b'\n') == 10000
        txt = np.loadtxt(path, delimiter=',').astype(np.float32)
        assert txt.shape == (10000, 6)
        np.testing.assert_allclose(np.linalg.norm(txt[:, 3:], axis=1), 1,
                                   atol=1e-5)
        start = np.flatnonzero((txt == cloud[0]).all(1))
        assert len(start) == 1
        ref = _reference_fps(txt[:, :3], 400, int(start[0]))
        np.testing.assert_array_equal(txt[ref], cloud[:400])
        rows = {r.tobytes() for r in txt}
        assert all(r.tobytes() in rows for r in cloud)
        assert len({r.tobytes() for r in cloud}) == 8192
    line = _read(root / 'sphere' / 'sphere_0001.txt').split(b'\n')[0]
    assert len(line.split(b',')) == 6
    assert all(len(v.split(b'.')[1]) == 6 for v in line.split(b','))


def _descriptor(points):
    """Radial-distance histogram + height histogram (up axis y)."""
    p = points[:, :3] - points[:, :3].mean(0)
    r = np.linalg.norm(p, axis=1)
    h_r = np.histogram(r / r.max(), 16, (0, 1))[0]
    y = (p[:, 1] - p[:, 1].min()) / np.ptp(p[:, 1])
    h_y = np.histogram(y, 8, (0, 1))[0]
    return np.concatenate([h_r, h_y]) / len(p)


def test_modelnet_classes_are_learnable(demo):
    """Nearest class centroid of a cheap descriptor: far above chance."""
    data = {}
    for split in ('train', 'test'):
        with open(demo / MODELNET / f'modelnet40_{split}_8192pts_fps.dat',
                  'rb') as f:
            points, labels = pickle.load(f)
        data[split] = (np.stack([_descriptor(p[:2048]) for p in points]),
                       np.array([int(l[0]) for l in labels]))
    x, y = data['train']
    centroids = np.stack([x[y == k].mean(0) for k in range(10)])
    xt, yt = data['test']
    pred = np.argmin(((xt[:, None] - centroids[None])**2).sum(-1), axis=1)
    assert (pred == yt).mean() >= 0.5  # chance: 0.1


# --------------------------------------------------------------- few-shot


def test_fewshot_episodes(demo):
    root = demo / 'ModelNetFewshot'
    assert sorted(os.listdir(root)) == [
        '10way2shot', '10way5shot', '5way2shot', '5way5shot']
    with open(demo / MODELNET / 'modelnet40_train_8192pts_fps.dat',
              'rb') as f:
        train_points, train_labels = pickle.load(f)
    first_clouds = {}
    for p, l in zip(train_points, train_labels):
        first_clouds.setdefault(p[0].tobytes(), int(l[0]))
    for way in (5, 10):
        for shot in (2, 5):
            folds = sorted(os.listdir(root / f'{way}way{shot}shot'))
            assert folds == ['0.pkl', '1.pkl']
            for fold in folds:
                with open(root / f'{way}way{shot}shot' / fold, 'rb') as f:
                    episode = pickle.load(f)
                assert set(episode) == {'train', 'test'}
                train = episode['train']
                assert len(train) == way * shot
                labels = [label for _, label, _ in train]
                assert sorted(set(labels)) == list(range(way))
                assert all(labels.count(i) == shot for i in range(way))
                mapping = {}
                for points, label, cls in train + episode['test']:
                    assert points.shape == (8192, 6)
                    assert points.dtype == np.float32
                    assert isinstance(label, int)
                    assert isinstance(cls, np.int32)
                    assert mapping.setdefault(label, int(cls)) == int(cls)
                for points, _, cls in train:
                    assert first_clouds[points[0].tobytes()] == int(cls)
                assert len(episode['test']) == way * 2  # 2 per class here
    a = _read(root / '10way5shot' / '0.pkl')
    assert a != _read(root / '10way5shot' / '1.pkl')


# ------------------------------------------------------------ ScanObjectNN


def _h5(path):
    with h5py.File(path, 'r') as f:
        assert set(f.keys()) == {'data', 'label', 'mask'}
        # as the reference reads them
        data = np.array(f['data']).astype(np.float32)
        labels = np.array(f['label']).astype(int)
        mask = np.array(f['mask'])
        assert f['data'].dtype == np.float32
        assert f['label'].dtype == np.int64 and f['mask'].dtype == np.int64
    return data, labels, mask


def test_scanobjectnn_variants(demo):
    root = demo / 'ScanObjectNN'
    names = (demo / 'ScanObjectNN_shape_names.txt').read_text().split('\n')
    assert names == list(demo_shapes.DEMO_CLASSES)
    for split, n in (('training', 60), ('test', 20)):
        variants = {
            'bg': root / 'main_split' / f'{split}_objectdataset.h5',
            'only': root / 'main_split_nobg' / f'{split}_objectdataset.h5',
            'hardest': root / 'main_split' /
            f'{split}_objectdataset_augmentedrot_scale75.h5',
        }
        loaded = {k: _h5(v) for k, v in variants.items()}
        labels = loaded['bg'][1]
        assert labels.shape == (n, ) and sorted(set(labels)) == list(
            range(10))
        for key, (data, lab, mask) in loaded.items():
            assert data.shape == (n, 2048, 3) and mask.shape == (n, 2048)
            np.testing.assert_array_equal(lab, labels)
            assert np.isfinite(data).all()
            radius = np.linalg.norm(data, axis=2).max(1)
            np.testing.assert_allclose(radius, 1, atol=1e-5)
            obj = mask >= 0
            # object points carry their cloud's label, background is -1
            assert np.all(mask[obj] == np.broadcast_to(lab[:, None],
                                                       mask.shape)[obj])
            assert np.all((mask == -1) | obj)
            if key == 'only':
                assert obj.all()
            else:
                frac = obj.mean(1)
                assert frac.min() > 0.05 and frac.max() < 1.0
                assert 0.5 < frac.mean() < 0.97
                assert (~obj).any(1).mean() > 0.9
    # OBJ_ONLY holds partial views: part of every sphere is not seen. Mean
    # direction from the fitted centre: ~0 for a whole sphere, not here.
    data, labels, _ = _h5(root / 'main_split_nobg' /
                          'training_objectdataset.h5')
    rng = np.random.default_rng(0)
    whole = demo_shapes.sample_shape('sphere', 2048, rng, noise=0.008)[0]
    assert _one_sidedness(whole) < 0.1
    for cloud in data[labels == demo_shapes.DEMO_CLASSES.index('sphere')]:
        assert _one_sidedness(cloud) > 0.25


def _one_sidedness(cloud):
    """|mean unit direction| from a least-squares sphere centre."""
    a = np.c_[2 * cloud, np.ones(len(cloud))]
    centre = np.linalg.lstsq(a, (cloud**2).sum(1), rcond=None)[0][:3]
    u = cloud - centre
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return np.linalg.norm(u.mean(0))


# ------------------------------------------------------------ ShapeNetPart


def test_shapenetpart_format(demo):
    root = demo / PART
    cat = {}
    for line in open(root / 'synsetoffset2category.txt'):
        assert '\t' in line
        ls = line.strip().split()
        cat[ls[0]] = ls[1]
    assert list(cat) == list(OFFICIAL_PART_IDS)
    assert cat['Table'] == '04379243' and cat['Laptop'] == '03642806'
    ids = {}
    for split, n in (('train', 6), ('val', 2), ('test', 2)):
        path = root / 'train_test_split' / f'shuffled_{split}_file_list.json'
        items = json.load(open(path))
        assert len(items) == 7 * n
        assert all(i.startswith('shape_data/') for i in items)
        ids[split] = {str(d.split('/')[2]) for d in items}
        for item in items:
            _, synset, model_id = item.split('/')
            assert (root / synset / f'{model_id}.txt').is_file()
    assert not (ids['train'] & ids['val'] or ids['train'] & ids['test']
                or ids['val'] & ids['test'])
    populated = set()
    for name, synset in cat.items():
        for fn in sorted(os.listdir(root / synset)):
            populated.add(name)
            data = np.loadtxt(root / synset / fn).astype(np.float32)
            assert data.shape[1] == 7 and 2000 <= len(data) <= 3000
            seg = data[:, -1].astype(np.int32)
            assert set(seg) == set(OFFICIAL_PART_IDS[name]), (name, fn)
            np.testing.assert_allclose(np.linalg.norm(data[:, 3:6], axis=1),
                                       1, atol=1e-5)
    assert populated == {'Airplane', 'Cap', 'Chair', 'Lamp', 'Laptop', 'Mug',
                         'Table'}
    line = open(root / cat['Chair'] / sorted(
        os.listdir(root / cat['Chair']))[0]).readline()
    assert len(line.split(' ')) == 7 and line.split(' ')[-1].endswith(
        '.000000\n')


# ------------------------------------------- determinism, markers, the CLI


def test_scannet_rooms_read_by_the_demo_twin_config(demo, tmp_path):
    """The procedural rooms in mmdet3d's ScanNet layout, read by the stock
    ScanNetDataset of configs/demo/3detr_1xb8-40e_scannet-3d-demo.py: --scale 0.2 gives
    5 train / 2 val rooms of 10,000 points; every box encloses its object's
    points; the bytes depend on the seed only."""
    from mmengine.config import Config

    from mmdet3d.registry import DATASETS
    root = demo / 'scannet'
    points = np.fromfile(root / 'points' / 'scene0000_00.bin', np.float32)
    assert points.shape == (10000 * 6, )
    with open(root / 'scannet_infos_val.pkl', 'rb') as f:
        info = pickle.load(f)
    assert info['metainfo']['dataset'] == 'scannet'
    assert [d['lidar_points']['lidar_path'] for d in info['data_list']] == [
        'scene0005_00.bin', 'scene0006_00.bin']
    cfg = Config.fromfile(osp.join(ROOT, 'configs/demo/3detr_1xb8-40e_scannet-3d-demo.py'))
    cfg.train_dataloader.dataset.data_root = str(root)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert type(train).__name__ == 'ScanNetDataset' and len(train) == 5
    for i in range(2):
        sample = train[i]
        xyz = sample['inputs']['points']
        gt = sample['data_samples'].gt_instances_3d
        assert xyz.shape == (2048, 3)
        assert 1 <= len(gt.bboxes_3d) and set(gt.labels_3d.tolist()) <= {
            0, 1, 2}
        assert (gt.bboxes_3d.points_in_boxes_all(xyz).sum(0) > 20).all()
    again = tmp_path / 'again'
    assert tool.main(['--out', str(again), '--only', 'scannet',
                      *SMALL]) == 0
    for f in ('points/scene0003_00.bin', 'scannet_infos_train.pkl'):
        assert _read(root / f) == _read(again / 'scannet' / f), f


def test_deterministic_across_runs_workers_and_subsets(demo, tmp_path):
    # same seed, in process: identical bytes
    again = tmp_path / 'again'
    assert tool.main(['--out', str(again), '--only',
                      'shapenet55,scanobjectnn,shapenetpart', *SMALL]) == 0
    listed = (demo / 'ShapeNet55-34/ShapeNet-55/test.txt').read_text()
    files = [
        'ShapeNet55-34/ShapeNet-55/test.txt', 'shapenet_synset_dict.json',
        'ShapeNet55-34/shapenet_pc/' + listed.splitlines()[0],
        'ScanObjectNN/main_split/training_objectdataset.h5',
        'ScanObjectNN/main_split_nobg/test_objectdataset.h5',
        'ScanObjectNN/main_split/test_objectdataset_augmentedrot_scale75.h5',
        f'{PART}/train_test_split/shuffled_val_file_list.json',
    ]
    for f in files:
        assert _read(demo / f) == _read(again / f), f
    # as a script, 2 worker processes, fewer shapes: a shape's file does
    # not depend on the counts, the pickle not on the worker processes
    fewer = tmp_path / 'fewer'
    proc = subprocess.run(
        [sys.executable, 'tools/dataset_converters/create_demo_data.py',
         '--out', str(fewer), '--only', 'modelnet40', '--scale', '0.05',
         '--workers', '2'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'modelnet40: done' in proc.stdout and 'Total' in proc.stdout
    f = f'{MODELNET}/cone/cone_0002.txt'
    assert _read(demo / f) == _read(fewer / f)
    dat = fewer / MODELNET / 'modelnet40_train_8192pts_fps.dat'
    with open(dat, 'rb') as fh:
        points, labels = pickle.load(fh)
    canonical = [[tool._fresh_f32(p) for p in points],
                 [np.array([int(l[0])]).astype(np.int32) for l in labels]]
    assert pickle.dumps(canonical) == _read(dat)
    # another seed: other data
    other = tmp_path / 'other'
    assert tool.main(['--out', str(other), '--seed', '1', '--only',
                      'shapenet55', *SMALL]) == 0
    assert (other / 'ShapeNet55-34/ShapeNet-55/test.txt').read_text() != listed


def test_second_run_skips_and_force_regenerates(demo, tmp_path, capsys):
    marker = demo / '.complete-scanobjectnn'
    assert json.loads(marker.read_text())['seed'] == 0
    h5 = demo / 'ScanObjectNN' / 'main_split' / 'test_objectdataset.h5'
    mtime = h5.stat().st_mtime_ns
    capsys.readouterr()
    assert tool.main(['--out', str(demo), *SMALL]) == 0
    log = capsys.readouterr().out
    assert log.count('already complete, skipped') == len(tool.DATASETS) == 6
    assert h5.stat().st_mtime_ns == mtime
    assert not list(demo.glob('.partial-*'))

    out = tmp_path / 'force'
    args = ['--out', str(out), '--only', 'shapenetpart', *SMALL]
    assert tool.main(args) == 0
    first = _read(out / PART / 'train_test_split' /
                  'shuffled_test_file_list.json')
    assert tool.main(args + ['--force']) == 0
    assert 'shapenetpart: done' in capsys.readouterr().out
    assert _read(out / PART / 'train_test_split' /
                 'shuffled_test_file_list.json') == first
    # another seed regenerates without --force
    assert tool.main(args[:-len(SMALL)] + SMALL + ['--seed', '5']) == 0
    assert 'settings changed: seed 0 -> 5' in capsys.readouterr().out


def test_refuses_to_overwrite_foreign_data(tmp_path):
    (tmp_path / 'ShapeNet55-34').mkdir()
    (tmp_path / 'ShapeNet55-34' / 'real.txt').write_text('x')
    with pytest.raises(SystemExit, match='not written by this tool'):
        tool.main(['--out', str(tmp_path), '--only', 'shapenet55',
                   '--force', *SMALL])
    assert (tmp_path / 'ShapeNet55-34' / 'real.txt').exists()


@pytest.mark.parametrize('args, message', [
    (['--only', 'shapenet55,imagenet'], 'unknown dataset'),
    (['--scale', '0'], '--scale must be'),
    (['--seed', '-1'], '--seed must be'),
    (['--workers', '0'], 'expected >= 1'),
    (['--fewshot-shots', 'ten'], 'comma-separated integers'),
    (['--fewshot-points', '9000'], '--fewshot-points must be'),
])
def test_bad_arguments(args, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as err:
        tool.main(['--out', str(tmp_path / 'x'), *args])
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_fewshot_needs_enough_shapes(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        tool.main(['--out', str(tmp_path), '--only', 'fewshot', '--scale',
                   '0.05'])
    assert err.value.code == 2
    assert 'need more than 20 training' in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_help(capsys):
    with pytest.raises(SystemExit) as err:
        tool.main(['--help'])
    assert err.value.code == 0
    text = capsys.readouterr().out
    assert '--only' in text and 'shapenetpart' in text and '--scale' in text
