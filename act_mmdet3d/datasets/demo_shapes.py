"""Procedural shapes for the embedded demo datasets.

Each shape is a union of surface primitives (sphere, box, cylinder, cone,
torus), sampled area-weighted with outward normals and a part label per
point. Shape parameters vary per draw, so classes overlap in size and
differ in geometry. Coordinates are y-up, as ModelNet, ShapeNet and
ScanObjectNN files are.

Public API: :data:`DEMO_CLASSES`, :data:`PART_CATEGORIES` and
:func:`sample_shape`.
"""
from typing import Callable, Dict, List, Tuple

import numpy as np

Sample = Tuple[np.ndarray, np.ndarray]  # points (n, 3), normals (n, 3)

# ---------------------------------------------------------------- primitives


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def sphere(center, radius):
    area = 4 * np.pi * radius**2

    def sample(n, rng):
        nrm = _unit(rng.normal(size=(n, 3)))
        return np.asarray(center) + radius * nrm, nrm

    return area, sample


def box(center, size):
    """Axis-aligned box surface; ``size`` = full extents (x, y, z)."""
    sx, sy, sz = size
    faces = np.array([sy * sz, sy * sz, sx * sz, sx * sz, sx * sy, sx * sy])

    def sample(n, rng):
        face = rng.choice(6, size=n, p=faces / faces.sum())
        u = rng.uniform(-0.5, 0.5, size=(n, 3)) * size
        axis = face // 2
        sign = np.where(face % 2 == 0, 1.0, -1.0)
        u[np.arange(n), axis] = sign * np.asarray(size)[axis] / 2
        nrm = np.zeros((n, 3))
        nrm[np.arange(n), axis] = sign
        return np.asarray(center) + u, nrm

    return 2 * faces.sum(), sample


def cylinder(center, radius, height, caps=(True, True)):
    """Cylinder along y centred at ``center``; optional bottom/top caps."""
    side = 2 * np.pi * radius * height
    cap = np.pi * radius**2
    areas = np.array([side, cap * caps[0], cap * caps[1]])

    def sample(n, rng):
        part = rng.choice(3, size=n, p=areas / areas.sum())
        theta = rng.uniform(0, 2 * np.pi, n)
        r = np.where(part == 0, radius, radius * np.sqrt(rng.uniform(0, 1,
                                                                     n)))
        y = np.where(part == 0, rng.uniform(-height / 2, height / 2, n),
                     np.where(part == 1, -height / 2, height / 2))
        pts = np.stack([r * np.cos(theta), y, r * np.sin(theta)], 1)
        nrm = np.stack([np.cos(theta), np.zeros(n), np.sin(theta)], 1)
        nrm[part == 1] = (0, -1, 0)
        nrm[part == 2] = (0, 1, 0)
        return np.asarray(center) + pts, nrm

    return areas.sum(), sample


def cone(center, radius, height):
    """Cone along y, base at ``center`` - h/2, apex at + h/2, with base."""
    slant = np.hypot(radius, height)
    areas = np.array([np.pi * radius * slant, np.pi * radius**2])

    def sample(n, rng):
        part = rng.choice(2, size=n, p=areas / areas.sum())
        theta = rng.uniform(0, 2 * np.pi, n)
        t = np.sqrt(rng.uniform(0, 1, n))  # area-uniform on the side/disc
        r = radius * t
        y = np.where(part == 0, height / 2 - height * t, -height / 2)
        pts = np.stack([r * np.cos(theta), y, r * np.sin(theta)], 1)
        nrm = _unit(
            np.stack([
                height * np.cos(theta),
                np.full(n, radius),
                height * np.sin(theta)
            ], 1))
        nrm[part == 1] = (0, -1, 0)
        return np.asarray(center) + pts, nrm

    return areas.sum(), sample


