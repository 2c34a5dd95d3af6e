"""Datasets and point transforms on tiny files in the official formats."""
import math
import os
import os.path as osp
import pickle

import h5py
import numpy as np
import pytest
import torch

import act_mmdet3d  # noqa: F401  (registers the modules)
from act_mmdet3d.datasets import (SCANOBJECTNN_CLASSES, ModelNet40Dataset,
                                  ModelNetFewShotDataset, ScanObjectNNDataset,
                                  ShapeNet55Dataset)
from act_mmdet3d.datasets.transforms import (NormalizePointsToUnitSphere,
                                             PackPointClsInputs,
                                             PointcloudRotate,
                                             PointcloudScaleAndTranslate,
                                             PointSubsample,
                                             farthest_point_sample)
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmdet3d.registry import DATASETS, TRANSFORMS
from mmdet3d.structures import Det3DDataSample
from mmdet3d.structures.points import BasePoints, DepthPoints

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def mmdet3d_scope():
    """Pipelines resolve transform names in mmdet3d's scope, as configs
    with ``default_scope='mmdet3d'`` do."""
    init_default_scope('mmdet3d')


def cloud(n, c=3, offset=0.):
    return (RNG.standard_normal((n, c)) + offset).astype(np.float32)


def write_text(path, lines):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


# --------------------------------------------------------------- fixtures
SHAPENET_TRAIN = ['02691156-aaa.npy', '03001627-bbb.npy', '04379243-ccc.npy']
SHAPENET_TEST = ['02691156-ddd.npy', '04379243-eee.npy']


@pytest.fixture
def shapenet_root(tmp_path):
    root = tmp_path / 'ShapeNet55-34'
    os.makedirs(root / 'shapenet_pc')
    for name in SHAPENET_TRAIN + SHAPENET_TEST:
        np.save(root / 'shapenet_pc' / name, cloud(256))
    write_text(str(root / 'ShapeNet-55' / 'train.txt'), SHAPENET_TRAIN)
    write_text(str(root / 'ShapeNet-55' / 'test.txt'), SHAPENET_TEST)
    return str(root)


MN_CLASSES = ['airplane', 'night_stand', 'cup']
MN_TRAIN = ['airplane_0001', 'night_stand_0001', 'cup_0001', 'airplane_0002']
MN_TEST = ['night_stand_0002', 'cup_0002']


def write_modelnet_txt(path, points):
    os.makedirs(osp.dirname(path), exist_ok=True)
    np.savetxt(path, points, fmt='%.6f', delimiter=',')


@pytest.fixture
def modelnet_root(tmp_path):
    """txt folder + 8192pts caches (holding 200-point FPS-ordered clouds)."""
    root = tmp_path / 'modelnet40_normal_resampled'
    write_text(str(root / 'modelnet40_shape_names.txt'), MN_CLASSES)
    for split, ids in (('train', MN_TRAIN), ('test', MN_TEST)):
        write_text(str(root / f'modelnet40_{split}.txt'), ids)
        pts_list, labels = [], []
        for shape_id in ids:
            cls = '_'.join(shape_id.split('_')[:-1])
            pts = cloud(300, 6)
            write_modelnet_txt(str(root / cls / f'{shape_id}.txt'), pts)
            idx = farthest_point_sample(pts, 200, start=0)
            pts_list.append(pts[idx])
            labels.append(np.array([MN_CLASSES.index(cls)], dtype=np.int32))
        with open(root / f'modelnet40_{split}_8192pts_fps.dat', 'wb') as f:
            pickle.dump([pts_list, labels], f)
    return str(root)


SCAN_FILES = {
    # variant: (folder, suffix, train count, test count)
    'obj_bg': ('main_split', '', 4, 3),
    'hardest': ('main_split', '_augmentedrot_scale75', 5, 2),
    'obj_only': ('main_split_nobg', '', 6, 1),
}


def write_h5(path, data=None, label=None, **extra):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with h5py.File(path, 'w') as f:
        if data is not None:
            f.create_dataset('data', data=data)
        if label is not None:
            f.create_dataset('label', data=label)
        for k, v in extra.items():
            f.create_dataset(k, data=v)


@pytest.fixture
def scan_root(tmp_path):
    root = tmp_path / 'ScanObjectNN'
    for folder, suffix, n_train, n_test in SCAN_FILES.values():
        for prefix, n in (('training', n_train), ('test', n_test)):
            write_h5(
                str(root / folder / f'{prefix}_objectdataset{suffix}.h5'),
                data=RNG.standard_normal((n, 64, 3)).astype(np.float32),
                label=np.arange(n, dtype=np.int64) % 15,
                mask=np.zeros((n, 64), dtype=np.int64))
    return str(root)


