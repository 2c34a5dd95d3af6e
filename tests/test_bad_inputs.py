"""Bad-input suite: broken data, configs, checkpoints and work dirs.

Every case writes a small real-format input with one defect into its own
folder, runs the real code path on it (a dataset built from its config and
read through its pipeline, ``tools/train.py``, ``tools/test.py``,
``tools/analysis_tools/multi_seed.py``) and asserts

* a clear error of the expected type whose message names the offending
  file (or config key, or folder), and
* that every file that existed before (data, checkpoints,
  ``last_checkpoint``) is byte-identical afterwards and none was deleted.
"""
import hashlib
import importlib.util
import json
import os
import os.path as osp
import pickle
import re
import sys

import h5py
import numpy as np
import pytest
from mmengine.runner.checkpoint import save_checkpoint

import act_mmdet3d  # noqa: F401
from mmdet3d.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from analysis_tools import multi_seed  # noqa: E402
import train  # noqa: E402

# tools/test.py (not the standard library's ``test`` package)
_spec = importlib.util.spec_from_file_location(
    'act_tools_test', osp.join(ROOT, 'tools', 'test.py'))
test_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(test_tool)

TINY_CLS = osp.join(ROOT, 'tests', 'data', 'tiny_cls.py')
CASES = []


def case(error, name_hint=''):
    """Register a case: ``fn(folder) -> (action, name)``; ``action()``
    must raise ``error`` with ``name`` (a file, folder or config key) in
    its message, plus ``name_hint`` (a regex) when given."""

    def register(fn):
        CASES.append(pytest.param(fn, error, name_hint, id=fn.__name__))
        return fn

    return register


# ------------------------------------------------------------- writers
def cloud(n=256, c=3, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, c)).astype(
        np.float32)


def truncate(path, keep=0.5):
    with open(path, 'rb') as f:
        blob = f.read()
    with open(path, 'wb') as f:
        f.write(blob[:int(len(blob) * keep)])


def garbage(path, size=300):
    with open(path, 'wb') as f:
        f.write(np.random.default_rng(1).bytes(size))


def write_lines(path, lines):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


SN_NAMES = ['02691156-aaa.npy', '03001627-bbb.npy']


def shapenet(folder, ext='.npy', clouds=None, pipeline=None):
    """ShapeNet-55 layout; returns a callable reading every sample through
    the pipeline (the train loop's path)."""
    root = folder / 'ShapeNet55-34'
    names = [n.replace('.npy', ext) for n in SN_NAMES]
    os.makedirs(root / 'shapenet_pc')
    for name, points in zip(names, clouds or [cloud(), cloud(seed=1)]):
        path = str(root / 'shapenet_pc' / name)
        if ext == '.npy':
            np.save(path, points)
        elif ext == '.txt':
            np.savetxt(path, points)
        else:
            with h5py.File(path, 'w') as f:
                f.create_dataset('data', data=points)
    write_lines(str(root / 'ShapeNet-55' / 'train.txt'), names)
    cfg = dict(
        type='ShapeNet55Dataset', data_root=str(root), split='train',
        pipeline=pipeline or [
            dict(type='PointSubsample', num_points=128, mode='random'),
            dict(type='NormalizePointsToUnitSphere'),
            dict(type='PackPointClsInputs')
        ])
    return root, lambda: [s for s in DATASETS.build(cfg)]


MN_CLASSES = ['airplane', 'chair']


def modelnet(folder, clouds=None, labels=None, num_points=64,
             fmt='dat'):
    """ModelNet40 layout (FPS cache and txt files)."""
    root = folder / 'modelnet40_normal_resampled'
    write_lines(str(root / 'modelnet40_shape_names.txt'), MN_CLASSES)
    write_lines(str(root / 'modelnet40_train.txt'),
                ['airplane_0001', 'chair_0001'])
    clouds = clouds or [cloud(128, 6), cloud(128, 6, seed=1)]
    labels = labels or [0, 1]
    for shape_id, points in zip(['airplane_0001', 'chair_0001'], clouds):
        os.makedirs(root / shape_id[:-5], exist_ok=True)
        np.savetxt(str(root / shape_id[:-5] / f'{shape_id}.txt'), points,
                   delimiter=',')
    with open(root / 'modelnet40_train_8192pts_fps.dat', 'wb') as f:
        pickle.dump([clouds, [np.array([lb], np.int32) for lb in labels]], f)
    cfg = dict(
        type='ModelNet40Dataset', data_root=str(root), split='train',
        num_points=num_points, format=fmt,
        pipeline=[dict(type='PackPointClsInputs')])
    return root, lambda: [s for s in DATASETS.build(cfg)]


