"""Procedural indoor rooms for the detection demo and tests, in the ScanNet
layout that mmdet3d 1.4's ``tools/create_data.py scannet`` writes.

A room is a floor and two walls with a few box-shaped objects (cabinet,
bed, chair: the first three ScanNet detection classes, so a 3-class config
keeps their labels), rotated and translated by a random
``axis_align_matrix`` as ScanNet's raw scans are. ``write_scannet`` writes
``points/``, ``instance_mask/``, ``semantic_mask/`` and the v2
``scannet_infos_{split}.pkl`` that mmdet3d's own ``ScanNetDataset`` reads.
This module only needs numpy; it does not import torch or mmdet3d.

Public API::

    SCANNET_CLASSES  the 18 ScanNet detection classes, in mmdet3d's order
    OBJECTS          class name -> (NYU40 id, mean size (dx, dy, dz) in m)
    synthetic_scene(rng, ...) -> (xyz, rgb, semantic ids, instance ids,
                                  object classes)
    write_scannet(root, splits, seed, ...) -> {split: number of rooms}
"""
import os
import os.path as osp
import pickle

import numpy as np

__all__ = ['SCANNET_CLASSES', 'OBJECTS', 'synthetic_scene', 'write_scannet']

SCANNET_CLASSES = ('cabinet', 'bed', 'chair', 'sofa', 'table', 'door',
                   'window', 'bookshelf', 'picture', 'counter', 'desk',
                   'curtain', 'refrigerator', 'showercurtrain', 'toilet',
                   'sink', 'bathtub', 'garbagebin')
# the synthetic objects: class name -> (NYU40 id, size (dx, dy, dz) in m);
# the first three ScanNet classes, so that a 3-class config keeps their
# semantic-mask labels (0, 1, 2) below num_classes as VoteHead expects
OBJECTS = {
    'cabinet': (3, (0.9, 0.45, 1.1)),
    'bed': (4, (2.0, 1.5, 0.5)),
    'chair': (5, (0.5, 0.5, 0.8)),
}
WALL, FLOOR = 1, 2  # NYU40 ids (not detection classes)


def _box_surface(rng, centre, size, n):
    """n points on the 4 sides and the top of an axis-aligned box whose
    bottom is on the floor."""
    dx, dy, dz = size
    areas = np.array([dx * dy, dx * dz, dx * dz, dy * dz, dy * dz])
    face = rng.choice(5, n, p=areas / areas.sum())
    u, v = rng.uniform(-0.5, 0.5, (2, n))
    local = np.zeros((n, 3))
    top, xs = face == 0, (face == 1) | (face == 2)
    ys = (face == 3) | (face == 4)
    local[top] = np.c_[u[top] * dx, v[top] * dy, np.full(top.sum(), dz / 2)]
    sign = np.where((face == 1) | (face == 3), -0.5, 0.5)
    local[xs] = np.c_[u[xs] * dx, sign[xs] * dy, v[xs] * dz]
    local[ys] = np.c_[sign[ys] * dx, u[ys] * dy, v[ys] * dz]
    return local + np.array([centre[0], centre[1], dz / 2])


