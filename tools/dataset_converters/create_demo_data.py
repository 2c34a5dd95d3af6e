"""Write the demo datasets: procedural shapes in the official file formats.

Everything is generated deterministically from ``--seed`` with the shapes of
``act_mmdet3d/datasets/demo_shapes.py`` (classes sphere, box, cylinder, cone,
torus, table, chair, mug, lamp, airplane; plus cap and laptop for ShapeNet-55
and ShapeNetPart), into the reference's folder layout under ``--out``::

  ShapeNet55-34/shapenet_pc/<synset>-<model_id>.npy   (8192, 3) float32
  ShapeNet55-34/ShapeNet-55/{train,test}.txt          file names, one a line
  shapenet_synset_dict.json                           {synset: name} (demo)
  ModelNet/modelnet40_normal_resampled/
    modelnet40_shape_names.txt                        the 10 demo classes
    modelnet40_{train,test}.txt                       shape ids (box_0001)
    <class>/<shape id>.txt                            10,000 rows '%.6f'
                                                      x,y,z,nx,ny,nz
    modelnet40_{train,test}_8192pts_fps.dat           pickle [list of (8192, 6)
                                                      float32, list of (1,)
                                                      int32 labels]
  ModelNetFewshot/{5,10}way{10,20}shot/{0..9}.pkl     {'train': [(points,
                                                      episode label, class
                                                      label)], 'test': [...]}
  ScanObjectNN/main_split/{training,test}_objectdataset.h5      OBJ_BG
  ScanObjectNN/main_split/{training,test}_objectdataset_augmentedrot_scale75.h5
                                                      PB_T50_RS ("hardest")
  ScanObjectNN/main_split_nobg/{training,test}_objectdataset.h5 OBJ_ONLY
  ScanObjectNN_shape_names.txt                        the 10 demo classes
  shapenetcore_partanno_segmentation_benchmark_v0_normal/
    synsetoffset2category.txt                         the 16 official lines
    train_test_split/shuffled_{train,val,test}_file_list.json
    <synset>/<model_id>.txt                           rows '%.6f': x y z nx ny
                                                      nz part (official id)
  scannet/points/scene<k>_00.bin                      (N, 6) float32 raw xyz
                                                      rgb (procedural rooms,
                                                      demo_scenes.py)
  scannet/{instance,semantic}_mask/scene<k>_00.bin    (N, ) int64 (NYU40)
  scannet/scannet_infos_{train,val}.pkl               mmdet3d 1.4's v2 infos

Format facts (as the reference loaders read the official files):

* ModelNet ``.dat``: built as the reference ``ModelNet`` dataset builds it:
  each txt file read back (the written values are exactly what
  ``np.loadtxt(path, delimiter=',').astype(np.float32)`` returns), farthest
  point sampling of 8192 of the 10,000 rows from a random start (the
  reference loop's indices, by ``act_mmdet3d.ops.furthest_point_sample``),
  label ``np.array([c], np.int32)``.
  Few-shot clouds are the first ``--fewshot-points`` rows (default 8192, the
  official size) of those clouds, i.e. an FPS of that many points.
* Few-shot tuples are ``(points (P, 6) float32, episode label int in
  [0, way), class label numpy.int32)``, as ``generate_few_shot_data.py``
  writes them (classes shuffled, shots > 20 per class needed for 20-shot);
  5 test shapes per class (the reference takes 20).
* ScanObjectNN h5: ``data`` (N, 2048, 3) float32 (centred, max radius 1),
  ``label`` (N,) int64, ``mask`` (N, 2048) int64 with -1 on background
  points and the class label on object points (the official loader's
  ``convert_to_binary_mask`` treats -1 as background). Labels index the 10
  demo classes (``ScanObjectNN_shape_names.txt``), not the 15 official ones.
* ShapeNetPart: the part column holds the official global part id written as
  a float (``13.000000``), the reference reads it with
  ``np.loadtxt(path)[:, -1].astype(np.int32)``. The category file lists the
  16 official categories in the official order (category index = line
  index); only Airplane, Cap, Chair, Lamp, Laptop, Mug and Table have shapes,
  the other 9 synset folders are empty.
* ShapeNet-55 synsets: official ids for airplane, cap, chair, lamp, laptop,
  mug, table; made-up ``9000000<k>`` for the primitives (sphere ``90000000``,
  box ``90000001``, cylinder ``90000002``, cone ``90000003``, torus
  ``90000004``). Shapes are rotated arbitrarily (SO(3)); ModelNet,
  ScanObjectNN objects are rotated about the up axis (y); ShapeNetPart
  shapes keep the canonical pose (aligned, like the official files).

A dataset is skipped when ``<out>/.complete-<name>`` records the same
settings (``--force`` regenerates it); a changed seed / scale / option
regenerates it. Only folders this tool wrote (marker present) are ever
replaced.
"""
import argparse
import json
import multiprocessing
import os
import os.path as osp
import pickle
import random
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch

from act_mmdet3d.ops import furthest_point_sample