def scanobjectnn(folder, data=None, label=None):
    root = folder / 'ScanObjectNN'
    path = root / 'main_split' / 'training_objectdataset.h5'
    os.makedirs(path.parent)
    with h5py.File(path, 'w') as f:
        if data is not None:
            f.create_dataset('data', data=data)
        if label is not None:
            f.create_dataset('label', data=label)
    cfg = dict(
        type='ScanObjectNNDataset', data_root=str(root), variant='obj_bg',
        split='train', pipeline=[dict(type='PackPointClsInputs')])
    return path, lambda: [s for s in DATASETS.build(cfg)]


def fewshot(folder, content):
    path = folder / 'ModelNetFewshot' / '2way1shot' / '0.pkl'
    os.makedirs(path.parent)
    with open(path, 'wb') as f:
        pickle.dump(content, f)
    cfg = dict(
        type='ModelNetFewShotDataset', data_root=str(path.parent.parent),
        way=2, shot=1, fold=0, split='train',
        pipeline=[dict(type='PackPointClsInputs')])
    return path, lambda: [s for s in DATASETS.build(cfg)]


def shapenet_part(folder, part=1):
    """A one-category ShapeNetPart layout (Airplane, parts 0-3)."""
    root = folder / 'shapenetpart'
    write_lines(str(root / 'synsetoffset2category.txt'),
                ['Airplane\t02691156'])
    split = root / 'train_test_split' / 'shuffled_test_file_list.json'
    os.makedirs(split.parent)
    split.write_text(json.dumps(['shape_data/02691156/m1']))
    rows = np.concatenate([cloud(64, 6), np.full((64, 1), float(part))], 1)
    os.makedirs(root / '02691156')
    np.savetxt(str(root / '02691156' / 'm1.txt'), rows)
    cfg = dict(type='ShapeNetPartDataset', data_root=str(root),
               split='test', pipeline=[])
    return root, split, lambda: [s for s in DATASETS.build(cfg)]


# ---------------------------------------------------------- ShapeNet-55
@case(FileNotFoundError)
def shapenet55_missing_npy(folder):
    root, read = shapenet(folder)
    os.remove(root / 'shapenet_pc' / SN_NAMES[1])
    return read, SN_NAMES[1]


@case(ValueError, 'unreadable')
def shapenet55_truncated_npy(folder):
    root, read = shapenet(folder)
    truncate(root / 'shapenet_pc' / SN_NAMES[0])
    return read, SN_NAMES[0]


@case(ValueError, 'unreadable')
def shapenet55_corrupt_npy(folder):
    root, read = shapenet(folder)
    garbage(root / 'shapenet_pc' / SN_NAMES[1])
    return read, SN_NAMES[1]


@case(ValueError, 'NaN/inf')
def shapenet55_nan_points(folder):
    points = cloud()
    points[17, 2] = np.nan
    _, read = shapenet(folder, clouds=[cloud(), points])
    return read, SN_NAMES[1]


@case(ValueError, 'NaN/inf')
def shapenet55_inf_points(folder):
    points = cloud()
    points[3, 0] = np.inf
    _, read = shapenet(folder, clouds=[points, cloud()])
    return read, SN_NAMES[0]


@case(ValueError, r'shape \(256, 2\)')
def shapenet55_wrong_array_shape(folder):
    _, read = shapenet(folder, clouds=[cloud(), cloud(c=2)])
    return read, SN_NAMES[1]


@case(ValueError, 'fewer than num_points')
def shapenet55_fewer_points_than_num_points(folder):
    _, read = shapenet(folder, clouds=[cloud(), cloud(100)])
    return read, SN_NAMES[1]


@case(ValueError, 'unreadable')
def shapenet55_corrupt_txt_cloud(folder):
    root, read = shapenet(folder, ext='.txt')
    name = SN_NAMES[0].replace('.npy', '.txt')
    with open(root / 'shapenet_pc' / name, 'a') as f:
        f.write('0.1 0.2 not-a-number\n')
    return read, name


