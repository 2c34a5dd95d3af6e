"""Write the embedded demo datasets in the official on-disk formats.

Everything is generated procedurally and deterministically from ``--seed``
(the shapes of :mod:`act_mmdet3d.datasets.demo_shapes`: sphere, box,
cylinder, cone, torus, table, chair, mug, lamp, airplane), into the
reference's folder layout under ``--out`` (default ``data/demo``)::

    ShapeNet55-34/shapenet_pc/<synset>-<model_id>.npy     (8192, 3) float32
    ShapeNet55-34/ShapeNet-55/{train,test}.txt
    ModelNet/modelnet40_normal_resampled/
        modelnet40_shape_names.txt, modelnet40_{train,test}.txt,
        <class>/<class>_0001.txt                            10,000 rows x,y,z,nx,ny,nz
        modelnet40_{train,test}_8192pts_fps.dat            [list of (8192, 6) f32,
                                                            list of (1,) int32]
    ModelNetFewshot/{5,10}way{10,20}shot/{0..9}.pkl        {'train': [(pts, i, label)],
                                                            'test': [...]}
    ScanObjectNN/main_split/{training,test}_objectdataset.h5                  (OBJ_BG)
    ScanObjectNN/main_split/{training,test}_objectdataset_augmentedrot_scale75.h5
    ScanObjectNN/main_split_nobg/{training,test}_objectdataset.h5             (OBJ_ONLY)
    shapenetcore_partanno_segmentation_benchmark_v0_normal/
        synsetoffset2category.txt, train_test_split/shuffled_{train,val,test}_file_list.json,
        <synset>/<model_id>.txt                             rows "x y z nx ny nz part"

Demo-specific choices (documented, not the official data): the ModelNet and
ScanObjectNN files list the demo's 10 classes (the ModelNet class file names
them; ScanObjectNN labels are 0..9 of ``DEMO_CLASSES``); ShapeNet-55 synsets
are made-up ids ``9000000<k>`` for the demo classes; the ShapeNetPart files
use the official synsets and global part ids of Airplane, Chair, Lamp, Mug
and Table. The FPS cache starts at point 0 (the reference starts at a
random point). ScanObjectNN ``mask`` is 1 on object points, 0 on background.

A dataset is skipped when its marker ``<out>/.complete-<name>`` exists
(``--force`` regenerates), so a second run takes no time.

Usage::

    python tools/create_demo_data.py [--out data/demo] [--seed 0]
        [--only shapenet55,modelnet40,fewshot,scanobjectnn,shapenetpart]
        [--scale 1.0] [--force]
"""
import argparse
import json
import os
import os.path as osp
import pickle
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from act_mmdet3d.datasets.demo_shapes import (DEMO_CLASSES,  # noqa: E402
                                              PART_CATEGORIES,
                                              rotation_about_y, sample_shape)

DATASETS = ('shapenet55', 'modelnet40', 'fewshot', 'scanobjectnn',
            'shapenetpart')
FEWSHOT_SETTINGS = ((5, 10), (5, 20), (10, 10), (10, 20))


def _count(base, scale, minimum=1):
    return max(minimum, int(round(base * scale)))


def _hex_id(rng, length=32):
    return ''.join(rng.choice(list('0123456789abcdef'), length))


def _fps(points, num_samples):
    """FPS from index 0 of (B, N, 3) float32 numpy clouds -> (B, S)."""
    import torch

    from act_mmdet3d.ops import furthest_point_sample
    idx = furthest_point_sample(torch.from_numpy(points), num_samples)
    return idx.numpy()


# ------------------------------------------------------------ ShapeNet-55