from act_mmdet3d.datasets import demo_scenes as scenes
from act_mmdet3d.datasets import demo_shapes as shapes

#: bump when the generated content changes, so old outputs are regenerated
GENERATOR_VERSION = 2
CLASSES = shapes.DEMO_CLASSES

DATASETS = ('shapenet55', 'modelnet40', 'fewshot', 'scanobjectnn',
            'shapenetpart', 'scannet')
_DATASET_IDS = dict(
    shapenet55=1, modelnet40=2, fewshot=3, scanobjectnn=4, shapenetpart=5,
    scannet=6)
#: what each dataset writes under --out (replaced as a whole on regeneration)
OUTPUTS = dict(
    shapenet55=('ShapeNet55-34', 'shapenet_synset_dict.json'),
    modelnet40=('ModelNet', ),
    fewshot=('ModelNetFewshot', ),
    scanobjectnn=('ScanObjectNN', 'ScanObjectNN_shape_names.txt'),
    shapenetpart=('shapenetcore_partanno_segmentation_benchmark_v0_normal', ),
    scannet=('scannet', ),
)
MODELNET_DIR = osp.join('ModelNet', 'modelnet40_normal_resampled')
PART_DIR = 'shapenetcore_partanno_segmentation_benchmark_v0_normal'

#: per-class / per-shape counts at --scale 1
COUNTS = dict(
    shapenet55=34,  # per generator (12) -> 408 clouds, the last 20% test
    modelnet40_train=30,
    modelnet40_test=10,
    scanobjectnn_train=30,
    scanobjectnn_test=10,
    shapenetpart_train=30,
    shapenetpart_val=10,
    shapenetpart_test=10,
    scannet_train=24,  # rooms
    scannet_val=8,
)
SCANNET_POINTS = 10000  # per room (a real ScanNet scan has ~150k)
MODELNET_POINTS, MODELNET_FPS = 10000, 8192
SHAPENET55_POINTS = 8192
SCAN_POINTS = 2048
FEWSHOT_WAYS = (5, 10)
FEWSHOT_TEST_PER_CLASS = 5

#: ShapeNet-55 synsets of the demo generators (see the module docstring)
SHAPENET55_SYNSETS = {
    'sphere': '90000000',
    'box': '90000001',
    'cylinder': '90000002',
    'cone': '90000003',
    'torus': '90000004',
    'table': '04379243',
    'chair': '03001627',
    'mug': '03797390',
    'lamp': '03636649',
    'airplane': '02691156',
    'cap': '02954340',
    'laptop': '03642806',
}

#: The official ShapeNetPart categories, in the official file order, with
#: their global part ids (16 categories, 50 parts).
SHAPENETPART_CATEGORIES = (
    ('Airplane', '02691156', (0, 1, 2, 3)),
    ('Bag', '02773838', (4, 5)),
    ('Cap', '02954340', (6, 7)),
    ('Car', '02958343', (8, 9, 10, 11)),
    ('Chair', '03001627', (12, 13, 14, 15)),
    ('Earphone', '03261776', (16, 17, 18)),
    ('Guitar', '03467517', (19, 20, 21)),
    ('Knife', '03624134', (22, 23)),
    ('Lamp', '03636649', (24, 25, 26, 27)),
    ('Laptop', '03642806', (28, 29)),
    ('Motorbike', '03790512', (30, 31, 32, 33, 34, 35)),
    ('Mug', '03797390', (36, 37)),
    ('Pistol', '03948459', (38, 39, 40)),
    ('Rocket', '04099429', (41, 42, 43)),
    ('Skateboard', '04225987', (44, 45, 46)),
    ('Table', '04379243', (47, 48, 49)),
)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _rng(seed: int, dataset: str, *keys: int) -> np.random.Generator:
    """An independent stream per (seed, dataset, item): the output does not
    depend on --only, on --workers or on the order of the work."""
    return np.random.default_rng([seed, _DATASET_IDS[dataset], *keys])


def _count(base: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, int(round(base * scale)))


def _model_id(rng: np.random.Generator) -> str:
    return rng.bytes(16).hex()  # 32 hex digits, like ShapeNet model ids


def _write_text(path: str, text: str) -> None:
    with open(path, 'w', newline='\n') as f:
        f.write(text)


def _format_rows(values: np.ndarray, sep: str) -> str:
    """Rows of ``'%.6f'`` joined by ``sep`` (one C-level format call)."""
    n, d = values.shape
    line = sep.join(['%.6f'] * d) + '\n'
    return (line * n) % tuple(values.ravel().tolist())


def _fresh_f32(array: np.ndarray) -> np.ndarray:
    """A new float32 array with numpy's canonical dtype object.

    Arrays unpickled from worker processes carry their own dtype instances,
    which pickle would write differently (no memo reference); copying into
    a fresh array makes the pickled bytes independent of --workers.
    """
    out = np.empty(np.shape(array), dtype=np.float32)
    np.copyto(out, array)
    return out