@case(ValueError, 'unreadable')
def shapenet55_truncated_h5_cloud(folder):
    root, read = shapenet(folder, ext='.h5')
    name = SN_NAMES[1].replace('.npy', '.h5')
    truncate(root / 'shapenet_pc' / name)
    return read, name


@case(FileNotFoundError)
def shapenet55_missing_split_txt(folder):
    root, read = shapenet(folder)
    os.remove(root / 'ShapeNet-55' / 'train.txt')
    return read, 'train.txt'


@case(ValueError, 'text')
def shapenet55_corrupt_split_txt(folder):
    root, read = shapenet(folder)
    garbage(root / 'ShapeNet-55' / 'train.txt')
    return read, 'train.txt'


# ------------------------------------------------------------ ModelNet40
@case(ValueError, 'unreadable pickle')
def modelnet40_truncated_dat(folder):
    root, read = modelnet(folder)
    truncate(root / 'modelnet40_train_8192pts_fps.dat')
    return read, 'modelnet40_train_8192pts_fps.dat'


@case(ValueError, 'unreadable pickle')
def modelnet40_corrupt_dat(folder):
    root, read = modelnet(folder)
    garbage(root / 'modelnet40_train_8192pts_fps.dat')
    return read, 'modelnet40_train_8192pts_fps.dat'


@case(ValueError, r'cloud 1\].*fewer than num_points=64')
def modelnet40_fewer_points_than_num_points(folder):
    _, read = modelnet(folder, clouds=[cloud(128, 6), cloud(40, 6)])
    return read, 'modelnet40_train_8192pts_fps.dat'


@case(ValueError, r'cloud 0\].*NaN/inf')
def modelnet40_nan_points(folder):
    points = cloud(128, 6)
    points[5] = np.nan
    _, read = modelnet(folder, clouds=[points, cloud(128, 6)])
    return read, 'modelnet40_train_8192pts_fps.dat'


@case(ValueError, r'cloud 1\].*label 40 is outside \[0, 2\)')
def modelnet40_label_out_of_range(folder):
    _, read = modelnet(folder, labels=[0, 40])
    return read, 'modelnet40_train_8192pts_fps.dat'


@case(ValueError, r':2: class .spaceship.')
def modelnet40_unknown_class_name(folder):
    root, read = modelnet(folder, fmt='txt')
    write_lines(str(root / 'modelnet40_train.txt'),
                ['airplane_0001', 'spaceship_0001'])
    return read, 'modelnet40_train.txt'


@case(FileNotFoundError)
def modelnet40_missing_shape_names(folder):
    root, read = modelnet(folder)
    os.remove(root / 'modelnet40_shape_names.txt')
    return read, 'modelnet40_shape_names.txt'


@case(ValueError, 'unreadable point file')
def modelnet40_corrupt_txt_cloud(folder):
    root, read = modelnet(folder, fmt='txt')
    with open(root / 'chair' / 'chair_0001.txt', 'a') as f:
        f.write('1,2\n')
    return read, 'chair_0001.txt'


# ---------------------------------------------------------- ScanObjectNN
@case(ValueError, 'unreadable h5')
def scanobjectnn_truncated_h5(folder):
    path, read = scanobjectnn(folder, cloud(64)[None].repeat(4, 0),
                              np.zeros(4, np.int64))
    truncate(path)
    return read, 'training_objectdataset.h5'


@case(KeyError, '"label"')
def scanobjectnn_missing_label_key(folder):
    _, read = scanobjectnn(folder, data=cloud(64)[None])
    return read, 'training_objectdataset.h5'


@case(ValueError, 'label 15 of sample 1 is outside')
def scanobjectnn_label_out_of_range(folder):
    _, read = scanobjectnn(folder, cloud(64)[None].repeat(2, 0),
                           np.array([3, 15]))
    return read, 'training_objectdataset.h5'


@case(ValueError, 'NaN/inf')
def scanobjectnn_inf_points(folder):
    data = cloud(64)[None].repeat(2, 0)
    data[1, 9, 0] = -np.inf
    _, read = scanobjectnn(folder, data, np.array([3, 4]))
    return read, 'training_objectdataset.h5'