def synthetic_scene(rng,
                    num_points=5000,
                    num_objects=(2, 3),
                    room=3.5,
                    wall_height=1.5,
                    object_share=0.7):
    """A room (floor, two walls) with a few box-shaped objects (their number
    drawn from the ``num_objects`` range, classes at random, placed apart).

    Returns aligned xyz (n, 3), rgb (n, 3), NYU40 semantic ids (n, ),
    instance ids (n, ; 0 = unannotated) and the object classes.
    """
    names = list(OBJECTS)
    count = rng.integers(num_objects[0], num_objects[1] + 1)
    chosen, placed = [], []  # names; (centre xy, size)
    for i in range(count):
        name = names[i] if i < len(names) else names[rng.integers(3)]
        size = np.array(OBJECTS[name][1]) * rng.uniform(0.9, 1.1, 3)
        for _ in range(100):
            xy = rng.uniform(size[:2] / 2 + 0.2, room - size[:2] / 2 - 0.2)
            if all((np.abs(xy - c) > (size[:2] + s[:2]) / 2 + 0.2).any()
                   for c, s in placed):
                chosen.append(name)
                placed.append((xy, size))
                break
    n_obj = int(num_points * object_share)
    n_floor = int(num_points * (1 - object_share) * 0.6)
    n_wall = num_points - n_obj - n_floor
    xyz, sem, ins, rgb = [], [], [], []
    floor = np.c_[rng.uniform(0, room, (n_floor, 2)), np.zeros(n_floor)]
    u = rng.uniform(0, room, n_wall)
    h = rng.uniform(0, wall_height, n_wall)
    side = rng.random(n_wall) < 0.5
    wall = np.where(side[:, None], np.c_[u, np.zeros(n_wall), h],
                    np.c_[np.zeros(n_wall), u, h])
    for pts, label, inst, colour in ((floor, FLOOR, 1, (120, 90, 60)),
                                     (wall, WALL, 2, (220, 220, 210))):
        xyz.append(pts)
        sem.append(np.full(len(pts), label))
        ins.append(np.full(len(pts), inst))
        rgb.append(np.broadcast_to(colour, pts.shape))
    per_obj = np.full(len(placed), n_obj // len(placed))
    per_obj[0] += n_obj - per_obj.sum()
    for i, ((xy, size), name, n) in enumerate(zip(placed, chosen, per_obj)):
        pts = _box_surface(rng, xy, size, n)
        xyz.append(pts)
        sem.append(np.full(n, OBJECTS[name][0]))
        ins.append(np.full(n, 3 + i))
        rgb.append(np.broadcast_to((40 * i, 100, 200), pts.shape))
    xyz = np.concatenate(xyz) + rng.normal(0, 0.005, (num_points, 3))
    return (xyz, np.concatenate(rgb).astype(np.float64),
            np.concatenate(sem).astype(np.int64),
            np.concatenate(ins).astype(np.int64), chosen)


def _axis_align_matrix(rng):
    """A z-rotation + translation, as ScanNet's scene meta files hold."""
    angle = rng.uniform(-np.pi, np.pi)
    c, s = np.cos(angle), np.sin(angle)
    mat = np.eye(4)
    mat[:2, :2] = [[c, -s], [s, c]]
    mat[:2, 3] = rng.uniform(-3, 3, 2)
    mat[2, 3] = rng.uniform(-0.1, 0.1)
    return mat


def write_scannet(root,
                  splits=(('train', 4), ('val', 2)),
                  seed=0,
                  **scene_kwargs):
    """Rooms under ``root`` as mmdet3d 1.4's ScanNet converter writes them:
    points/ (N, 6) float32 raw xyz rgb, instance_mask/ and semantic_mask/
    int64 per point (NYU40 ids), scannet_infos_{split}.pkl (v2 format)
    with the axis_align_matrix and the axis-aligned boxes (centre + size
    of each object's aligned points) in ``instances``."""
    rng = np.random.default_rng(seed)
    for sub in ('points', 'instance_mask', 'semantic_mask'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    scene = 0
    for split, count in splits:
        data_list = []
        for _ in range(count):
            name = f'scene{scene:04d}_00'
            scene += 1
            xyz, rgb, sem, ins, _ = synthetic_scene(rng, **scene_kwargs)
            align = _axis_align_matrix(rng)
            raw = (xyz - align[:3, 3]) @ align[:3, :3]  # inverse transform
            points = np.c_[raw, rgb].astype(np.float32)
            points.tofile(osp.join(root, 'points', f'{name}.bin'))
            ins.tofile(osp.join(root, 'instance_mask', f'{name}.bin'))
            sem.tofile(osp.join(root, 'semantic_mask', f'{name}.bin'))
            # the converter aligns the stored float32 points in float64
            homo = np.c_[points[:, :3].astype(np.float64), np.ones(len(raw))]
            aligned = homo @ align.T
            instances = []
            nyu_to_name = {v[0]: k for k, v in OBJECTS.items()}
            for inst in np.unique(ins):
                label = sem[ins == inst][0]
                if label not in nyu_to_name:
                    continue
                obj = aligned[ins == inst, :3]
                lo, hi = obj.min(0), obj.max(0)
                instances.append(
                    dict(
                        bbox_3d=np.r_[(lo + hi) / 2, hi - lo].tolist(),
                        bbox_label_3d=SCANNET_CLASSES.index(
                            nyu_to_name[label])))
            data_list.append(
                dict(
                    lidar_points=dict(
                        num_pts_feats=6, lidar_path=f'{name}.bin'),
                    pts_semantic_mask_path=f'{name}.bin',
                    pts_instance_mask_path=f'{name}.bin',
                    axis_align_matrix=align.tolist(),
                    instances=instances))
        info = dict(
            metainfo=dict(
                categories={c: i
                            for i, c in enumerate(SCANNET_CLASSES)},
                dataset='scannet',
                info_version='1.1'),
            data_list=data_list)
        with open(osp.join(root, f'scannet_infos_{split}.pkl'), 'wb') as f:
            pickle.dump(info, f)
    return dict(splits)