def _parallel_map(fn: Callable, tasks: List, workers: int,
                  log: Callable = None, what: str = '') -> List:
    """``[fn(t) for t in tasks]``, in processes when ``workers > 1``;
    results keep the task order. Logs progress every few seconds."""
    results = []
    last = time.time()

    def progress(i):
        nonlocal last
        if log and what and i < len(tasks) and time.time() - last > 4:
            log(f'{what} {i}/{len(tasks)}')
            last = time.time()

    if workers > 1 and len(tasks) > 1:
        method = ('fork' if 'fork' in multiprocessing.get_all_start_methods()
                  else 'spawn')
        with ProcessPoolExecutor(
                max_workers=min(workers, len(tasks)),
                mp_context=multiprocessing.get_context(method)) as pool:
            for i, r in enumerate(pool.map(fn, tasks), 1):
                results.append(r)
                progress(i)
    else:
        for i, t in enumerate(tasks, 1):
            results.append(fn(t))
            progress(i)
    return results


# --------------------------------------------------------------------------
# ShapeNet-55
# --------------------------------------------------------------------------
def _shapenet55_item(task):
    seed, index, name, pc_dir = task
    rng = _rng(seed, 'shapenet55', index)
    points, _, _ = shapes.sample_shape(
        name, SHAPENET55_POINTS, rng, noise=0.004, rotation='so3')
    file_name = f'{SHAPENET55_SYNSETS[name]}-{_model_id(rng)}.npy'
    np.save(osp.join(pc_dir, file_name), points.astype(np.float32))
    return file_name


def write_shapenet55(out, args, log):
    root = osp.join(out, 'ShapeNet55-34')
    pc_dir = osp.join(root, 'shapenet_pc')
    os.makedirs(pc_dir)
    os.makedirs(osp.join(root, 'ShapeNet-55'))
    per_shape = _count(COUNTS['shapenet55'], args.scale, 2)
    tasks = [(args.seed, k * 1000 + i, name, pc_dir)
             for k, name in enumerate(shapes.SHAPES)
             for i in range(per_shape)]
    log(f'shapenet55: {len(tasks)} clouds of {SHAPENET55_POINTS} points '
        f'({len(shapes.SHAPES)} shapes x {per_shape})')
    names = _parallel_map(_shapenet55_item, tasks, args.workers, log,
                          'shapenet55: clouds')
    n_test = max(1, int(round(per_shape * 0.2)))  # the last 20% per shape
    splits = {'train': [], 'test': []}
    for (_, index, _, _), file_name in zip(tasks, names):
        test = index % 1000 >= per_shape - n_test
        splits['test' if test else 'train'].append(file_name)
    rng = _rng(args.seed, 'shapenet55', 10**6)
    for split, files in splits.items():
        files = [files[i] for i in rng.permutation(len(files))]
        _write_text(osp.join(root, 'ShapeNet-55', f'{split}.txt'),
                    ''.join(f + '\n' for f in files))
    synsets = {SHAPENET55_SYNSETS[n]: n for n in shapes.SHAPES}
    _write_text(
        osp.join(out, 'shapenet_synset_dict.json'),
        json.dumps(dict(sorted(synsets.items()))))
    return (f'{len(splits["train"])} train + {len(splits["test"])} test '
            f'clouds, {len(synsets)} synsets')


# --------------------------------------------------------------------------
# ModelNet40 format (txt + FPS cache)
# --------------------------------------------------------------------------
def _modelnet_group(task):
    """Sample, write the txt files of, and FPS one (split, class) group."""
    seed, split, label, first_number, count, root = task
    name = CLASSES[label]
    clouds, starts = [], []
    for j in range(count):
        number = first_number + j
        rng = _rng(seed, 'modelnet40', label, number)
        p, n, _ = shapes.sample_shape(
            name, MODELNET_POINTS, rng, noise=0.004, rotation='up')
        rows = np.round(np.concatenate([p, n], 1).astype(np.float64), 6)
        _write_text(
            osp.join(root, name, f'{name}_{number:04d}.txt'),
            _format_rows(rows, ','))
        # '%.6f' of a value already rounded to 6 decimals prints it exactly,
        # so this is what np.loadtxt(...).astype(np.float32) reads back
        clouds.append(rows.astype(np.float32))
        starts.append(int(rng.integers(0, MODELNET_POINTS)))
    # the reference's FPS loop (float32, lowest index on ties) from `start`
    return [
        c[furthest_point_sample(torch.from_numpy(c[None, :, :3]),
                                MODELNET_FPS, start)[0].numpy()]
        for c, start in zip(clouds, starts)
    ]