@case(ValueError, r'shape \(64, 3\)')
def scanobjectnn_wrong_array_shape(folder):
    _, read = scanobjectnn(folder, cloud(64), np.zeros(64, np.int64))
    return read, 'training_objectdataset.h5'


# -------------------------------------------------------------- few-shot
@case(ValueError, 'unreadable pickle')
def fewshot_corrupt_pkl(folder):
    path, read = fewshot(folder, dict(train=[], test=[]))
    garbage(path)
    return read, '0.pkl'


@case(KeyError, '"train"')
def fewshot_missing_split_key(folder):
    _, read = fewshot(folder, dict(test=[(cloud(64), 0, 0)]))
    return read, '0.pkl'


@case(ValueError, r'\["train"\]\[1\].*label 2 is outside \[0, 2\)')
def fewshot_label_out_of_range(folder):
    _, read = fewshot(
        folder, dict(train=[(cloud(64), 0, 0), (cloud(64), 2, 8)], test=[]))
    return read, '0.pkl'


# ----------------------------------------------------------- ShapeNetPart
@case(ValueError, 'not a JSON file')
def shapenetpart_corrupt_split_json(folder):
    _, split, read = shapenet_part(folder)
    truncate(split, keep=0.6)
    return read, 'shuffled_test_file_list.json'


@case(ValueError, 'part id 7 at row 1 is not a part of Airplane')
def shapenetpart_part_id_out_of_range(folder):
    _, _, read = shapenet_part(folder, part=7)
    return read, 'm1.txt'


# ------------------------------------------------------- configs (train)
def tiny_modelnet(folder):
    root = folder / 'tiny_modelnet'
    write_lines(str(root / 'modelnet40_shape_names.txt'),
                ['sphere', 'box', 'rod'])
    for split in ('train', 'test'):
        with open(root / f'modelnet40_{split}_8192pts_fps.dat', 'wb') as f:
            pickle.dump([[cloud(96, 6, seed=i) for i in range(6)],
                         [np.array([i % 3], np.int32) for i in range(6)]],
                        f)
    return str(root)


def train_args(folder, *extra, name='bad'):
    data = tiny_modelnet(folder)
    return [
        TINY_CLS, '--work-dir', str(folder / 'work'), *extra,
        '--cfg-options', f'train_dataloader.dataset.data_root={data}',
        f'val_dataloader.dataset.data_root={data}',
        f'test_dataloader.dataset.data_root={data}',
        f'experiment_name=bad_inputs_{name}'
    ]


def with_options(args, *options):
    return args + list(options)


@case(KeyError, "did you mean 'train_dataloader'")
def config_misspelt_key(folder):
    args = with_options(train_args(folder), 'train_dataloder.batch_size=2')
    return lambda: train.main(args), 'train_dataloder'


@case(TypeError, "got 'four'")
def config_wrong_value_type(folder):
    args = with_options(train_args(folder), 'train_dataloader.batch_size=four')
    return lambda: train.main(args), 'train_dataloader.batch_size'


@case(TypeError, 'unexpected keyword argument')
def config_unknown_model_argument(folder):
    args = with_options(train_args(folder, name='kwarg'),
                        'model.backbone.embed_dim=32')
    return lambda: train.main(args), 'embed_dim'


@case(KeyError, 'not in the mmdet3d::model registry')
def config_unknown_model_type(folder):
    args = with_options(train_args(folder, name='type'),
                        'model.type=ACTClassifer')
    return lambda: train.main(args), 'ACTClassifer'


@case(ValueError, 'exceeds the 32 points per cloud')
def config_fewer_points_than_fps_centres(folder):
    args = with_options(
        train_args(folder), 'model.backbone.num_groups=48',
        'train_dataloader.dataset.num_points=32')
    return lambda: train.main(args), 'model.backbone.num_groups'


@case(ValueError, "SyntaxError")
def config_python_syntax_error(folder):
    path = folder / 'broken_cfg.py'
    path.write_text("_base_ = ['x.py'\nmodel = dict(type=\n")
    return lambda: train.main([str(path)]), 'broken_cfg.py'


@case(ValueError, 'cannot parse')
def config_truncated_json(folder):
    path = folder / 'cfg.json'
    path.write_text(json.dumps(dict(model=dict(type='ACTClassifier')))[:20])
    return lambda: train.main([str(path)]), 'cfg.json'