def write_fewshot(path, way, shot, n_test, orig_labels):
    content = {}
    for split, per in (('train', shot), ('test', n_test)):
        entries = []
        for i in range(way):
            for _ in range(per):
                entries.append((cloud(128, 6), i, np.int32(orig_labels[i])))
        content[split] = entries
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        pickle.dump(content, f)


@pytest.fixture
def fewshot_root(tmp_path):
    root = tmp_path / 'ModelNetFewshot'
    write_fewshot(str(root / '2way3shot' / '0.pkl'), 2, 3, 4, [0, 8])
    write_fewshot(str(root / '2way3shot' / '1.pkl'), 2, 3, 4, [35, 9])
    # the reference code's own folder naming
    write_fewshot(str(root / '3way_1shot' / '0.pkl'), 3, 1, 2, [1, 2, 3])
    return str(root)


# ------------------------------------------------------------- ShapeNet-55
def test_shapenet55_splits(shapenet_root):
    train = ShapeNet55Dataset(shapenet_root, split='train')
    test = ShapeNet55Dataset(shapenet_root, split='test')
    whole = ShapeNet55Dataset(shapenet_root, split='whole')
    assert len(train) == 3 and len(test) == 2 and len(whole) == 5
    names = [osp.basename(whole.get_data_info(i)['lidar_path'])
             for i in range(len(whole))]
    # the reference concatenates test + train
    assert names == SHAPENET_TEST + SHAPENET_TRAIN
    info = train.get_data_info(1)
    assert isinstance(info['points'], DepthPoints)
    assert info['points'].shape == (256, 3)
    assert info['points'].tensor.dtype == torch.float32
    assert info['taxonomy_id'] == '03001627' and info['model_id'] == 'bbb'
    assert info['sample_idx'] == 1
    assert info['lidar_path'].endswith('shapenet_pc/03001627-bbb.npy')
    assert 'gt_label' not in info
    assert len(train.metainfo['classes']) == 55

    labelled = ShapeNet55Dataset(shapenet_root, split='train', with_label=True)
    synsets = labelled.metainfo['synsets']
    assert [labelled.get_data_info(i)['gt_label'] for i in range(3)] == [
        synsets.index(s) for s in ('02691156', '03001627', '04379243')
    ]
    assert labelled.metainfo['classes'][
        labelled.get_data_info(1)['gt_label']] == 'chair'


def test_shapenet55_errors(shapenet_root, tmp_path):
    with pytest.raises(ValueError, match='unknown split'):
        ShapeNet55Dataset(shapenet_root, split='val')
    with pytest.raises(FileNotFoundError, match='data_root'):
        ShapeNet55Dataset(str(tmp_path / 'nowhere'))
    os.remove(osp.join(shapenet_root, 'ShapeNet-55', 'test.txt'))
    with pytest.raises(FileNotFoundError, match='test.txt'):
        ShapeNet55Dataset(shapenet_root, split='whole')

    ds = ShapeNet55Dataset(shapenet_root, split='train')
    pc_dir = osp.join(shapenet_root, 'shapenet_pc')
    bad = {
        '02691156-aaa.npy': (b'\x93NUMPY garbage', 'unreadable'),
        '03001627-bbb.npy': (np.zeros(256, np.float32), 'shape'),
        '04379243-ccc.npy': (np.array([['a', 'b', 'c']]), 'dtype'),
    }
    for i, (name, (content, msg)) in enumerate(bad.items()):
        path = osp.join(pc_dir, name)
        if isinstance(content, bytes):
            with open(path, 'wb') as f:
                f.write(content)
        else:
            np.save(path, content)
        with pytest.raises((ValueError, TypeError), match=msg) as err:
            ds.get_data_info(i)
        assert name in str(err.value)
    nan_cloud = cloud(256)
    nan_cloud[7, 1] = np.nan
    np.save(osp.join(pc_dir, '02691156-aaa.npy'), nan_cloud)
    with pytest.raises(ValueError, match='NaN/inf.*row 7'):
        ds.get_data_info(0)
    os.remove(osp.join(pc_dir, '02691156-aaa.npy'))
    with pytest.raises(FileNotFoundError, match='02691156-aaa.npy'):
        ds.get_data_info(0)