def write_modelnet40(out, args, log):
    root = osp.join(out, MODELNET_DIR)
    os.makedirs(root)
    for name in CLASSES:
        os.makedirs(osp.join(root, name))
    _write_text(
        osp.join(root, 'modelnet40_shape_names.txt'),
        ''.join(c + '\n' for c in CLASSES))
    n_train = _count(COUNTS['modelnet40_train'], args.scale, 2)
    n_test = _count(COUNTS['modelnet40_test'], args.scale, 1)
    tasks = []
    for split, first, count in (('train', 1, n_train),
                                ('test', n_train + 1, n_test)):
        for label in range(len(CLASSES)):
            tasks.append((args.seed, split, label, first, count, root))
    log(f'modelnet40: {len(CLASSES)} classes x ({n_train} train + {n_test} '
        f'test) shapes of {MODELNET_POINTS} points, FPS to {MODELNET_FPS}')
    groups = _parallel_map(_modelnet_group, tasks, args.workers, log,
                           'modelnet40: class groups')
    for split in ('train', 'test'):
        ids, points, labels = [], [], []
        for task, clouds in zip(tasks, groups):
            _, t_split, label, first, count, _ = task
            if t_split != split:
                continue
            ids += [f'{CLASSES[label]}_{first + j:04d}' for j in range(count)]
            points += [_fresh_f32(c) for c in clouds]
            # as the reference: cls = np.array([cls]).astype(np.int32)
            labels += [np.array([label]).astype(np.int32)
                       for _ in range(count)]
        _write_text(
            osp.join(root, f'modelnet40_{split}.txt'),
            ''.join(i + '\n' for i in ids))
        with open(osp.join(root, f'modelnet40_{split}_8192pts_fps.dat'),
                  'wb') as f:
            pickle.dump([points, labels], f)
    return (f'{len(CLASSES) * n_train} train + {len(CLASSES) * n_test} test '
            f'shapes, {len(CLASSES)} classes')


# --------------------------------------------------------------------------
# Few-shot episodes (from the ModelNet FPS cache)
# --------------------------------------------------------------------------
def _load_dat(root: str, split: str):
    with open(osp.join(root, f'modelnet40_{split}_8192pts_fps.dat'),
              'rb') as f:
        points, labels = pickle.load(f)
    by_class: Dict = {}
    for p, label in zip(points, labels):
        by_class.setdefault(label[0], []).append(p)  # key: numpy.int32
    return by_class


def _clip(points: np.ndarray, n: int) -> np.ndarray:
    return _fresh_f32(points[:n])


def write_fewshot(out, args, log):
    root = osp.join(out, MODELNET_DIR)
    train, test = _load_dat(root, 'train'), _load_dat(root, 'test')
    fewest = min(len(v) for v in train.values())
    if len(train) < max(FEWSHOT_WAYS):
        raise ValueError(f'few-shot needs {max(FEWSHOT_WAYS)} classes, the '
                         f'ModelNet split has {len(train)}')
    if fewest <= max(args.fewshot_shots):
        raise ValueError(
            f'{max(args.fewshot_shots)}-shot episodes need more than '
            f'{max(args.fewshot_shots)} training shapes per class; the '
            f'ModelNet split has {fewest} (raise --scale or lower '
            '--fewshot-shots)')
    eval_n = min(FEWSHOT_TEST_PER_CLASS, min(len(v) for v in test.values()))
    points = args.fewshot_points
    settings = [(w, s) for w in FEWSHOT_WAYS for s in args.fewshot_shots]
    log(f'fewshot: {len(settings)} settings x {args.fewshot_folds} folds, '
        f'{eval_n} test shapes per class, {points} points per cloud')
    for way, shot in settings:
        folder = osp.join(out, 'ModelNetFewshot', f'{way}way{shot}shot')
        os.makedirs(folder)
        for fold in range(args.fewshot_folds):
            state = np.random.SeedSequence(
                [args.seed, _DATASET_IDS['fewshot'], way, shot,
                 fold]).generate_state(1)[0]
            r = random.Random(int(state))
            keys = list(train)
            r.shuffle(keys)
            train_set, test_set = [], []
            for i, key in enumerate(keys[:way]):
                pool = list(train[key])
                r.shuffle(pool)
                train_set += [(_clip(p, points), i, key)
                              for p in pool[:shot]]
                pool = list(test[key])
                r.shuffle(pool)
                test_set += [(_clip(p, points), i, key)
                             for p in pool[:eval_n]]
            r.shuffle(train_set)
            r.shuffle(test_set)
            with open(osp.join(folder, f'{fold}.pkl'), 'wb') as f:
                pickle.dump({'train': train_set, 'test': test_set}, f)
    return (f'{len(settings)} settings x {args.fewshot_folds} folds '
            f'({", ".join(f"{w}way{s}shot" for w, s in settings)})')


# --------------------------------------------------------------------------
# ScanObjectNN (scenes with clutter, partial views)
# --------------------------------------------------------------------------
def _visible(points, normals, cam, target, res=0.022):
    """Points a pinhole camera at ``cam`` looking at ``target`` sees:
    front-facing and not behind a closer front-facing surface (z-buffer
    with angular pixels of ``res`` radians)."""
    d = points - cam
    dist = np.linalg.norm(d, axis=1)
    facing = np.einsum('ij,ij->i', normals, -d) > 0.05 * dist
    fwd = target - cam
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    z = d @ fwd
    ok = facing & (z > 0.1)
    zs = np.where(ok, z, 1.0)
    key = (np.floor((d @ right) / zs / res).astype(np.int64) * 1000003 +
           np.floor((d @ up) / zs / res).astype(np.int64))
    cand = np.flatnonzero(ok)
    order = cand[np.lexsort((dist[cand], key[cand]))]
    keys, first = np.unique(key[order], return_index=True)
    nearest = dist[order[first]]
    slot = np.searchsorted(keys, key[cand])
    visible = np.zeros(len(points), dtype=bool)
    tol = 0.03 + 1.0 * res * dist[cand]
    visible[cand] = dist[cand] <= nearest[slot] + tol
    return visible


