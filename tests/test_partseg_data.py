"""ShapeNetPart: dataset on a tiny official-format folder, its transforms,
and the part-segmentation metric against hand-computed values."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch

import act_mmdet3d  # noqa: F401  (registers the modules)
from act_mmdet3d.datasets import (SHAPENETPART_CATEGORIES,
                                  SHAPENETPART_SEG_CLASSES,
                                  ShapeNetPartDataset)
from act_mmdet3d.datasets.transforms import (PointcloudScaleAndTranslate,
                                             PointSubsample)
from act_mmdet3d.evaluation.metrics import PartSegMetric
from act_mmdet3d.evaluation.metrics import part_seg_metric
from mmengine.config import Config
from mmengine.dataset import BaseDataset, pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmdet3d.registry import DATASETS, METRICS, MODELS
from mmdet3d.structures import Det3DDataSample, PointData
from mmdet3d.structures.points import DepthPoints

RNG = np.random.default_rng(0)
CONFIG = 'configs/_base_/datasets/shapenetpart.py'
DEMO_ROOT = 'data/demo/shapenetcore_partanno_segmentation_benchmark_v0_normal'

# The official 16 lines of synsetoffset2category.txt, in order.
OFFICIAL = [('Airplane', '02691156'), ('Bag', '02773838'),
            ('Cap', '02954340'), ('Car', '02958343'), ('Chair', '03001627'),
            ('Earphone', '03261776'), ('Guitar', '03467517'),
            ('Knife', '03624134'), ('Lamp', '03636649'),
            ('Laptop', '03642806'), ('Motorbike', '03790512'),
            ('Mug', '03797390'), ('Pistol', '03948459'),
            ('Rocket', '04099429'), ('Skateboard', '04225987'),
            ('Table', '04379243')]
AIRPLANE, CHAIR, TABLE = '02691156', '03001627', '04379243'

# (synset, model id, number of points, split); 'c1' has fewer than 2048.
SHAPES = [
    (AIRPLANE, 'a1', 300, 'train'),
    (AIRPLANE, 'a2', 2500, 'train'),
    (AIRPLANE, 'a3', 200, 'val'),
    (AIRPLANE, 'a4', 250, 'test'),
    (CHAIR, 'c1', 100, 'train'),
    (CHAIR, 'c2', 150, 'test'),
    (TABLE, 't1', 120, 'val'),
    (TABLE, 't2', 130, 'test'),
]


@pytest.fixture(autouse=True)
def mmdet3d_scope():
    init_default_scope('mmdet3d')


def part_rows(synset, num):
    """(num, 7) rows x y z nx ny nz part with the category's global ids."""
    name = dict((s, n) for n, s in OFFICIAL)[synset]
    parts = np.asarray(SHAPENETPART_SEG_CLASSES[name])
    xyz = RNG.standard_normal((num, 3)) * 0.3 + 0.5
    normals = RNG.standard_normal((num, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    labels = parts[np.arange(num) % len(parts)]  # every part occurs
    RNG.shuffle(labels)
    return np.round(np.concatenate([xyz, normals, labels[:, None]], 1), 6)


def write_rows(path, rows):
    # the official text: '%.6f', the part as a float ('13.000000')
    np.savetxt(path, rows, fmt='%.6f', delimiter=' ')


def write_split(root, split, entries):
    with open(osp.join(root, 'train_test_split',
                       f'shuffled_{split}_file_list.json'), 'w') as f:
        json.dump(entries, f)


@pytest.fixture
def part_root(tmp_path):
    root = tmp_path / 'shapenetcore_partanno_segmentation_benchmark_v0_normal'
    os.makedirs(root / 'train_test_split')
    with open(root / 'synsetoffset2category.txt', 'w') as f:
        f.write(''.join(f'{n}\t{s}\n' for n, s in OFFICIAL))
    rows, splits = {}, {'train': [], 'val': [], 'test': []}
    for synset, model_id, num, split in SHAPES:
        os.makedirs(root / synset, exist_ok=True)
        rows[model_id] = part_rows(synset, num)
        write_rows(root / synset / f'{model_id}.txt', rows[model_id])
        splits[split].append(f'shape_data/{synset}/{model_id}')
    # a file on disk that no list names is not part of any split
    write_rows(root / CHAIR / 'zz.txt', part_rows(CHAIR, 50))
    for split, entries in splits.items():
        write_split(str(root), split, entries[::-1])  # 'shuffled'
    return str(root), rows


def model_ids(ds):
    """Model ids in dataset order (from the index; no shape file is read)."""
    return [
        BaseDataset.get_data_info(ds, i)['model_id'] for i in range(len(ds))
    ]


# ------------------------------------------------------------------ dataset
def test_metainfo_category_and_part_mapping(part_root):
    root, rows = part_root
    ds = ShapeNetPartDataset(root, split='train')
    meta = ds.metainfo
    assert meta['classes'] == tuple(n for n, _ in OFFICIAL)
    assert meta['synsets'] == tuple(s for _, s in OFFICIAL)
    assert tuple(SHAPENETPART_CATEGORIES) == tuple(OFFICIAL)
    assert meta['seg_classes']['Chair'] == [12, 13, 14, 15]
    assert meta['seg_classes']['Table'] == [47, 48, 49]
    assert meta['seg_classes']['Motorbike'] == [30, 31, 32, 33, 34, 35]
    assert list(meta['seg_classes']) == list(meta['classes'])
    assert sorted(p for v in meta['seg_classes'].values()
                  for p in v) == list(range(50))
    assert meta['num_parts'] == 50

    infos = {ds.get_data_info(i)['model_id']: ds.get_data_info(i)
             for i in range(len(ds))}
    chair = infos['c1']
    assert chair['category'] == 4 and chair['category_name'] == 'Chair'
    assert chair['taxonomy_id'] == CHAIR
    assert chair['lidar_path'] == osp.join(root, CHAIR, 'c1.txt')
    assert infos['a2']['category'] == 0
    for model_id, info in infos.items():
        mask = info['pts_semantic_mask']
        assert mask.dtype == np.int64
        np.testing.assert_array_equal(mask, rows[model_id][:, 6])
        assert isinstance(info['points'], DepthPoints)
        assert info['points'].shape == (len(rows[model_id]), 3)
        np.testing.assert_allclose(info['points'].numpy(),
                                   rows[model_id][:, :3], atol=1e-6)
        assert info['num_pts_feats'] == 3
    assert set(np.unique(chair['pts_semantic_mask'])) == {12, 13, 14, 15}
    assert ds.get_cat_ids(list(infos).index('c1')) == [4]


def test_normals_on_and_off(part_root):
    root, rows = part_root
    ds = ShapeNetPartDataset(root, split='test', use_normals=True)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        pts = info['points']
        assert pts.shape[1] == 6 and info['num_pts_feats'] == 6
        assert pts.attribute_dims == dict(normal=[3, 4, 5])
        np.testing.assert_allclose(pts.numpy(), rows[info['model_id']][:, :6],
                                   atol=1e-6)
    off = ShapeNetPartDataset(root, split='test').get_data_info(0)
    assert off['points'].shape[1] == 3


def test_splits_and_order(part_root):
    root, _ = part_root
    by_split = {
        s: [m for _, m, _, sp in SHAPES if sp == s]
        for s in ('train', 'val', 'test')
    }
    ids = {s: model_ids(ShapeNetPartDataset(root, split=s))
           for s in ('train', 'val', 'trainval', 'test')}
    for s in ('train', 'val', 'test'):
        assert sorted(ids[s]) == sorted(by_split[s])
    assert sorted(ids['trainval']) == sorted(by_split['train'] +
                                             by_split['val'])
    # the reference order: category (file order), then model id
    assert ids['trainval'] == ['a1', 'a2', 'a3', 'c1', 't1']
    assert ids['test'] == ['a4', 'c2', 't2']
    assert 'zz' not in sum(ids.values(), [])
    # class_choice keeps the official category index
    chairs = ShapeNetPartDataset(root, split='trainval',
                                 class_choice=['Chair', 'Table'])
    assert model_ids(chairs) == ['c1', 't1']
    assert [chairs.get_data_info(i)['category'] for i in range(2)] == [4, 15]
    assert len(chairs.metainfo['classes']) == 16
    # built from the registry, as configs do
    ds = DATASETS.build(
        dict(type='ShapeNetPartDataset', data_root=root, split='val'))
    assert sorted(model_ids(ds)) == ['a3', 't1']


def test_reads_the_demo_data():
    train = ShapeNetPartDataset(DEMO_ROOT, split='train')
    val = ShapeNetPartDataset(DEMO_ROOT, split='val')
    trainval = ShapeNetPartDataset(DEMO_ROOT, split='trainval')
    test = ShapeNetPartDataset(DEMO_ROOT, split='test')
    assert len(trainval) == len(train) + len(val) > 0
    names = {test.get_data_info(i)['category_name'] for i in range(len(test))}
    assert names == {'Airplane', 'Cap', 'Chair', 'Lamp', 'Laptop', 'Mug',
                     'Table'}
    for i in range(0, len(test), 9):  # the files pass every check
        info = test.get_data_info(i)
        parts = test.metainfo['seg_classes'][info['category_name']]
        assert set(np.unique(info['pts_semantic_mask'])) <= set(parts)


def test_errors_name_the_file(part_root):
    root, rows = part_root
    split_dir = osp.join(root, 'train_test_split')
    with pytest.raises(ValueError, match="unknown split 'trian'"):
        ShapeNetPartDataset(root, split='trian')
    with pytest.raises(FileNotFoundError, match='data_root'):
        ShapeNetPartDataset(root + '_missing')
    with pytest.raises(ValueError, match='class_choice'):
        ShapeNetPartDataset(root, class_choice=['Chiar'])

    # missing split file: only the splits that need it fail
    os.rename(osp.join(split_dir, 'shuffled_val_file_list.json'),
              osp.join(split_dir, 'moved.json'))
    with pytest.raises(FileNotFoundError,
                       match='split file.*shuffled_val_file_list.json'):
        ShapeNetPartDataset(root, split='trainval')
    assert len(ShapeNetPartDataset(root, split='train')) == 3
    os.rename(osp.join(split_dir, 'moved.json'),
              osp.join(split_dir, 'shuffled_val_file_list.json'))

    # missing shape file, named with the list that names it
    write_split(root, 'test', [f'shape_data/{CHAIR}/c2',
                               f'shape_data/{CHAIR}/gone'])
    with pytest.raises(FileNotFoundError,
                       match=f'{CHAIR}/gone.txt.*shuffled_test_file_list'):
        ShapeNetPartDataset(root, split='test')
    # entries that are not shape_data/<synset>/<id>, unknown synsets
    write_split(root, 'test', ['c2'])
    with pytest.raises(ValueError, match=r'test_file_list.json \[entry 0\]'):
        ShapeNetPartDataset(root, split='test')
    write_split(root, 'test', ['shape_data/12345678/x'])
    with pytest.raises(ValueError, match='synset 12345678.*synsetoffset'):
        ShapeNetPartDataset(root, split='test')
    write_split(root, 'test', {'a': 1})
    with pytest.raises(ValueError, match='JSON list'):
        ShapeNetPartDataset(root, split='test')

    # category file
    cat_file = osp.join(root, 'synsetoffset2category.txt')
    with open(cat_file, 'a') as f:
        f.write('Sofa 04256520 extra\n')
    with pytest.raises(ValueError, match='synsetoffset2category.txt:17'):
        ShapeNetPartDataset(root, split='train')
    with open(cat_file, 'w') as f:
        f.write('Airplane\t02691156\nSofa\t04256520\n')
    with pytest.raises(ValueError, match=r"\['Sofa'\] have no part ids"):
        ShapeNetPartDataset(root, split='train')
    os.remove(cat_file)
    with pytest.raises(FileNotFoundError, match='category file'):
        ShapeNetPartDataset(root, split='train')


def _dataset_with(root, rows, model_id='c1'):
    """The train set after rewriting the file of ``model_id``."""
    synset = [s for s, m, _, _ in SHAPES if m == model_id][0]
    path = osp.join(root, synset, f'{model_id}.txt')
    write_rows(path, rows)
    ds = ShapeNetPartDataset(root, split='train')
    return ds, model_ids(ds).index(model_id), path


@pytest.mark.parametrize('part, message', [
    (50., r'part id 50 at row 4 is outside the 50 part ids \[0, 50\)'),
    (-1., r'part id -1 at row 4 is outside'),
    (2., r'part id 2 at row 4 is not a part of Chair .*\[12, 13, 14, 15\]'),
    (13.5, 'part id 13.5 at row 4 is not an integer'),
])
def test_bad_part_ids(part_root, part, message):
    root, rows = part_root
    bad = rows['c1'].copy()
    bad[3, 6] = part
    ds, idx, path = _dataset_with(root, bad)
    with pytest.raises(ValueError, match=message) as err:
        ds.get_data_info(idx)
    assert path in str(err.value)


def test_malformed_shape_files(part_root):
    root, rows = part_root
    path = osp.join(root, CHAIR, 'c1.txt')
    ds = ShapeNetPartDataset(root, split='train')
    idx = model_ids(ds).index('c1')
    with open(path) as f:
        lines = f.read().splitlines()
    cases = [
        (lines[:2] + [' '.join(lines[2].split()[:6])] + lines[3:],
         'malformed ShapeNetPart shape file.*row 3'),
        (lines[:2] + [lines[2].replace(lines[2].split()[1], 'abc')] +
         lines[3:], 'malformed.*abc'),
        ([' '.join(ln.split()[:6]) for ln in lines],
         'expected 7 columns "x y z nx ny nz part"'),
        ([lines[0].replace(lines[0].split()[0], 'nan')] + lines[1:],
         'NaN/inf'),
        ([], 'no points'),
    ]
    for content, message in cases:
        with open(path, 'w') as f:
            f.write('\n'.join(content) + '\n')
        with pytest.raises(ValueError, match=message) as err:
            ds.get_data_info(idx)
        assert path in str(err.value)
    os.remove(path)
    with pytest.raises(FileNotFoundError, match='shape file not found'):
        ds.get_data_info(idx)


# --------------------------------------------------------------- transforms
def _reference_sample(rows, npoints, normals, seed):
    """The reference PartNormalDataset.__getitem__ + the train-loop
    augmentation (provider.random_scale_point_cloud then
    shift_point_cloud) for a batch of one, from numpy's global RNG."""
    np.random.seed(seed)
    data = rows.astype(np.float32)
    point_set = data[:, 0:6] if normals else data[:, 0:3]
    seg = data[:, -1].astype(np.int32)
    xyz = point_set[:, 0:3]
    xyz = xyz - np.mean(xyz, axis=0)
    point_set[:, 0:3] = xyz / np.max(np.sqrt(np.sum(xyz**2, axis=1)))
    choice = np.random.choice(len(seg), npoints, replace=True)
    batch = point_set[choice, :][None].copy()
    seg = seg[choice]
    scales = np.random.uniform(0.8, 1.25, 1)
    batch[0, :, 0:3] *= scales[0]
    shifts = np.random.uniform(-0.1, 0.1, (1, 3))
    batch[0, :, 0:3] += shifts[0, :]
    return batch[0], seg


@pytest.mark.parametrize('model_id, normals', [('c1', False),
                                               ('a2', True)])
def test_train_pipeline_matches_reference(part_root, model_id, normals):
    root, rows = part_root
    cfg = Config.fromfile(CONFIG)
    ds = ShapeNetPartDataset(root, split='train', use_normals=normals,
                             pipeline=cfg.train_pipeline)
    idx = model_ids(ds).index(model_id)
    np.random.seed(3)
    out = ds[idx]
    ref_points, ref_seg = _reference_sample(rows[model_id], 2048, normals, 3)
    points = out['inputs']['points']
    assert points.dtype == torch.float32
    assert points.shape == (2048, 6 if normals else 3)
    torch.testing.assert_close(points, torch.from_numpy(ref_points),
                               rtol=1e-5, atol=1e-6)
    mask = out['data_samples'].gt_pts_seg.pts_semantic_mask
    assert mask.dtype == torch.int64
    np.testing.assert_array_equal(mask.numpy(), ref_seg)
    scale = out['data_samples'].metainfo['pcd_scale_factor']
    assert scale[0] == scale[1] == scale[2]  # isotropic, as provider.py


def test_subsample_choice_keeps_labels_with_points():
    xyz = np.arange(30, dtype=np.float32).reshape(10, 3)
    labels = np.arange(10, dtype=np.int64) + 12
    results = dict(points=DepthPoints(xyz), pts_semantic_mask=labels,
                   sample_idx=0)
    np.random.seed(0)
    out = PointSubsample(64, mode='choice')(dict(results))
    np.random.seed(0)
    expected = np.random.choice(10, 64, replace=True)
    np.testing.assert_array_equal(out['points'].numpy(), xyz[expected])
    np.testing.assert_array_equal(out['pts_semantic_mask'], labels[expected])
    # with replacement even when the cloud has enough points (reference)
    np.random.seed(1)
    out = PointSubsample(8, mode='choice')(dict(results))
    np.random.seed(1)
    np.testing.assert_array_equal(out['pts_semantic_mask'],
                                  labels[np.random.choice(10, 8, True)])
    # the other modes still refuse too small clouds
    with pytest.raises(ValueError, match='10 points.*num_points=64'):
        PointSubsample(64, mode='random')(dict(results))
    with pytest.raises(ValueError, match='0 points'):
        PointSubsample(4, mode='choice')(
            dict(points=DepthPoints(np.zeros((0, 3)))))


def test_subsample_seed_is_per_sample():
    xyz = RNG.standard_normal((500, 3)).astype(np.float32)
    t = PointSubsample(64, mode='choice', seed=7)

    def draw(idx):
        out = t(dict(points=DepthPoints(xyz), sample_idx=idx))
        return out['points'].numpy()

    np.random.seed(0)
    first = draw(3)
    np.random.seed(123)  # the global RNG does not matter
    np.testing.assert_array_equal(first, draw(3))
    state = np.random.get_state()
    draw(3)
    assert np.array_equal(np.random.get_state()[1], state[1])  # untouched
    assert not np.array_equal(first, draw(4))
    expected = np.random.RandomState([7, 3]).choice(500, 64, replace=True)
    np.testing.assert_array_equal(first, xyz[expected])
    other_seed = PointSubsample(64, mode='choice', seed=8)(
        dict(points=DepthPoints(xyz), sample_idx=3))['points'].numpy()
    assert not np.array_equal(first, other_seed)
    # every mode can be seeded
    rnd = PointSubsample(64, mode='random', seed=1)
    a = rnd(dict(points=DepthPoints(xyz), sample_idx=0))['points'].numpy()
    b = rnd(dict(points=DepthPoints(xyz), sample_idx=0))['points'].numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(KeyError, match='sample_idx'):
        t(dict(points=DepthPoints(xyz)))
    with pytest.raises(ValueError, match='seed'):
        PointSubsample(64, seed=-1)


def test_isotropic_scale_and_translate():
    pts = RNG.standard_normal((100, 6)).astype(np.float32)
    t = PointcloudScaleAndTranslate(0.8, 1.25, 0.1, isotropic=True)
    scales, shifts = [], []
    np.random.seed(0)
    for _ in range(300):
        res = t(dict(points=DepthPoints(pts, points_dim=6,
                                        attribute_dims=dict(normal=[3, 4,
                                                                    5]))))
        s, tr = res['pcd_scale_factor'], res['pcd_trans']
        assert s[0] == s[1] == s[2]
        out = res['points'].numpy()
        np.testing.assert_allclose(out[:, :3], pts[:, :3] * s + tr,
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out[:, 3:], pts[:, 3:])  # normals
        scales.append(s[0])
        shifts.append(tr)
    assert 0.8 <= min(scales) < 0.82 and 1.23 < max(scales) <= 1.25
    assert 0.09 < np.abs(shifts).max() <= 0.1
    # per-axis stays the default
    res = PointcloudScaleAndTranslate()(dict(points=DepthPoints(pts[:, :3])))
    assert len(set(res['pcd_scale_factor'].tolist())) == 3


def test_config_batch_through_data_preprocessor(part_root):
    root, rows = part_root
    cfg = Config.fromfile(CONFIG)
    assert cfg.train_dataloader.dataset.split == 'trainval'
    assert cfg.val_dataloader.dataset.split == 'test'
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.data_root == \
        'data/shapenetcore_partanno_segmentation_benchmark_v0_normal'
    assert cfg.val_evaluator.type == 'PartSegMetric'
    train = DATASETS.build(dict(cfg.train_dataloader.dataset,
                                data_root=root))
    test = DATASETS.build(dict(cfg.val_dataloader.dataset, data_root=root))
    assert len(train) == 5 and len(test) == 3
    batch = pseudo_collate([train[i] for i in range(len(train))])
    pre = MODELS.build(dict(type='Det3DDataPreprocessor'))
    data = pre(batch, training=True)
    points = data['inputs']['points']
    assert len(points) == 5
    assert all(p.shape == (2048, 3) and p.dtype == torch.float32
               for p in points)
    samples = data['data_samples']
    assert [s.metainfo['category'] for s in samples] == [0, 0, 0, 4, 15]
    for s, p in zip(samples, points):
        mask = s.gt_pts_seg.pts_semantic_mask
        assert mask.shape == (2048, ) and mask.dtype == torch.int64
        parts = train.metainfo['seg_classes'][s.metainfo['category_name']]
        assert set(mask.unique().tolist()) <= set(parts)
        assert p[:, :3].norm(dim=1).max() <= 1.25 + 0.1 * 3**0.5 + 1e-5
    # the test draw is the same at every evaluation
    first = test[1]['inputs']['points']
    np.random.seed(99)
    torch.testing.assert_close(test[1]['inputs']['points'], first)
    assert first.shape == (2048, 3)
    assert float(first.norm(dim=1).max()) <= 1. + 1e-6


# ------------------------------------------------------------------- metric
def _sample(pred, gt, category=None, sample_idx=0):
    sample = Det3DDataSample(metainfo=dict(sample_idx=sample_idx))
    if category is not None:
        sample.set_metainfo(dict(category=category))
    sample.gt_pts_seg = PointData(
        pts_semantic_mask=torch.tensor(gt, dtype=torch.int64))
    sample.pred_pts_seg = PointData(
        pts_semantic_mask=torch.tensor(pred, dtype=torch.int64))
    return sample


def _meta():
    return dict(classes=tuple(n for n, _ in OFFICIAL),
                seg_classes={k: list(v)
                             for k, v in SHAPENETPART_SEG_CLASSES.items()})


def test_metric_hand_computed(monkeypatch):
    logged = []
    monkeypatch.setattr(part_seg_metric, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    evaluator = Evaluator(METRICS.build(dict(type='PartSegMetric')))
    evaluator.dataset_meta = _meta()
    samples = [
        # Airplane: part 0: 1/2, part 1: 2/4, part 2: 1/2, part 3 absent
        # from both -> 1; shape IoU 0.625 (0.5 if absent parts were skipped)
        _sample([0, 1, 1, 1, 2, 2], [0, 0, 1, 1, 1, 2], category=0),
        # Airplane, all right, parts 1-3 absent -> 1
        _sample([0, 0, 0, 0], [0, 0, 0, 0], category=0),
        # Chair: 12: 1/2, 13: 2/3, 14 and 15 absent -> 1; 0.7916...
        _sample([12, 13, 13, 13], [12, 12, 13, 13], category=4),
    ]
    # mmengine's evaluator hands the samples to the metric as dicts
    evaluator.process(samples, data_batch=None)
    metrics = evaluator.evaluate(3)
    chair = (0.5 + 2 / 3 + 1 + 1) / 4
    assert metrics['instance_mIoU'] == pytest.approx(
        (0.625 + 1 + chair) / 3 * 100)
    assert metrics['class_mIoU'] == pytest.approx(
        ((0.625 + 1) / 2 + chair) / 2 * 100)
    assert metrics['accuracy'] == pytest.approx(11 / 14 * 100)
    # per part recall over the parts in the ground truth: 0: 5/6, 1: 2/3,
    # 2: 1/1, 12: 1/2, 13: 2/2
    assert metrics['class_avg_accuracy'] == pytest.approx(
        (5 / 6 + 2 / 3 + 1 + 1 / 2 + 1) / 5 * 100)
    assert metrics['Airplane_mIoU'] == pytest.approx(81.25)
    assert metrics['Chair_mIoU'] == pytest.approx(chair * 100)
    assert 'Table_mIoU' not in metrics  # no shapes, left out
    table = logged[0]
    assert 'Airplane' in table and '81.25' in table and 'Table' in table
    assert 'instance mIoU' in table and '80.56' in table

    # a predicted part absent from the ground truth has IoU 0, not 1
    ious = part_seg_metric.shape_part_ious(np.array([0, 1]), np.array([0, 0]),
                                           [0, 1, 2, 3])
    np.testing.assert_allclose(ious, [0.5, 0., 1., 1.])
    # classwise off; category from the first point's label when missing
    metric = PartSegMetric(classwise=False)
    metric.process(None, [_sample([47, 48], [47, 49]).to_dict()])
    res = metric.compute_metrics(metric.results)
    assert metric.results[0]['category'] == 15
    assert res['instance_mIoU'] == pytest.approx((1 + 0 + 0) / 3 * 100)
    assert not any(k.endswith('_mIoU') and k[0].isupper() for k in res)
    # a prediction of another category's part is wrong, and reported; no
    # dataset_meta: the official tables
    logged.clear()
    metric = PartSegMetric()
    metric.process(None, [_sample([0, 47], [47, 47], 15).to_dict()])
    res = metric.compute_metrics(metric.results)
    assert res['accuracy'] == pytest.approx(50.)
    assert res['Table_mIoU'] == pytest.approx((0.5 + 1 + 1) / 3 * 100)
    assert '1 predicted labels are parts of another category' in logged[-1]


def _reference_eval(preds, targets):
    """The test loop of the reference main.py on (B, N) label arrays."""
    seg_classes = {k: list(v) for k, v in SHAPENETPART_SEG_CLASSES.items()}
    seg_label_to_cat = {p: c for c, ls in seg_classes.items() for p in ls}
    total_correct = total_seen = 0
    total_seen_class = [0 for _ in range(50)]
    total_correct_class = [0 for _ in range(50)]
    shape_ious = {cat: [] for cat in seg_classes.keys()}
    total_correct += np.sum(preds == targets)
    total_seen += preds.size
    for p in range(50):
        total_seen_class[p] += np.sum(targets == p)
        total_correct_class[p] += np.sum((preds == p) & (targets == p))
    for segp, segl in zip(preds, targets):
        cat = seg_label_to_cat[segl[0]]
        part_ious = [0.0 for _ in range(len(seg_classes[cat]))]
        for p in seg_classes[cat]:
            if np.sum(segl == p) == 0 and np.sum(segp == p) == 0:
                part_ious[p - seg_classes[cat][0]] = 1.0
            else:
                part_ious[p - seg_classes[cat][0]] = np.sum(
                    (segl == p) & (segp == p)) / float(
                        np.sum((segl == p) | (segp == p)))
        shape_ious[cat].append(np.mean(part_ious))
    all_shape_ious = [iou for ious in shape_ious.values() for iou in ious]
    shape_ious = {c: np.mean(v) for c, v in shape_ious.items()}
    return dict(
        accuracy=total_correct / float(total_seen),
        class_avg_accuracy=np.mean(
            np.array(total_correct_class) /
            np.array(total_seen_class, dtype=np.float64)),
        class_mIoU=np.mean(list(shape_ious.values())),
        instance_mIoU=np.mean(all_shape_ious),
        per_cat=shape_ious)


def test_metric_matches_reference_loop():
    rng = np.random.default_rng(5)
    names = [n for n, _ in OFFICIAL]
    preds, targets, cats = [], [], []
    for cat, name in enumerate(names):
        parts = np.array(SHAPENETPART_SEG_CLASSES[name])
        for k in range(2 + cat % 3):  # unequal counts: class != instance
            # the ground truth of some shapes misses parts
            gt = rng.choice(parts[:len(parts) - k % 2], 64)
            gt[:len(parts)] = parts if k == 0 else gt[:len(parts)]
            pred = np.where(rng.random(64) < 0.7, gt, rng.choice(parts, 64))
            preds.append(pred)
            targets.append(gt)
            cats.append(cat)
    preds, targets = np.stack(preds), np.stack(targets)
    ref = _reference_eval(preds, targets)
    metric = PartSegMetric()
    metric.dataset_meta = _meta()
    for i, (p, g, c) in enumerate(zip(preds, targets, cats)):
        metric.process(None, [_sample(p, g, c, i).to_dict()])
    res = metric.compute_metrics(metric.results)
    for key in ('accuracy', 'class_avg_accuracy', 'class_mIoU',
                'instance_mIoU'):
        assert res[key] == pytest.approx(ref[key] * 100, abs=1e-9), key
    for name in names:
        assert res[f'{name}_mIoU'] == pytest.approx(
            ref['per_cat'][name] * 100)
    assert res['class_mIoU'] != pytest.approx(res['instance_mIoU'])


def test_metric_errors():
    metric = PartSegMetric()
    metric.dataset_meta = _meta()
    with pytest.raises(ValueError,
                       match=r'sample_idx=7.*part id 3 is not a part of '
                       r'Chair \(its parts: \[12, 13, 14, 15\]\)'):
        metric.process(None, [_sample([12, 12], [12, 3], 4, 7).to_dict()])
    with pytest.raises(ValueError, match=r'ground-truth part id 50 is '
                       r'outside \[0, 50\)'):
        metric.process(None, [_sample([0, 0], [0, 50], 0)])
    with pytest.raises(ValueError, match='predicted part id -1'):
        metric.process(None, [_sample([0, -1], [0, 0], 0)])
    with pytest.raises(ValueError, match='3 predicted vs 2'):
        metric.process(None, [_sample([0, 0, 0], [0, 0], 0)])
    with pytest.raises(ValueError, match='category 16'):
        metric.process(None, [_sample([0, 0], [0, 0], 16)])
    no_pred = Det3DDataSample()
    no_pred.gt_pts_seg = PointData(pts_semantic_mask=torch.zeros(2).long())
    with pytest.raises(KeyError, match='pred_pts_seg.pts_semantic_mask'):
        metric.process(None, [no_pred])
    with pytest.raises(ValueError, match='no results'):
        metric.compute_metrics([])
    assert metric.results == []  # nothing half-processed was kept