def torus(center, major, minor, plane='xz'):
    """Torus around y (``plane='xz'``) or around z (``plane='xy'``)."""
    area = 4 * np.pi**2 * major * minor

    def sample(n, rng):
        # rejection-free area weighting: accept phi with p ~ R + r cos(phi)
        u = rng.uniform(0, 2 * np.pi, 4 * n)
        keep = rng.uniform(0, major + minor, 4 * n) < major + minor * np.cos(u)
        phi = u[keep][:n]
        while len(phi) < n:  # pragma: no cover - extremely unlikely
            phi = np.concatenate([phi, rng.uniform(0, 2 * np.pi, n)])[:n]
        theta = rng.uniform(0, 2 * np.pi, n)
        ring = np.stack([np.cos(theta), np.sin(theta)], 1)
        rad = major + minor * np.cos(phi)
        a, b = ring[:, 0] * rad, ring[:, 1] * rad
        h = minor * np.sin(phi)
        na = ring[:, 0] * np.cos(phi)
        nb = ring[:, 1] * np.cos(phi)
        nh = np.sin(phi)
        if plane == 'xz':
            pts = np.stack([a, h, b], 1)
            nrm = np.stack([na, nh, nb], 1)
        else:
            pts = np.stack([a, b, h], 1)
            nrm = np.stack([na, nb, nh], 1)
        return np.asarray(center) + pts, nrm

    return area, sample


# ------------------------------------------------------------------- shapes
# Each builder returns [(part_index, primitive), ...] from parameters drawn
# with ``rng``; part indices are local to the shape (0, 1, ...).


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def _legs(rng, w, d, top_y, leg_h, radius, part):
    inset = _u(rng, 0.05, 0.15)
    xs, zs = w / 2 - inset * w, d / 2 - inset * d
    return [(part,
             cylinder((sx * xs, top_y - leg_h / 2, sz * zs), radius, leg_h))
            for sx in (-1, 1) for sz in (-1, 1)]


def _sphere(rng):
    return [(0, sphere((0, 0, 0), _u(rng, 0.8, 1.0)))]


def _box(rng):
    return [(0, box((0, 0, 0), rng.uniform(0.9, 1.6, 3)))]


def _cylinder(rng):
    return [(0, cylinder((0, 0, 0), _u(rng, 0.4, 0.6), _u(rng, 1.2, 1.8)))]


def _cone(rng):
    return [(0, cone((0, 0, 0), _u(rng, 0.5, 0.8), _u(rng, 1.2, 1.8)))]


def _torus(rng):
    return [(0, torus((0, 0, 0), _u(rng, 0.6, 0.8), _u(rng, 0.15, 0.3)))]


def _table(rng):
    w, d = _u(rng, 1.4, 2.0), _u(rng, 0.8, 1.3)
    th, leg_h = _u(rng, 0.06, 0.12), _u(rng, 0.8, 1.1)
    top_y = leg_h / 2
    parts = [(0, box((0, top_y + th / 2, 0), (w, th, d)))]
    parts += _legs(rng, w, d, top_y, leg_h, _u(rng, 0.04, 0.07), 1)
    return parts


def _chair(rng):
    w, d = _u(rng, 0.8, 1.0), _u(rng, 0.8, 1.0)
    seat_h, leg_h = _u(rng, 0.08, 0.14), _u(rng, 0.7, 0.9)
    back_h = _u(rng, 0.8, 1.1)
    seat_y = 0.0
    parts = [(1, box((0, seat_y, 0), (w, seat_h, d))),
             (0, box((0, seat_y + seat_h / 2 + back_h / 2, -d / 2 + 0.05),
                     (w, back_h, 0.08)))]
    parts += _legs(rng, w, d, seat_y - seat_h / 2, leg_h, 0.045, 2)
    if rng.uniform() < 0.5:  # arm rests
        for sx in (-1, 1):
            parts.append((3, box((sx * w / 2, seat_y + 0.3, 0),
                                 (0.07, 0.06, d * 0.8))))
    return parts


def _mug(rng):
    r, h = _u(rng, 0.45, 0.6), _u(rng, 1.0, 1.4)
    return [(0, cylinder((0, 0, 0), r, h, caps=(True, False))),
            (1, torus((r + 0.2, 0, 0), _u(rng, 0.22, 0.3), 0.05,
                      plane='xy'))]


def _lamp(rng):
    pole_h = _u(rng, 1.2, 1.6)
    base_y = -pole_h / 2
    shade_h = _u(rng, 0.4, 0.6)
    return [(0, cylinder((0, base_y, 0), _u(rng, 0.35, 0.5), 0.08)),
            (3, cylinder((0, 0, 0), 0.04, pole_h, caps=(False, False))),
            (1, cone((0, pole_h / 2 + shade_h / 2 - 0.1, 0),
                     _u(rng, 0.4, 0.6), shade_h)),
            (2, sphere((0, pole_h / 2 - 0.05, 0), 0.1))]