def _plane(rng, n, origin, u, v, normal):
    a, b = rng.uniform(0, 1, size=(2, n))
    pts = origin + a[:, None] * u + b[:, None] * v
    return pts, np.tile(normal, (n, 1))


def _resample(rng, n_total, n):
    if n_total >= n:
        return rng.choice(n_total, n, replace=False)
    return rng.permutation(
        np.concatenate([np.arange(n_total),
                        rng.choice(n_total, n - n_total)]))


def _normalised(points, centre):
    p = points - centre
    return (p / np.linalg.norm(p, axis=1).max()).astype(np.float32)


def _scan_item(task):
    """One scanned object: (obj_bg, obj_only, hardest), each (cloud, mask)."""
    seed, label, index = task
    rng = _rng(seed, 'scanobjectnn', label, index)
    obj, obj_n, _ = shapes.sample_shape(
        CLASSES[label], 6000, rng, rotation='up')
    obj, obj_n = obj.astype(np.float64), obj_n.astype(np.float64)
    obj[:, 1] -= obj[:, 1].min()  # standing on the floor (y = 0)
    lo, hi = obj.min(0), obj.max(0)
    ext = hi - lo
    pts, nrm = [obj], [obj_n]
    half = 2.4
    p, n = _plane(rng, 9000, np.array([-half, 0, -half]),
                  np.array([2 * half, 0, 0]), np.array([0, 0, 2 * half]),
                  np.array([0.0, 1.0, 0.0]))
    pts.append(p)
    nrm.append(n)
    wall_az = rng.uniform(0, 2 * np.pi)
    n_walls = int(rng.choice(3, p=[0.3, 0.45, 0.25]))
    for w in range(n_walls):  # one wall, or two forming a corner
        az = wall_az + w * np.pi / 2
        out_dir = np.array([np.cos(az), 0.0, np.sin(az)])
        along = np.array([-np.sin(az), 0.0, np.cos(az)])
        dist = rng.uniform(1.0, 1.6)
        p, n = _plane(rng, 3500, out_dir * dist - along * half,
                      along * 2 * half,
                      np.array([0, rng.uniform(1.5, 2.5), 0]), -out_dir)
        pts.append(p)
        nrm.append(n)
    for _ in range(int(rng.choice(3, p=[0.35, 0.45, 0.2]))):  # neighbours
        other = CLASSES[int(rng.integers(len(CLASSES)))]
        q, qn, _ = shapes.sample_shape(other, 2500, rng, rotation='up')
        s = rng.uniform(0.45, 0.9)
        q = q.astype(np.float64) * s
        q[:, 1] -= q[:, 1].min()
        az = rng.uniform(0, 2 * np.pi)
        r = 0.9 + s + rng.uniform(0.0, 0.4)
        pts.append(q + [r * np.cos(az), 0, r * np.sin(az)])
        nrm.append(qn.astype(np.float64))
    is_obj = np.zeros(sum(len(p) for p in pts), dtype=bool)
    is_obj[:len(obj)] = True
    pts, nrm = np.concatenate(pts), np.concatenate(nrm)
    target = np.array([0.0, ext[1] / 2, 0.0])

    for _ in range(10):  # views: 1-2 cameras on the open side
        base_az = (wall_az + np.pi + rng.uniform(-np.pi / 3, np.pi / 3)
                   if n_walls else rng.uniform(0, 2 * np.pi))
        azs = [base_az]
        if rng.uniform() < 0.5:
            azs.append(base_az + rng.choice([-1, 1]) *
                       rng.uniform(np.pi / 6, np.pi / 2))
        visible = np.zeros(len(pts), dtype=bool)
        for az in azs:
            el = np.deg2rad(rng.uniform(15, 55))
            r = rng.uniform(2.6, 3.6)
            cam = target + r * np.array([np.cos(el) * np.cos(az), np.sin(el),
                                         np.cos(el) * np.sin(az)])
            visible |= _visible(pts, nrm, cam, target)
        if (visible & is_obj).sum() >= 300:
            break
    scan = pts + rng.normal(0, 0.008, size=pts.shape)  # sensor noise
    mask_all = np.where(is_obj, label, -1).astype(np.int64)

    # OBJ_BG: the visible points in the object's box plus a margin
    margin = rng.uniform(0.05, 0.3, size=3) * ext
    box_lo = lo - margin
    box_hi = hi + margin
    box_lo[1], box_hi[1] = -0.05, hi[1] + rng.uniform(0.05, 0.25)
    inside = np.all((scan >= box_lo) & (scan <= box_hi), axis=1)
    sel = np.flatnonzero(visible & inside)
    idx = sel[_resample(rng, len(sel), SCAN_POINTS)]
    obj_bg = (_normalised(scan[idx], (box_lo + box_hi) / 2), mask_all[idx])

    # OBJ_ONLY: the visible object points
    sel = np.flatnonzero(visible & is_obj)
    idx = sel[_resample(rng, len(sel), SCAN_POINTS)]
    vis = scan[idx]
    obj_only = (_normalised(vis, (vis.max(0) + vis.min(0)) / 2),
                mask_all[idx])

    # PB_T50_RS: the box translated by up to 50% of the object's size,
    # rotated about the up axis and scaled; the crop is then tilted a bit
    # and rescaled per axis
    centre = (box_lo + box_hi) / 2
    centre[[0, 2]] += rng.uniform(-0.5, 0.5, size=2) * ext[[0, 2]]
    yaw = shapes.rotation_about_y(rng.uniform(0, 2 * np.pi))
    half_box = (box_hi - box_lo) / 2
    half_box[[0, 2]] *= rng.uniform(0.75, 1.25, size=2)
    for _ in range(10):
        local = (scan - centre) @ yaw  # coordinates in the box frame
        inside = np.all(np.abs(local) <= half_box, axis=1)
        sel = np.flatnonzero(visible & inside)
        if (visible & inside & is_obj).sum() >= 100:
            break
        centre = (centre + (box_lo + box_hi) / 2) / 2  # move back
    tilt = shapes.random_rotation(rng, 'so3')
    angle = np.deg2rad(rng.uniform(0, 10))
    axis = np.cross([0.0, 1.0, 0.0], tilt[:, 0])
    axis /= max(np.linalg.norm(axis), 1e-9)
    kx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]],
                   [-axis[1], axis[0], 0]])
    tilt = np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx
    idx = sel[_resample(rng, len(sel), SCAN_POINTS)]
    hard = local[idx] @ tilt.T * rng.uniform(0.75, 1.25, size=3)
    hardest = (_normalised(hard, np.zeros(3)), mask_all[idx])
    return obj_bg, obj_only, hardest