def write_shapenet55(out, rng, scale, log):
    root = osp.join(out, 'ShapeNet55-34')
    pc_dir = osp.join(root, 'shapenet_pc')
    os.makedirs(pc_dir, exist_ok=True)
    os.makedirs(osp.join(root, 'ShapeNet-55'), exist_ok=True)
    per_class = _count(40, scale, 2)
    names = {'train': [], 'test': []}
    for k, cls in enumerate(DEMO_CLASSES):
        synset = f'9000000{k}'
        for i in range(per_class):
            points, _, _ = sample_shape(cls, 8192, rng)
            points = points @ rotation_about_y(rng.uniform(0, 2 * np.pi)).T
            name = f'{synset}-{_hex_id(rng)}.npy'
            np.save(osp.join(pc_dir, name), points.astype(np.float32))
            split = 'test' if i % 5 == 4 else 'train'
            names[split].append(name)
    for split, files in names.items():
        with open(osp.join(root, 'ShapeNet-55', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(files) + '\n')
    log(f'ShapeNet-55: {len(names["train"])} train + {len(names["test"])} '
        f'test clouds of 8192 points in {pc_dir}')


# --------------------------------------------------------------- ModelNet


def _modelnet_clouds(rng, scale):
    """{split: (points (n, 10000, 6) float32, labels (n,))}."""
    out = {}
    for split, base in (('train', 24), ('test', 8)):
        per_class = _count(base, scale, 1 if split == 'test' else 2)
        if split == 'train':
            per_class = max(per_class, 21)  # 20-shot needs > 20 per class
        clouds, labels = [], []
        for k, cls in enumerate(DEMO_CLASSES):
            for _ in range(per_class):
                p, n, _ = sample_shape(cls, 10000, rng)
                rot = rotation_about_y(rng.uniform(-np.pi / 6, np.pi / 6)).T
                clouds.append(np.concatenate([p @ rot, n @ rot], 1))
                labels.append(k)
        out[split] = (np.stack(clouds).astype(np.float32), np.array(labels))
    return out


def write_modelnet40(out, rng, scale, log):
    root = osp.join(out, 'ModelNet', 'modelnet40_normal_resampled')
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, 'modelnet40_shape_names.txt'), 'w') as f:
        f.write('\n'.join(DEMO_CLASSES) + '\n')
    for split, (clouds, labels) in _modelnet_clouds(rng, scale).items():
        ids, counter = [], {}
        for cloud, label in zip(clouds, labels):
            cls = DEMO_CLASSES[label]
            counter[cls] = counter.get(cls, 0) + 1
            # official ids number train then test shapes of a class
            number = counter[cls] + (0 if split == 'train' else 1000)
            shape_id = f'{cls}_{number:04d}'
            ids.append(shape_id)
            os.makedirs(osp.join(root, cls), exist_ok=True)
            np.savetxt(
                osp.join(root, cls, f'{shape_id}.txt'),
                cloud,
                fmt='%.6f',
                delimiter=',')
        with open(osp.join(root, f'modelnet40_{split}.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
        idx = _fps(np.ascontiguousarray(clouds[..., :3]), 8192)
        fps = np.take_along_axis(clouds, idx[..., None], axis=1)
        with open(osp.join(root, f'modelnet40_{split}_8192pts_fps.dat'),
                  'wb') as f:
            pickle.dump([[c for c in fps],
                         [np.array([l], dtype=np.int32) for l in labels]], f)
        log(f'ModelNet40 format: {len(ids)} {split} shapes (txt + '
            f'8192-point FPS cache) in {root}')


# ---------------------------------------------------------------- few-shot


def write_fewshot(out, rng, scale, log):
    root = osp.join(out, 'ModelNet', 'modelnet40_normal_resampled')
    data = {}
    for split in ('train', 'test'):
        path = osp.join(root, f'modelnet40_{split}_8192pts_fps.dat')
        if not osp.exists(path):
            raise FileNotFoundError(
                f'{path} is needed for the few-shot files: generate '
                'modelnet40 first (--only modelnet40,fewshot)')
        with open(path, 'rb') as f:
            points, labels = pickle.load(f)
        by_class = {}
        for p, l in zip(points, labels):
            by_class.setdefault(int(l[0]), []).append(p)
        data[split] = by_class
    eval_sample = min(5, min(len(v) for v in data['test'].values()))
    for way, shot in FEWSHOT_SETTINGS:
        folder = osp.join(out, 'ModelNetFewshot', f'{way}way{shot}shot')
        os.makedirs(folder, exist_ok=True)
        for fold in range(10):
            keys = rng.permutation(sorted(data['train']))[:way]
            train, test = [], []
            for i, key in enumerate(keys):
                pool = data['train'][key]
                if len(pool) <= shot:
                    raise ValueError(f'class {key} has {len(pool)} training '
                                     f'shapes, {shot}-shot needs more')
                for j in rng.permutation(len(pool))[:shot]:
                    train.append((pool[j], i, int(key)))
                pool = data['test'][key]
                for j in rng.permutation(len(pool))[:eval_sample]:
                    test.append((pool[j], i, int(key)))
            train = [train[j] for j in rng.permutation(len(train))]
            test = [test[j] for j in rng.permutation(len(test))]
            with open(osp.join(folder, f'{fold}.pkl'), 'wb') as f:
                pickle.dump(dict(train=train, test=test), f)
    log(f'few-shot: {len(FEWSHOT_SETTINGS)} settings x 10 folds in '
        f'{osp.join(out, "ModelNetFewshot")}')


# ------------------------------------------------------------ ScanObjectNN


def _partial_view(points, normals, rng):
    """Keep the points an orthographic camera from a random side sees."""
    az = rng.uniform(0, 2 * np.pi)
    view = np.array([np.cos(az), rng.uniform(0.1, 0.6), np.sin(az)])
    view /= np.linalg.norm(view)
    keep = normals @ view > -0.15
    # a random occluder cuts away part of the object as well
    cut = rng.uniform(0, 1) < 0.5
    if cut:
        axis = rng.normal(size=3)
        keep &= points @ axis < np.quantile(points @ axis, 0.85)
    return points[keep]


def _background(rng, n, floor_y):
    """Floor patch, a wall fragment and a piece of a neighbouring object."""
    parts = []
    k = rng.multinomial(n, [0.5, 0.3, 0.2])
    fl = rng.uniform(-1.3, 1.3, size=(k[0], 3))
    fl[:, 1] = floor_y + rng.normal(scale=0.01, size=k[0])
    parts.append(fl)
    az = rng.uniform(0, 2 * np.pi)
    u = rng.uniform(-1.3, 1.3, k[1])
    wall = np.stack([1.2 * np.cos(az) - u * np.sin(az),
                     rng.uniform(floor_y, floor_y + 1.8, k[1]),
                     1.2 * np.sin(az) + u * np.cos(az)], 1)
    parts.append(wall)
    other, _, _ = sample_shape(rng.choice(DEMO_CLASSES), max(k[2], 1), rng)
    shift = rng.uniform(0.9, 1.3) * np.array([np.cos(az + 2), 0,
                                              np.sin(az + 2)])
    parts.append(other[:k[2]] * 0.6 + shift)
    return np.concatenate(parts)


def _scan_object(cls, rng, background, hardest):
    points, normals, _ = sample_shape(DEMO_CLASSES[cls], 4096, rng)
    visible = _partial_view(points, normals, rng)
    n_obj = 2048 if not background else int(2048 * rng.uniform(0.6, 0.8))
    obj = visible[rng.choice(len(visible), n_obj,
                             replace=len(visible) < n_obj)]
    obj = obj + rng.normal(scale=0.01, size=obj.shape)
    if background:
        bg = _background(rng, 2048 - n_obj, obj[:, 1].min())
        cloud = np.concatenate([obj, bg])
        mask = np.concatenate([np.ones(n_obj), np.zeros(len(bg))])
    else:
        cloud, mask = obj, np.ones(n_obj)
    if hardest:  # PB_T50_RS: rotation, scale and translation perturbation
        cloud = cloud @ rotation_about_y(rng.uniform(0, 2 * np.pi)).T
        cloud = cloud * rng.uniform(0.75, 1.25, 3)
        cloud = cloud + rng.uniform(-0.15, 0.15, 3)
    order = rng.permutation(2048)
    return cloud[order].astype(np.float32), mask[order].astype(np.int64)


def write_scanobjectnn(out, rng, scale, log):
    import h5py
    variants = (('main_split', '_objectdataset', True, False),
                ('main_split_nobg', '_objectdataset', False, False),
                ('main_split', '_objectdataset_augmentedrot_scale75', True,
                 True))
    for folder, suffix, background, hardest in variants:
        os.makedirs(osp.join(out, 'ScanObjectNN', folder), exist_ok=True)
        for split, base in (('training', 30), ('test', 10)):
            per_class = _count(base, scale, 1)
            labels = np.repeat(np.arange(len(DEMO_CLASSES)), per_class)
            clouds, masks = zip(*[
                _scan_object(int(c), rng, background, hardest)
                for c in labels
            ])
            path = osp.join(out, 'ScanObjectNN', folder,
                            f'{split}{suffix}.h5')
            with h5py.File(path, 'w') as f:
                f.create_dataset('data', data=np.stack(clouds))
                f.create_dataset('label', data=labels.astype(np.int64))
                f.create_dataset('mask', data=np.stack(masks))
            log(f'ScanObjectNN: {len(labels)} clouds -> {path}')


# ------------------------------------------------------------ ShapeNetPart


def write_shapenetpart(out, rng, scale, log):
    root = osp.join(out,
                    'shapenetcore_partanno_segmentation_benchmark_v0_normal')
    os.makedirs(osp.join(root, 'train_test_split'), exist_ok=True)
    with open(osp.join(root, 'synsetoffset2category.txt'), 'w') as f:
        for name, synset, _ in sorted(PART_CATEGORIES.values()):
            f.write(f'{name}\t{synset}\n')
    splits = {'train': [], 'val': [], 'test': []}
    counts = dict(train=_count(30, scale, 2), val=_count(10, scale, 1),
                  test=_count(10, scale, 1))
    for cls, (_, synset, part_ids) in PART_CATEGORIES.items():
        os.makedirs(osp.join(root, synset), exist_ok=True)
        for split, n in counts.items():
            for _ in range(n):
                num = int(rng.integers(2000, 3000))
                p, nrm, local = sample_shape(cls, num, rng)
                parts = np.asarray(part_ids, dtype=np.float64)[local]
                model_id = _hex_id(rng)
                rows = np.concatenate([p, nrm, parts[:, None]], 1)
                np.savetxt(osp.join(root, synset, f'{model_id}.txt'), rows,
                           fmt='%.6f', delimiter=' ')
                splits[split].append(f'shape_data/{synset}/{model_id}')
    for split, items in splits.items():
        order = rng.permutation(len(items))
        with open(osp.join(root, 'train_test_split',
                           f'shuffled_{split}_file_list.json'), 'w') as f:
            json.dump([items[i] for i in order], f)
    log(f'ShapeNetPart: {sum(map(len, splits.values()))} shapes of '
        f'{len(PART_CATEGORIES)} categories in {root}')


WRITERS = dict(
    shapenet55=write_shapenet55,
    modelnet40=write_modelnet40,
    fewshot=write_fewshot,
    scanobjectnn=write_scanobjectnn,
    shapenetpart=write_shapenetpart)
OUTPUTS = dict(
    shapenet55=['ShapeNet55-34'],
    modelnet40=['ModelNet/modelnet40_normal_resampled'],
    fewshot=['ModelNetFewshot'],
    scanobjectnn=['ScanObjectNN'],
    shapenetpart=['shapenetcore_partanno_segmentation_benchmark_v0_normal'])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write the demo datasets in the official formats.')
    parser.add_argument('--out', default='data/demo', help='output root')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--only',
        default=','.join(DATASETS),
        help=f'comma-separated subset of {",".join(DATASETS)}')
    parser.add_argument(
        '--scale',
        type=float,
        default=1.0,
        help='multiplier of the per-class counts (tests use small ones)')
    parser.add_argument(
        '--force', action='store_true', help='regenerate complete datasets')
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(',') if name.strip()]
    unknown = sorted(set(only) - set(DATASETS))
    if unknown or not only:
        parser.error(f'--only: unknown dataset(s) {unknown}; choose from '
                     f'{",".join(DATASETS)}')
    if not args.scale > 0:
        parser.error(f'--scale must be positive, got {args.scale}')
    args.only = [name for name in DATASETS if name in only]
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.time()

    def log(message):
        print(f'[demo data {time.time() - start:5.1f}s] {message}',
              flush=True)

    os.makedirs(args.out, exist_ok=True)
    done, skipped = [], []
    for name in args.only:
        marker = osp.join(args.out, f'.complete-{name}')
        if osp.exists(marker) and not args.force:
            skipped.append(name)
            continue
        if osp.exists(marker):
            os.remove(marker)
        for sub in OUTPUTS[name]:
            if args.force and name != 'fewshot' and osp.isdir(
                    osp.join(args.out, sub)):
                shutil.rmtree(osp.join(args.out, sub))
        # one generator per dataset: regenerating one leaves the others equal
        seed = [args.seed, DATASETS.index(name)]
        WRITERS[name](args.out, np.random.default_rng(seed), args.scale, log)
        with open(marker, 'w') as f:
            f.write(json.dumps(dict(seed=args.seed, scale=args.scale)) + '\n')
        done.append(name)
    log('summary: written ' + (', '.join(done) or 'nothing') +
        ('; already complete (use --force to regenerate): ' +
         ', '.join(skipped) if skipped else '') +
        f'; {time.time() - start:.1f} s in all, under {args.out}')


if __name__ == '__main__':
    main()