# -------------------------------------------------------------- ModelNet40
def test_modelnet40_dat_and_txt(modelnet_root):
    dat = ModelNet40Dataset(modelnet_root, split='train', num_points=128,
                            format='dat')
    txt = ModelNet40Dataset(modelnet_root, split='train', num_points=128,
                            use_cache=False)
    assert dat.format == 'dat' and txt.format == 'txt'
    assert dat.metainfo['classes'] == tuple(MN_CLASSES)
    assert txt.metainfo['classes'] == tuple(MN_CLASSES)
    assert len(dat) == len(txt) == 4
    labels = [0, 1, 2, 0]
    for ds in (dat, txt):
        for i in range(4):
            info = ds.get_data_info(i)
            assert info['gt_label'] == labels[i]
            assert isinstance(info['gt_label'], int)
            assert info['points'].shape == (128, 3)
            assert info['points'].attribute_dims is None
            assert info['shape_id'] == MN_TRAIN[i]
    assert dat.get_data_info(1)['lidar_path'].endswith(
        'modelnet40_train_8192pts_fps.dat')
    assert dat.get_data_info(1)['index_in_file'] == 1
    assert txt.get_data_info(1)['lidar_path'].endswith(
        'night_stand/night_stand_0001.txt')

    # dat: first N of the FPS-ordered cache == the FPS of N of the txt cloud
    raw = np.loadtxt(
        osp.join(modelnet_root, 'airplane', 'airplane_0001.txt'),
        delimiter=',').astype(np.float32)
    ref = raw[farthest_point_sample(raw, 128, start=0)][:, :3]
    np.testing.assert_allclose(
        dat.get_data_info(0)['points'].numpy(), ref, atol=1e-5)
    # txt: an FPS of the file (random start), a subset of its rows
    np.random.seed(0)
    pts = txt.get_data_info(0)['points'].numpy()
    raw_rows = {tuple(r) for r in np.round(raw[:, :3], 5)}
    assert {tuple(r) for r in np.round(pts, 5)} <= raw_rows
    assert len({tuple(r) for r in pts}) == 128

    normals = ModelNet40Dataset(modelnet_root, split='test', num_points=200,
                                use_normals=True)
    assert normals.format == 'dat' and len(normals) == 2
    p = normals.get_data_info(0)['points']
    assert p.shape == (200, 6)
    assert p.attribute_dims == dict(normal=[3, 4, 5])
    assert normals.get_data_info(0)['num_pts_feats'] == 6


def test_modelnet40_cache_choice_and_classes(modelnet_root):
    # a cache for the exact num_points is preferred over the 8192 one
    with open(osp.join(modelnet_root, 'modelnet40_test_8192pts_fps.dat'),
              'rb') as f:
        pts_list, labels = pickle.load(f)
    with open(osp.join(modelnet_root, 'modelnet40_test_64pts_fps.dat'),
              'wb') as f:
        pickle.dump([[p[:64] for p in pts_list], labels], f)
    ds = ModelNet40Dataset(modelnet_root, split='test', num_points=64)
    assert ds.cache_path.endswith('modelnet40_test_64pts_fps.dat')
    assert ds.get_data_info(0)['points'].shape == (64, 3)
    # user metainfo renames the classes (same number as the file)
    ds = ModelNet40Dataset(
        modelnet_root, split='test', num_points=64,
        metainfo=dict(classes=('a', 'b', 'c')))
    assert ds.metainfo['classes'] == ('a', 'b', 'c')
    with pytest.raises(ValueError, match='lists 3'):
        ModelNet40Dataset(modelnet_root, split='test', num_points=64,
                          metainfo=dict(classes=('a', 'b')))