def write_scanobjectnn(out, args, log):
    import h5py
    root = osp.join(out, 'ScanObjectNN')
    os.makedirs(osp.join(root, 'main_split'))
    os.makedirs(osp.join(root, 'main_split_nobg'))
    _write_text(osp.join(out, 'ScanObjectNN_shape_names.txt'),
                '\n'.join(CLASSES))  # as the reference's file: no final \n
    counts = dict(
        training=_count(COUNTS['scanobjectnn_train'], args.scale, 1),
        test=_count(COUNTS['scanobjectnn_test'], args.scale, 1))
    log(f'scanobjectnn: {len(CLASSES)} classes x ({counts["training"]} '
        f'train + {counts["test"]} test) scans, 3 variants')
    files = [('main_split', ''), ('main_split_nobg', ''),
             ('main_split', '_augmentedrot_scale75')]
    total = 0
    for split, count in counts.items():
        first = 0 if split == 'training' else 10**4
        tasks = [(args.seed, label, first + i)
                 for label in range(len(CLASSES)) for i in range(count)]
        items = _parallel_map(_scan_item, tasks, args.workers, log,
                              f'scanobjectnn: {split} scans')
        order = _rng(args.seed, 'scanobjectnn', 10**6,
                     int(split == 'test')).permutation(len(tasks))
        labels = np.array([tasks[i][1] for i in order], dtype=np.int64)
        for v, (folder, suffix) in enumerate(files):
            data = np.stack([items[i][v][0] for i in order])
            mask = np.stack([items[i][v][1] for i in order])
            path = osp.join(root, folder, f'{split}_objectdataset{suffix}.h5')
            with h5py.File(path, 'w') as f:
                f.create_dataset('data', data=data, track_times=False)
                f.create_dataset('label', data=labels, track_times=False)
                f.create_dataset('mask', data=mask, track_times=False)
        total += len(tasks)
    return (f'{total} scans x 3 variants (OBJ_BG, OBJ_ONLY, PB_T50_RS), '
            f'{len(CLASSES)} classes')


# --------------------------------------------------------------------------
# ShapeNetPart
# --------------------------------------------------------------------------
def _part_item(task):
    seed, shape, split_id, index, root = task
    cat_index = list(shapes.PART_CATEGORIES).index(shape)
    rng = _rng(seed, 'shapenetpart', cat_index, split_id, index)
    _, synset, part_ids = shapes.PART_CATEGORIES[shape]
    num = int(rng.integers(2000, 3001))
    p, n, local = shapes.sample_shape(
        shape, num, rng, noise=0.002, rotation='none',
        scale_range=(0.85, 1.2))
    p = p.astype(np.float64)
    p /= np.linalg.norm(p.max(0) - p.min(0))  # unit bounding-box diagonal
    parts = np.asarray(part_ids, dtype=np.float64)[local]
    rows = np.round(np.concatenate([p, n, parts[:, None]], 1), 6)
    model_id = _model_id(rng)
    _write_text(osp.join(root, synset, f'{model_id}.txt'),
                _format_rows(rows, ' '))
    return f'shape_data/{synset}/{model_id}'