def _airplane(rng):
    length, radius = _u(rng, 2.2, 2.8), _u(rng, 0.14, 0.2)
    span = _u(rng, 2.0, 2.6)
    body = cylinder((0, 0, 0), radius, length)  # along y, rotated below
    parts = [(0, body),
             (1, box((0, 0.1, 0), (span, _u(rng, 0.35, 0.5), 0.05))),
             (2, box((0, -length / 2 + 0.15, 0), (0.8, 0.25, 0.04))),
             (2, box((0, -length / 2 + 0.15, 0.2), (0.04, 0.25, 0.4)))]
    for sx in (-1, 1):
        parts.append((3, cylinder((sx * span * 0.25, 0.15, -0.15), 0.09,
                                  0.4)))
    return parts


_BUILDERS: Dict[str, Callable] = {
    'sphere': _sphere,
    'box': _box,
    'cylinder': _cylinder,
    'cone': _cone,
    'torus': _torus,
    'table': _table,
    'chair': _chair,
    'mug': _mug,
    'lamp': _lamp,
    'airplane': _airplane,
}

#: the demo's shape classes, in label order
DEMO_CLASSES: Tuple[str, ...] = tuple(_BUILDERS)

#: demo shapes written in the ShapeNetPart format: (official category name,
#: official synset, official global part ids indexed by the local part index)
PART_CATEGORIES: Dict[str, Tuple[str, str, List[int]]] = {
    'airplane': ('Airplane', '02691156', [0, 1, 2, 3]),  # body wing tail eng.
    'chair': ('Chair', '03001627', [12, 13, 14, 15]),  # back seat leg arm
    'lamp': ('Lamp', '03636649', [24, 25, 26, 27]),  # base shade bulb tube
    'mug': ('Mug', '03797390', [36, 37]),  # body handle
    'table': ('Table', '04379232', [47, 48]),  # top legs
}


def _airplane_axes(points, normals):
    """Turn the airplane so its fuselage lies along z (y stays up)."""
    rot = np.array([[1., 0, 0], [0, 0, -1], [0, 1, 0]])
    return points @ rot.T, normals @ rot.T


def sample_shape(name: str, num_points: int,
                 rng: np.random.Generator, noise: float = 0.005):
    """Sample one random instance of a demo class.

    Args:
        name (str): one of :data:`DEMO_CLASSES`.
        num_points (int): points to sample on its surface.
        rng (np.random.Generator): the source of randomness.
        noise (float): std of Gaussian noise added to the points.

    Returns:
        tuple: points (num_points, 3) float32 (y-up, centred, anisotropically
        scaled by U[0.85, 1.15] per axis, max radius about 1), normals
        (num_points, 3) float32 (unit, outward) and part labels
        (num_points,) int64 (local part indices of the shape).
    """
    if name not in _BUILDERS:
        raise KeyError(f'unknown demo shape {name!r}; expected one of '
                       f'{DEMO_CLASSES}')
    parts = _BUILDERS[name](rng)
    areas = np.array([prim[0] for _, prim in parts])
    counts = rng.multinomial(num_points, areas / areas.sum())
    pts, nrms, labels = [], [], []
    for (label, (_, sample)), count in zip(parts, counts):
        if count:
            p, n = sample(count, rng)
            pts.append(p)
            nrms.append(n)
            labels.append(np.full(count, label))
    points = np.concatenate(pts)
    normals = np.concatenate(nrms)
    labels = np.concatenate(labels)
    if name == 'airplane':
        points, normals = _airplane_axes(points, normals)
    scale = rng.uniform(0.85, 1.15, 3)
    points = points * scale
    normals = _unit(normals / scale)
    points = points - points.mean(0)
    points /= np.linalg.norm(points, axis=1).max()
    points = points + rng.normal(scale=noise, size=points.shape)
    order = rng.permutation(num_points)
    return (points[order].astype(np.float32),
            normals[order].astype(np.float32), labels[order].astype(np.int64))


def rotation_about_y(angle: float) -> np.ndarray:
    """3x3 matrix rotating row vectors about the up (y) axis."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