def test_modelnet40_errors(modelnet_root, tmp_path):
    with pytest.raises(ValueError, match='unknown split'):
        ModelNet40Dataset(modelnet_root, split='val')
    with pytest.raises(ValueError, match='unknown format'):
        ModelNet40Dataset(modelnet_root, format='h5')
    with pytest.raises(FileNotFoundError, match='data_root'):
        ModelNet40Dataset(str(tmp_path / 'nowhere'))
    # fewer points than num_points
    with pytest.raises(ValueError, match=r'cloud 0\].*fewer than num_points'):
        ModelNet40Dataset(modelnet_root, split='train', num_points=1024)
    ds = ModelNet40Dataset(modelnet_root, split='train', num_points=1024,
                           format='txt')
    with pytest.raises(ValueError, match='airplane_0001.txt.*fewer'):
        ds.get_data_info(0)
    # truncated pickle
    dat = osp.join(modelnet_root, 'modelnet40_test_8192pts_fps.dat')
    with open(dat, 'rb') as f:
        blob = f.read()
    with open(dat, 'wb') as f:
        f.write(blob[:len(blob) // 2])
    with pytest.raises(ValueError,
                       match='modelnet40_test_8192pts_fps.dat: unreadable'):
        ModelNet40Dataset(modelnet_root, split='test', num_points=64)
    # wrong structure: labels do not match the list file
    with open(dat, 'wb') as f:
        pickle.dump([[cloud(200, 6)], [np.array([0], np.int32)]], f)
    with pytest.raises(ValueError, match='1 clouds but .*lists 2'):
        ModelNet40Dataset(modelnet_root, split='test', num_points=64)
    # wrong dtype / shape / NaN / label out of range
    for pts, label, msg in (
        (np.zeros((200, 6), dtype=object), 0, 'dtype'),
        (np.zeros((200, 2), np.float32), 0, 'shape'),
        (np.full((200, 6), np.inf, np.float32), 0, 'NaN/inf'),
        (cloud(200, 6), 7, 'outside'),
    ):
        with open(dat, 'wb') as f:
            pickle.dump([[cloud(200, 6), pts],
                         [np.array([0], np.int32),
                          np.array([label], np.int32)]], f)
        with pytest.raises((ValueError, TypeError),
                           match=rf'cloud 1\].*{msg}'):
            ModelNet40Dataset(modelnet_root, split='test', num_points=64)
    os.remove(dat)
    with pytest.raises(FileNotFoundError, match='FPS cache not found'):
        ModelNet40Dataset(modelnet_root, split='test', format='dat')
    # the txt fallback: a list entry of an unknown class
    write_text(osp.join(modelnet_root, 'modelnet40_test.txt'),
               ['night_stand_0002', 'sofa_0001'])
    with pytest.raises(ValueError, match='modelnet40_test.txt:2.*sofa'):
        ModelNet40Dataset(modelnet_root, split='test', num_points=64)
    os.remove(osp.join(modelnet_root, 'modelnet40_shape_names.txt'))
    with pytest.raises(FileNotFoundError, match='shape_names.txt'):
        ModelNet40Dataset(modelnet_root, split='test')


# ------------------------------------------------------------ ScanObjectNN
@pytest.mark.parametrize('variant', ['obj_bg', 'obj_only', 'hardest'])
@pytest.mark.parametrize('split', ['train', 'test'])
def test_scanobjectnn_variants(scan_root, variant, split):
    folder, suffix, n_train, n_test = SCAN_FILES[variant]
    ds = ScanObjectNNDataset(scan_root, variant=variant, split=split)
    prefix = 'training' if split == 'train' else 'test'
    expected = osp.join(scan_root, folder,
                        f'{prefix}_objectdataset{suffix}.h5')
    assert ds.ann_file == expected
    assert len(ds) == (n_train if split == 'train' else n_test)
    with h5py.File(expected, 'r') as f:
        data, label = f['data'][()], f['label'][()]
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['gt_label'] == int(label[i])
        assert info['lidar_path'] == expected and info['index_in_file'] == i
        np.testing.assert_array_equal(info['points'].numpy(), data[i])
    assert ds.metainfo['classes'] == SCANOBJECTNN_CLASSES
    assert len(SCANOBJECTNN_CLASSES) == 15


def test_scanobjectnn_layout_and_metainfo(scan_root, tmp_path):
    # the reference configs point into ScanObjectNN/h5_files/main_split
    nested = tmp_path / 'nested'
    os.makedirs(nested)
    os.rename(scan_root, nested / 'h5_files')
    ds = ScanObjectNNDataset(str(nested), variant='PB_T50_RS', split='test')
    assert ds.variant == 'hardest' and len(ds) == 2
    names = tuple(f'c{i}' for i in range(15))
    ds = ScanObjectNNDataset(str(nested), variant='obj_bg',
                             metainfo=dict(classes=names))
    assert ds.metainfo['classes'] == names
    # subsets (mmengine deep-copies the dataset) share the loaded arrays
    sub = ds.get_subset([2, 3])
    assert len(sub) == 2 and sub._arrays is ds._arrays
    info = sub.get_data_info(0)
    assert info['sample_idx'] == 0 and info['index_in_file'] == 2
    np.testing.assert_array_equal(info['points'].numpy(),
                                  ds.get_data_info(2)['points'].numpy())
    # lazy_init reads nothing until first use
    lazy = ScanObjectNNDataset(str(nested), variant='obj_only', lazy_init=True)
    assert lazy._arrays is None and len(lazy.metainfo['classes']) == 15
    assert lazy.get_data_info(0)['points'].shape == (64, 3)


def test_scanobjectnn_errors(scan_root, tmp_path):
    with pytest.raises(ValueError, match='unknown variant'):
        ScanObjectNNDataset(scan_root, variant='obj_bgg')
    with pytest.raises(ValueError, match='unknown split'):
        ScanObjectNNDataset(scan_root, split='val')
    with pytest.raises(FileNotFoundError, match='data_root'):
        ScanObjectNNDataset(str(tmp_path / 'nowhere'))
    path = osp.join(scan_root, 'main_split', 'training_objectdataset.h5')
    cases = [
        (dict(data=cloud(64)[None]), KeyError, '"label"'),
        (dict(data=cloud(64), label=np.zeros(64, np.int64)), ValueError,
         'shape'),
        (dict(data=np.full((2, 64, 3), np.nan, np.float32),
              label=np.zeros(2, np.int64)), ValueError, 'NaN/inf'),
        (dict(data=cloud(64)[None].repeat(3, 0),
              label=np.zeros(2, np.int64)), ValueError, 'does not match'),
        (dict(data=cloud(64)[None], label=np.array([15])), ValueError,
         'outside'),
    ]
    for content, err, msg in cases:
        write_h5(path, **content)
        with pytest.raises(err, match=msg) as info:
            ScanObjectNNDataset(scan_root, variant='obj_bg', split='train')
        assert 'training_objectdataset.h5' in str(info.value)
    with open(path, 'wb') as f:
        f.write(b'not an h5 file')
    with pytest.raises(ValueError, match='training_objectdataset.h5.*'
                       'unreadable'):
        ScanObjectNNDataset(scan_root, variant='obj_bg', split='train')
    os.remove(path)
    with pytest.raises(FileNotFoundError,
                       match='training_objectdataset.h5.*obj_bg'):
        ScanObjectNNDataset(scan_root, variant='obj_bg', split='train')


# ---------------------------------------------------------- few-shot
def test_fewshot_folds(fewshot_root):
    train0 = ModelNetFewShotDataset(fewshot_root, way=2, shot=3, fold=0)
    test0 = ModelNetFewShotDataset(fewshot_root, way=2, shot=3, fold=0,
                                   split='test')
    train1 = ModelNetFewShotDataset(fewshot_root, way=2, shot=3, fold=1)
    assert len(train0) == 6 and len(test0) == 8 and len(train1) == 6
    assert train0.ann_file.endswith(osp.join('2way3shot', '0.pkl'))
    assert train1.ann_file.endswith(osp.join('2way3shot', '1.pkl'))
    assert train0.metainfo['classes'] == ('airplane', 'chair')
    assert train1.metainfo['classes'] == ('toilet', 'cone')
    labels = [train0.get_data_info(i)['gt_label'] for i in range(6)]
    assert labels == [0, 0, 0, 1, 1, 1]
    info = test0.get_data_info(5)
    assert info['gt_label'] == 1 and info['modelnet_label'] == 8
    assert info['points'].shape == (128, 3)
    with open(train0.ann_file, 'rb') as f:
        raw = pickle.load(f)['test'][5][0]
    np.testing.assert_array_equal(info['points'].numpy(), raw[:, :3])
    # num_points keeps the first N; use_normals keeps 6 columns
    ds = ModelNetFewShotDataset(fewshot_root, way=2, shot=3, fold=0,
                                num_points=64, use_normals=True)
    assert ds.get_data_info(0)['points'].shape == (64, 6)
    # the reference code's '{way}way_{shot}shot' folders are found too
    ds = ModelNetFewShotDataset(fewshot_root, way=3, shot=1, fold=0)
    assert len(ds) == 3 and ds.ann_file.endswith('3way_1shot/0.pkl')
    assert ds.metainfo['classes'] == ('bathtub', 'bed', 'bench')


def test_fewshot_errors(fewshot_root):
    with pytest.raises(FileNotFoundError, match='5way10shot/0.pkl'):
        ModelNetFewShotDataset(fewshot_root, way=5, shot=10, fold=0)
    with pytest.raises(ValueError, match='way must be'):
        ModelNetFewShotDataset(fewshot_root, way=-1, shot=10, fold=0)
    with pytest.raises(ValueError, match='unknown split'):
        ModelNetFewShotDataset(fewshot_root, way=2, shot=3, split='val')
    with pytest.raises(ValueError, match='fewer than num_points'):
        ModelNetFewShotDataset(fewshot_root, way=2, shot=3, num_points=512)
    path = osp.join(fewshot_root, '2way3shot', '0.pkl')
    with open(path, 'wb') as f:
        pickle.dump(dict(train=[]), f)
    with pytest.raises(KeyError, match='0.pkl.*"test"'):
        ModelNetFewShotDataset(fewshot_root, way=2, shot=3, split='test')
    with open(path, 'wb') as f:
        pickle.dump(dict(train=[(cloud(128), 5, 0)], test=[]), f)
    with pytest.raises(ValueError, match=r'\["train"\]\[0\].*outside'):
        ModelNetFewShotDataset(fewshot_root, way=2, shot=3)
    with open(path, 'wb') as f:
        f.write(b'\x80\x04garbage')
    with pytest.raises(ValueError, match='0.pkl: unreadable pickle'):
        ModelNetFewShotDataset(fewshot_root, way=2, shot=3)


# ---------------------------------------------------------- pipelines
def test_modelnet_pipeline_from_config(modelnet_root):
    pipeline = [
        dict(type='NormalizePointsToUnitSphere'),
        dict(type='PointSubsample', num_points=64, mode='fps_random',
             num_candidates=80),
        dict(type='PointcloudScaleAndTranslate'),
        dict(type='PackPointClsInputs'),
    ]
    ds = DATASETS.build(
        dict(type='ModelNet40Dataset', data_root=modelnet_root,
             split='train', num_points=200, pipeline=pipeline))
    np.random.seed(3)
    out = ds[2]
    assert set(out) == {'inputs', 'data_samples'}
    points = out['inputs']['points']
    assert points.shape == (64, 3) and points.dtype == torch.float32
    sample = out['data_samples']
    assert isinstance(sample, Det3DDataSample)
    assert sample.gt_label.dtype == torch.long
    assert sample.gt_label.tolist() == [2]
    assert sample.sample_idx == 2 and sample.index_in_file == 2
    assert sample.lidar_path.endswith('modelnet40_train_8192pts_fps.dat')
    assert sample.shape_id == 'cup_0001'
    # seeded runs are reproducible
    np.random.seed(3)
    torch.testing.assert_close(ds[2]['inputs']['points'], points)
    # and feed mmdet3d's data preprocessor
    from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor
    batch = Det3DDataPreprocessor()(pseudo_collate([ds[0], ds[1]]))
    assert [p.shape for p in batch['inputs']['points']] == [(64, 3)] * 2
    assert [s.gt_label.item() for s in batch['data_samples']] == [0, 1]


def test_pipelines_with_mmdet3d_transforms(scan_root, shapenet_root,
                                           fewshot_root):
    scan = DATASETS.build(
        dict(type='ScanObjectNNDataset', data_root=scan_root,
             variant='hardest', split='train',
             pipeline=[
                 dict(type='PointShuffle'),
                 dict(type='PointcloudRotate'),
                 dict(type='GlobalRotScaleTrans', rot_range=[-0.1, 0.1],
                      scale_ratio_range=[0.9, 1.1]),
                 dict(type='RandomFlip3D', flip_ratio_bev_horizontal=0.5),
                 dict(type='PackPointClsInputs'),
             ]))
    out = scan[1]
    assert out['inputs']['points'].shape == (64, 3)
    assert out['data_samples'].gt_label.tolist() == [1]

    shapenet = DATASETS.build(
        dict(type='ShapeNet55Dataset', data_root=shapenet_root,
             split='whole',
             pipeline=[
                 dict(type='PointSample', num_points=128),
                 dict(type='NormalizePointsToUnitSphere'),
                 dict(type='PointcloudScaleAndTranslate'),
                 dict(type='PackPointClsInputs'),
             ]))
    out = shapenet[0]
    assert out['inputs']['points'].shape == (128, 3)
    assert 'gt_label' not in out['data_samples']
    assert out['data_samples'].taxonomy_id == '02691156'

    fewshot = DATASETS.build(
        dict(type='ModelNetFewShotDataset', data_root=fewshot_root, way=2,
             shot=3, fold=1, split='test', use_normals=True,
             pipeline=[
                 dict(type='NormalizePointsToUnitSphere'),
                 dict(type='PointSubsample', num_points=32, mode='fps'),
                 dict(type='PackPointClsInputs'),
             ]))
    out = fewshot[7]
    assert out['inputs']['points'].shape == (32, 6)
    assert out['data_samples'].gt_label.tolist() == [1]

    compose = Compose([dict(type='PointSubsample', num_points=16,
                            mode='first'),
                       dict(type='PackPointClsInputs')])
    out = compose(dict(points=DepthPoints(cloud(20)), gt_label=3))
    assert out['inputs']['points'].shape == (16, 3)
    assert out['data_samples'].gt_label.tolist() == [3]


# ---------------------------------------------------------- transforms
def _results(points, **kw):
    return dict(points=points, **kw)


def test_normalize_unit_sphere():
    pts = np.concatenate([cloud(500, 3, offset=5.) * 3., cloud(500, 3)], 1)
    points = DepthPoints(pts, points_dim=6,
                         attribute_dims=dict(normal=[3, 4, 5]))
    out = NormalizePointsToUnitSphere()(_results(points))['points'].numpy()
    xyz = out[:, :3]
    np.testing.assert_allclose(xyz.mean(0), 0., atol=1e-5)
    assert np.linalg.norm(xyz, axis=1).max() == pytest.approx(1., abs=1e-6)
    np.testing.assert_array_equal(out[:, 3:], pts[:, 3:])
    # identical to the reference pc_normalize
    ref = pts[:, :3] - np.mean(pts[:, :3], axis=0)
    ref = ref / np.max(np.sqrt(np.sum(ref**2, axis=1)))
    np.testing.assert_allclose(xyz, ref, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match='coincide.*sample_idx=4'):
        NormalizePointsToUnitSphere()(
            _results(DepthPoints(np.ones((10, 3))), sample_idx=4))


def test_scale_and_translate():
    pts = cloud(200)
    t = TRANSFORMS.build(dict(type='PointcloudScaleAndTranslate'))
    assert isinstance(t, PointcloudScaleAndTranslate)
    np.random.seed(0)
    scales, trans = [], []
    for _ in range(300):
        res = t(_results(DepthPoints(pts)))
        s, tr = res['pcd_scale_factor'], res['pcd_trans']
        np.testing.assert_allclose(res['points'].numpy(), pts * s + tr,
                                   rtol=1e-5, atol=1e-5)
        scales.append(s)
        trans.append(tr)
    scales, trans = np.array(scales), np.array(trans)
    assert scales.min() >= 2. / 3 and scales.max() <= 1.5
    assert scales.min() < 0.7 and scales.max() > 1.45  # covers the range
    assert np.abs(trans).max() <= 0.2 and np.abs(trans).max() > 0.19
    # axes are scaled independently
    assert np.std(scales[:, 0] - scales[:, 1]) > 0.1
    # same draws, same order as the reference
    np.random.seed(1)
    res = t(_results(DepthPoints(pts)))
    np.random.seed(1)
    s = np.random.uniform(low=2. / 3., high=3. / 2., size=[3])
    tr = np.random.uniform(low=-0.2, high=0.2, size=[3])
    ref = torch.mul(torch.from_numpy(pts), torch.from_numpy(s).float()) \
        + torch.from_numpy(tr).float()
    torch.testing.assert_close(res['points'].tensor, ref)


def test_rotate_about_y_like_reference():
    pts = np.concatenate([cloud(100), cloud(100)], 1)
    pts[:, 3:] /= np.linalg.norm(pts[:, 3:], axis=1, keepdims=True)
    t = PointcloudRotate()
    np.random.seed(5)
    res = t(_results(DepthPoints(pts, points_dim=6,
                                 attribute_dims=dict(normal=[3, 4, 5]))))
    out = res['points'].numpy()
    # y (the up axis of ScanObjectNN / ModelNet) is unchanged, norms kept
    np.testing.assert_allclose(out[:, 1], pts[:, 1], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out[:, :3], axis=1),
                               np.linalg.norm(pts[:, :3], axis=1), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out[:, 3:], axis=1), 1.,
                               rtol=1e-5)
    # the reference: angle = U * 2pi, R = [[c,0,s],[0,1,0],[-s,0,c]], pc @ R
    np.random.seed(5)
    angle = np.random.uniform() * 2 * np.pi
    assert res['pcd_rotation_angle'] == pytest.approx(angle)
    c, s = np.cos(angle), np.sin(angle)
    rot = torch.from_numpy(
        np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).astype(np.float32))
    ref = torch.matmul(torch.from_numpy(pts[:, :3]), rot)
    torch.testing.assert_close(res['points'].tensor[:, :3], ref)
    torch.testing.assert_close(res['points'].tensor[:, 3:],
                               torch.matmul(torch.from_numpy(pts[:, 3:]), rot))
    # other axes: that coordinate is fixed
    for axis in (0, 2):
        out = PointcloudRotate(axis=axis)(_results(DepthPoints(pts[:, :3])))
        np.testing.assert_allclose(out['points'].numpy()[:, axis],
                                   pts[:, axis], atol=1e-6)
    # the angle covers [0, 2pi)
    angles = [t(_results(DepthPoints(pts[:, :3])))['pcd_rotation_angle']
              for _ in range(200)]
    assert min(angles) >= 0 and max(angles) < 2 * math.pi
    assert max(angles) - min(angles) > 5.