def write_shapenetpart(out, args, log):
    root = osp.join(out, PART_DIR)
    os.makedirs(osp.join(root, 'train_test_split'))
    _write_text(
        osp.join(root, 'synsetoffset2category.txt'),
        ''.join(f'{name}\t{synset}\n'
                for name, synset, _ in SHAPENETPART_CATEGORIES))
    for _, synset, _ in SHAPENETPART_CATEGORIES:
        os.makedirs(osp.join(root, synset))
    counts = dict(
        train=_count(COUNTS['shapenetpart_train'], args.scale, 1),
        val=_count(COUNTS['shapenetpart_val'], args.scale, 1),
        test=_count(COUNTS['shapenetpart_test'], args.scale, 1))
    cats = list(shapes.PART_CATEGORIES)
    log(f'shapenetpart: {len(cats)} categories x ({counts["train"]} train + '
        f'{counts["val"]} val + {counts["test"]} test) shapes')
    tasks = [(args.seed, shape, s, i, root) for shape in cats
             for s, split in enumerate(counts) for i in range(counts[split])]
    paths = _parallel_map(_part_item, tasks, args.workers, log,
                          'shapenetpart: shapes')
    for s, split in enumerate(counts):
        items = [p for t, p in zip(tasks, paths) if t[2] == s]
        order = _rng(args.seed, 'shapenetpart', 10**6, s).permutation(
            len(items))
        _write_text(
            osp.join(root, 'train_test_split',
                     f'shuffled_{split}_file_list.json'),
            json.dumps([items[i] for i in order]))
    per_split = ', '.join(f'{v} {k}' for k, v in counts.items())
    names = ', '.join(shapes.PART_CATEGORIES[c][0] for c in cats)
    return f'{len(tasks)} shapes ({per_split} per category) of {names}'


def write_scannet(out, args, log):
    counts = dict(
        train=_count(COUNTS['scannet_train'], args.scale, 2),
        val=_count(COUNTS['scannet_val'], args.scale, 2))
    log(f'scannet: {counts["train"]} train + {counts["val"]} val rooms of '
        f'{SCANNET_POINTS} points')
    scenes.write_scannet(
        osp.join(out, 'scannet'),
        splits=tuple(counts.items()),
        seed=int(_rng(args.seed, 'scannet').integers(2**31)),
        num_points=SCANNET_POINTS)
    names = ', '.join(scenes.OBJECTS)
    return (f'{counts["train"]} train + {counts["val"]} val rooms of '
            f'{SCANNET_POINTS} points, objects: {names}')


WRITERS = dict(
    shapenet55=write_shapenet55, modelnet40=write_modelnet40,
    fewshot=write_fewshot, scanobjectnn=write_scanobjectnn,
    shapenetpart=write_shapenetpart, scannet=write_scannet)


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------
def _int_list(text: str) -> List[int]:
    try:
        values = [int(v) for v in text.split(',') if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected comma-separated integers, got {text!r}')
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f'expected positive integers, got {text!r}')
    return sorted(set(values))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected an integer, got {text!r}')
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected >= 1, got {value}')
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='create_demo_data.py',
        description='Write small procedurally generated point-cloud datasets '
        'in the official ShapeNet-55, ModelNet40 (txt + FPS cache), few-shot, '
        'ScanObjectNN and ShapeNetPart formats and folder layout. '
        'Deterministic for a given --seed. Complete datasets are skipped.',
        epilog='datasets: ' + ', '.join(DATASETS) + ' (fewshot is made from '
        'the modelnet40 FPS cache and generates it when needed). Example: '
        'create_demo_data.py --only modelnet40,fewshot --out data/demo')
    parser.add_argument(
        '--out', default='data/demo',
        help='output root, the reference data/ layout (default data/demo)')
    parser.add_argument(
        '--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument(
        '--only', default='all', metavar='NAMES',
        help='comma-separated datasets to write (default: all)')
    parser.add_argument(
        '--force', action='store_true',
        help='regenerate datasets that are already complete')
    parser.add_argument(
        '--scale', type=float, default=1.0,
        help='multiplier of the per-class shape counts (default 1.0: 30 '
        'train / 10 test per class; tests use ~0.1)')
    parser.add_argument(
        '--workers', type=_positive_int,
        default=max(1, min(2, os.cpu_count() or 1)),
        help='processes (default: min(2, CPUs)); the output does not '
        'depend on it')
    parser.add_argument(
        '--fewshot-shots', type=_int_list, default=[10, 20], metavar='K,..',
        help='shots of the few-shot settings (default 10,20)')
    parser.add_argument(
        '--fewshot-folds', type=_positive_int, default=10, metavar='N',
        help='folds per few-shot setting (default 10)')
    parser.add_argument(
        '--fewshot-points', type=_positive_int, default=MODELNET_FPS,
        metavar='P',
        help=f'points per few-shot cloud, the first P of the FPS cache '
        f'(default {MODELNET_FPS}, the official size: about 1.2 GB at '
        'default settings)')
    args = parser.parse_args(argv)
    names = [n.strip().lower() for n in args.only.split(',') if n.strip()]
    if names == ['all']:
        names = list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown or not names:
        parser.error(f'--only: unknown dataset(s) '
                     f'{", ".join(unknown) or "(none given)"}; choose from '
                     f'{", ".join(DATASETS)} or all')
    if args.seed < 0:
        parser.error(f'--seed must be >= 0, got {args.seed}')
    if not (0 < args.scale <= 100):
        parser.error(f'--scale must be in (0, 100], got {args.scale}')
    if args.fewshot_points > MODELNET_FPS:
        parser.error(f'--fewshot-points must be <= {MODELNET_FPS}, got '
                     f'{args.fewshot_points}')
    if osp.exists(args.out) and not osp.isdir(args.out):
        parser.error(f'--out {args.out} exists and is not a directory')
    if 'fewshot' in names:
        if 'modelnet40' not in names:
            names.append('modelnet40')  # made from its FPS cache
        n_train = _count(COUNTS['modelnet40_train'], args.scale, 2)
        shots = max(args.fewshot_shots)
        if n_train <= shots:
            parser.error(
                f'fewshot: {shots}-shot episodes need more than {shots} '
                f'training shapes per class, --scale {args.scale:g} gives '
                f'{n_train}; raise --scale or lower --fewshot-shots')
    args.only = [n for n in DATASETS if n in names]
    return args