# ------------------------------------------------ checkpoints and work dir
def other_model_checkpoint(folder):
    """A checkpoint of another classifier (64-wide instead of 32)."""
    from mmengine.config import Config
    cfg = Config.fromfile(TINY_CLS).model
    cfg.backbone.embed_dims = cfg.head.in_channels = 64
    path = str(folder / 'other_model.pth')
    save_checkpoint(dict(state_dict=MODELS.build(cfg).state_dict(),
                         meta=dict(epoch=1, iter=6)), path)
    return path


def existing_run(folder):
    """A work dir holding a finished run's checkpoint + last_checkpoint."""
    from mmengine.config import Config
    work = folder / 'work'
    os.makedirs(work)
    ckpt = str(work / 'epoch_1.pth')
    model = MODELS.build(Config.fromfile(TINY_CLS).model)
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(epoch=1, iter=6)), ckpt)
    (work / 'last_checkpoint').write_text(ckpt)
    return ckpt


@case(RuntimeError, 'does not match the model.*shape mismatches')
def tools_test_checkpoint_of_another_model(folder):
    existing_run(folder)
    other = other_model_checkpoint(folder)
    args = train_args(folder, name='test_other')
    args = [args[0], other] + args[1:]
    return lambda: test_tool.main(args), 'other_model.pth'


@case(RuntimeError, 'does not match the model')
def resume_from_checkpoint_of_another_model(folder):
    existing_run(folder)
    other = other_model_checkpoint(folder)
    args = train_args(folder, '--resume', other, name='resume_other')
    return lambda: train.main(args), 'other_model.pth'


@case(ValueError, 'truncated or corrupt')
def tools_test_truncated_checkpoint(folder):
    ckpt = existing_run(folder)
    broken = str(folder / 'broken.pth')
    with open(ckpt, 'rb') as src, open(broken, 'wb') as dst:
        dst.write(src.read()[:5000])
    args = train_args(folder, name='test_truncated')
    args = [args[0], broken] + args[1:]
    return lambda: test_tool.main(args), 'broken.pth'


@case(PermissionError, 'not writable')
def work_dir_not_writable(folder):
    existing_run(folder)
    blocker = folder / 'a_file'
    blocker.write_text('not a folder')
    args = train_args(folder)
    args[args.index('--work-dir') + 1] = str(blocker / 'work')
    return lambda: train.main(args), str(blocker / 'work')


@case(RuntimeError, 'needs CUDA')
def sync_bn_without_cuda(folder):
    """torch's SyncBatchNorm refuses CPU tensors (at the first forward):
    train.py refuses the flag up front."""
    from unittest import mock
    existing_run(folder)
    args = train_args(folder, '--sync_bn', 'torch', '--launcher', 'pytorch')

    def action():
        with mock.patch.object(train.torch.cuda, 'is_available',
                               return_value=False):
            train.main(args)

    return action, '--sync_bn torch'


@case(ValueError, r'line 2')
def multi_seed_corrupt_scalars_json(folder):
    log = folder / 'run' / 'seed0' / '20260101_000000' / 'vis_data'
    os.makedirs(log)
    (log / 'scalars.json').write_text('{"loss": 0.5, "iter": 1}\n{"loss": ')
    return (lambda: multi_seed.read_figures(str(folder / 'run' / 'seed0')),
            'scalars.json')


# ------------------------------------------------------------------ test
def _digests(folder):
    out = {}
    for base, _, files in os.walk(folder):
        for name in files:
            path = osp.join(base, name)
            with open(path, 'rb') as f:
                out[path] = hashlib.sha256(f.read()).hexdigest()
    return out


def test_suite_size():
    assert len(CASES) >= 20


@pytest.mark.parametrize('setup, error, hint', CASES)
def test_bad_input(setup, error, hint, tmp_path):
    action, name = setup(tmp_path)
    before = _digests(tmp_path)
    assert before, 'a case must have files to protect'
    with pytest.raises(error) as info:
        action()
    message = str(info.value)
    assert name in message, f'{name!r} not named in: {message}'
    if hint:
        assert re.search(hint, message), f'{hint!r} not in: {message}'
    after = _digests(tmp_path)
    lost = [p for p in before if p not in after]
    changed = [p for p in before if p in after and after[p] != before[p]]
    assert not lost and not changed, (lost, changed)