def test_point_subsample_modes():
    pts = cloud(300)
    base = _results(DepthPoints(pts), lidar_path='x.npy', sample_idx=0)

    def run(**kw):
        res = PointSubsample(**kw)(dict(base, points=DepthPoints(pts)))
        return res['points'].numpy()

    np.testing.assert_array_equal(run(num_points=50, mode='first'), pts[:50])
    np.random.seed(0)
    rnd = run(num_points=50, mode='random')
    rows = [np.flatnonzero((pts == r).all(1))[0] for r in rnd]
    assert len(set(rows)) == 50
    np.random.seed(0)
    np.testing.assert_array_equal(rnd, run(num_points=50, mode='random'))
    fps = run(num_points=40, mode='fps')
    np.testing.assert_array_equal(
        fps, pts[farthest_point_sample(pts, 40, start=0)])
    assert np.array_equal(fps[0], pts[0])
    np.random.seed(1)
    fr = run(num_points=40, mode='fps_random', num_candidates=60)
    cand = {tuple(r) for r in pts[farthest_point_sample(pts, 60)]}
    assert {tuple(r) for r in fr} <= cand and len({tuple(r)
                                                   for r in fr}) == 40
    assert PointSubsample(1024, mode='fps_random').num_candidates == 1200
    assert PointSubsample(2048, mode='fps_random').num_candidates == 2400
    # too few points: a clear error naming the file
    with pytest.raises(ValueError, match='300 points.*num_points=400.*x.npy'):
        run(num_points=400)
    with pytest.raises(ValueError, match='mode'):
        PointSubsample(10, mode='poisson')