def _settings(name: str, args) -> dict:
    s = dict(version=GENERATOR_VERSION, seed=args.seed, scale=args.scale)
    if name == 'fewshot':
        s.update(shots=args.fewshot_shots, folds=args.fewshot_folds,
                 points=args.fewshot_points)
    return s


def _read_marker(path: str):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _size(paths: Sequence[str]):
    files = size = 0
    for path in paths:
        if osp.isfile(path):
            files, size = files + 1, size + osp.getsize(path)
        for base, _, names in os.walk(path):
            for n in names:
                files += 1
                size += osp.getsize(osp.join(base, n))
    return files, size


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out
    start = time.time()

    def log(message):
        print(f'[{time.time() - start:6.1f}s] {message}', flush=True)

    os.makedirs(out, exist_ok=True)
    log(f'demo data -> {osp.abspath(out)} (seed {args.seed}, scale '
        f'{args.scale:g}, {args.workers} worker(s))')
    report = []
    written = set()
    for name in args.only:
        settings = _settings(name, args)
        complete = osp.join(out, f'.complete-{name}')
        partial = osp.join(out, f'.partial-{name}')
        targets = [osp.join(out, t) for t in OUTPUTS[name]]
        old = _read_marker(complete)
        stale_source = name == 'fewshot' and 'modelnet40' in written
        if old is not None and not args.force and not stale_source and {
                k: v for k, v in old.items() if k in settings} == settings:
            files, size = _size(targets)
            report.append((name, 'skipped (complete)', files, size, 0.0,
                           old.get('summary', '')))
            log(f'{name}: already complete, skipped (--force regenerates)')
            continue
        ours = old is not None or osp.exists(partial)
        existing = [t for t in targets if osp.exists(t)]
        if existing and not ours:
            raise SystemExit(
                f'error: {", ".join(existing)} exist(s) but was not written '
                f'by this tool (no {complete}); refusing to overwrite. '
                'Remove it or choose another --out.')
        if old is not None and not args.force:
            reason = ('the ModelNet cache was rewritten' if stale_source else
                      'settings changed: ' + ', '.join(
                          f'{k} {old.get(k)} -> {v}'
                          for k, v in settings.items() if old.get(k) != v))
            log(f'{name}: regenerating ({reason})')
        _write_text(partial, json.dumps(settings) + '\n')
        if osp.exists(complete):
            os.remove(complete)
        for t in existing:
            if osp.isdir(t):
                shutil.rmtree(t)
            else:
                os.remove(t)
        t0 = time.time()
        summary = WRITERS[name](out, args, log)
        seconds = time.time() - t0
        files, size = _size(targets)
        _write_text(complete, json.dumps(dict(
            settings, summary=summary, files=files, bytes=size,
            seconds=round(seconds, 1))) + '\n')
        os.remove(partial)
        written.add(name)
        report.append((name, 'written', files, size, seconds, summary))
        log(f'{name}: done in {seconds:.1f} s ({files} files, '
            f'{size / 2**20:.1f} MiB)')

    total = time.time() - start
    print(f'\nDemo datasets under {osp.abspath(out)} (seed {args.seed}, '
          f'scale {args.scale:g}):')
    for name, status, files, size, seconds, summary in report:
        where = ', '.join(OUTPUTS[name])
        print(f'  {name:13s} {status:19s} {files:6d} files '
              f'{size / 2**20:8.1f} MiB {seconds:6.1f} s  {where}')
        if summary:
            print(f'  {"":13s} {summary}')
    print(f'  classes: {", ".join(CLASSES)}')
    print(f'Total {total:.1f} s.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