def test_farthest_point_sample_properties():
    pts = cloud(500)
    full = farthest_point_sample(pts, 200, start=7)
    np.testing.assert_array_equal(full[:50],
                                  farthest_point_sample(pts, 50, start=7))
    assert full[0] == 7 and len(set(full.tolist())) == 200
    # each pick is the farthest from those before it
    d = np.linalg.norm(pts[:, None] - pts[full[:10]][None], axis=-1).min(1)
    assert d[full[10]] == pytest.approx(d.max())
    # the min spacing of FPS beats a random subset of the same size
    def spacing(idx):
        sub = pts[idx]
        dist = np.linalg.norm(sub[:, None] - sub[None], axis=-1)
        return dist[~np.eye(len(idx), dtype=bool)].min()
    assert spacing(full[:50]) > spacing(np.arange(50))


def _old_numpy_fps(xyz, num_samples, start):
    """The numpy loop this module had before it called the op."""
    x, y, z = np.array(xyz[:, :3].T, dtype=np.float32, order='C')
    distance = np.full(len(x), 1e10, dtype=np.float32)
    out, far = [], start
    for _ in range(num_samples):
        out.append(far)
        dist = (x - x[far])**2 + (y - y[far])**2 + (z - z[far])**2
        distance = np.minimum(distance, dist)
        far = int(np.argmax(distance))
    return np.array(out)


def test_farthest_point_sample_same_as_the_old_numpy_loop():
    rng = np.random.default_rng(5)
    for n, c, dtype in ((300, 3, np.float32), (1000, 6, np.float64)):
        pts = rng.normal(size=(n, c)).astype(dtype)
        pts[7] = pts[3]  # an exact tie
        for start in (0, 3, n - 1):
            got = farthest_point_sample(pts, n // 2, start=start)
            assert got.dtype == np.int64
            np.testing.assert_array_equal(
                got, _old_numpy_fps(pts, n // 2, start))


def test_pack_point_cls_inputs():
    res = PackPointClsInputs()(
        dict(points=DepthPoints(cloud(10, 6), points_dim=6),
             gt_label=np.int64(4), sample_idx=3, lidar_path='a.h5',
             index_in_file=9, unrelated='x'))
    assert res['inputs']['points'].shape == (10, 6)
    assert res['inputs']['points'].dtype == torch.float32
    sample = res['data_samples']
    assert sample.gt_label.dtype == torch.long
    assert sample.gt_label.tolist() == [4]
    assert sample.metainfo == dict(sample_idx=3, lidar_path='a.h5',
                                   index_in_file=9)
    res = PackPointClsInputs()(dict(points=cloud(5)))
    assert 'gt_label' not in res['data_samples']
    assert isinstance(res['inputs']['points'], torch.Tensor)
    with pytest.raises(KeyError, match='points'):
        PackPointClsInputs()(dict(gt_label=1))
    assert issubclass(DepthPoints, BasePoints)
