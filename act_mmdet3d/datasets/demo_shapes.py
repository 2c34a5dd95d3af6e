"""Procedural shapes for the demo datasets
(``tools/dataset_converters/create_demo_data.py``).

Every shape is a union of analytic surface patches (boxes, ellipsoids,
cylinders, frustums, discs, torus arcs) sampled uniformly by area, so each
point comes with an outward unit normal and the index of the part it was
sampled from. Each call draws new shape parameters (proportions, part sizes,
leg styles, sweep angles, ...), then applies a mild anisotropic scale, a
rotation and, optionally, normalisation and Gaussian noise.

The canonical frame is **y-up** (as ShapeNet, ScanObjectNN and the
reference's rotation augmentation about y). This module only needs numpy;
it does not import torch or mmdet3d.

Public API::

    DEMO_CLASSES     the 10 classification classes, in label order
    SHAPES           every generator: DEMO_CLASSES + ('cap', 'laptop')
    PART_NAMES       shape -> part names (local part id = index)
    PART_CATEGORIES  shape -> (official ShapeNetPart category, synset,
                     official global part ids indexed by local part id)
    sample_shape(name, num_points, rng, ...) -> (points, normals, parts)
    random_rotation(rng, mode), rotation_about_y(angle) -> (3, 3) matrices
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'DEMO_CLASSES', 'SHAPES', 'PART_NAMES', 'PART_CATEGORIES',
    'ROTATION_MODES', 'sample_shape', 'random_rotation', 'rotation_about_y'
]

#: The classification classes, in label order (the demo's
#: ``modelnet40_shape_names.txt`` lists them in this order).
DEMO_CLASSES: Tuple[str, ...] = ('sphere', 'box', 'cylinder', 'cone',
                                 'torus', 'table', 'chair', 'mug', 'lamp',
                                 'airplane')

#: Every generator: the classes plus two used only for part segmentation
#: and pretraining.
SHAPES: Tuple[str, ...] = DEMO_CLASSES + ('cap', 'laptop')

#: Part names per shape; the local part id is the index in the tuple.
PART_NAMES: Dict[str, Tuple[str, ...]] = {
    'airplane': ('body', 'wing', 'tail', 'engine'),
    'box': ('surface', ),
    'cap': ('crown', 'peak'),
    'chair': ('back', 'seat', 'leg', 'arm'),
    'cone': ('side', 'base'),
    'cylinder': ('side', 'cap'),
    'lamp': ('base', 'shade', 'bulb', 'tube'),
    'laptop': ('keyboard', 'screen'),
    'mug': ('body', 'handle'),
    'sphere': ('surface', ),
    'table': ('top', 'leg', 'support'),
    'torus': ('surface', ),
}

#: Demo shapes written in the ShapeNetPart format: official category name,
#: official synset and the official global part ids (of the 16-category /
#: 50-part table) indexed by the local part id. Which official part id a
#: demo part gets is the demo's choice within the category's range.
PART_CATEGORIES: Dict[str, Tuple[str, str, Tuple[int, ...]]] = {
    'airplane': ('Airplane', '02691156', (0, 1, 2, 3)),
    'cap': ('Cap', '02954340', (6, 7)),
    'chair': ('Chair', '03001627', (12, 13, 14, 15)),
    'lamp': ('Lamp', '03636649', (24, 25, 26, 27)),
    'laptop': ('Laptop', '03642806', (28, 29)),
    'mug': ('Mug', '03797390', (36, 37)),
    'table': ('Table', '04379243', (47, 48, 49)),
}

ROTATION_MODES = ('none', 'up', 'so3')

_Sampler = Callable[[int, np.random.Generator], Tuple[np.ndarray,
                                                      np.ndarray]]


# --------------------------------------------------------------------------
# rotations
# --------------------------------------------------------------------------
def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float64)


def _rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float64)


def _rot_from_y(direction: Sequence[float]) -> np.ndarray:
    """A rotation taking the +y axis to ``direction``."""
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    y = np.array([0.0, 1.0, 0.0])
    v = np.cross(y, d)
    s, c = np.linalg.norm(v), float(np.dot(y, d))
    if s < 1e-12:
        return np.eye(3) if c > 0 else _rot_x(np.pi)
    k = v / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * kx @ kx


def rotation_about_y(angle: float) -> np.ndarray:
    """(3, 3) rotation about the up (y) axis, for column vectors
    (``points @ R.T``)."""
    return _rot_y(angle)


def random_rotation(rng: np.random.Generator, mode: str = 'up') -> np.ndarray:
    """A random rotation: 'none' (identity), 'up' (uniform angle about the
    y axis) or 'so3' (uniform over all rotations)."""
    if mode == 'none':
        return np.eye(3)
    if mode == 'up':
        return _rot_y(rng.uniform(0, 2 * np.pi))
    if mode == 'so3':
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        w, x, y, z = q
        return np.array(
            [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w),
              2 * (x * z + y * w)],
             [2 * (x * y + z * w), 1 - 2 * (x * x + z * z),
              2 * (y * z - x * w)],
             [2 * (x * z - y * w), 2 * (y * z + x * w),
              1 - 2 * (x * x + y * y)]],
            dtype=np.float64)
    raise ValueError(f'unknown rotation mode {mode!r}; expected one of '
                     f'{ROTATION_MODES}')


# --------------------------------------------------------------------------
# surface patches: (area, sampler) with samplers returning points, normals
# --------------------------------------------------------------------------
class _Patch:
    """A surface patch with its area and an area-uniform sampler."""

    def __init__(self, area: float, sampler: _Sampler) -> None:
        self.area = float(area)
        self._sampler = sampler

    def sample(self, n: int, rng: np.random.Generator):
        return self._sampler(n, rng)

    def moved(self,
              rot: Optional[np.ndarray] = None,
              offset: Sequence[float] = (0.0, 0.0, 0.0),
              pivot: Sequence[float] = (0.0, 0.0, 0.0)) -> '_Patch':
        """The patch rotated by ``rot`` about ``pivot``, then shifted."""
        inner = self._sampler
        rot = np.eye(3) if rot is None else np.asarray(rot, np.float64)
        pivot = np.asarray(pivot, np.float64)
        offset = np.asarray(offset, np.float64)

        def sampler(n, rng):
            p, nrm = inner(n, rng)
            return (p - pivot) @ rot.T + pivot + offset, nrm @ rot.T

        return _Patch(self.area, sampler)


def _box(size: Sequence[float],
         center: Sequence[float] = (0.0, 0.0, 0.0)) -> _Patch:
    """The six faces of an axis-aligned box of edge lengths ``size``."""
    half = np.asarray(size, np.float64) / 2
    center = np.asarray(center, np.float64)
    face_area = 4 * np.array([half[1] * half[2], half[0] * half[2],
                              half[0] * half[1]])
    probs = np.repeat(face_area, 2)
    probs = probs / probs.sum()

    def sampler(n, rng):
        face = rng.choice(6, size=n, p=probs)
        axis, sign = face // 2, np.where(face % 2 == 0, 1.0, -1.0)
        p = rng.uniform(-1, 1, size=(n, 3)) * half
        rows = np.arange(n)
        p[rows, axis] = sign * half[axis]
        nrm = np.zeros((n, 3))
        nrm[rows, axis] = sign
        return p + center, nrm

    return _Patch(2 * face_area.sum(), sampler)


def _fibonacci_sphere(n: int = 2000) -> np.ndarray:
    i = np.arange(n) + 0.5
    y = 1 - 2 * i / n
    r = np.sqrt(1 - y * y)
    phi = np.pi * (3 - np.sqrt(5)) * i
    return np.stack([r * np.cos(phi), y, r * np.sin(phi)], axis=1)


_SPHERE_QUAD = _fibonacci_sphere()


def _ellipsoid(radii: Sequence[float],
               center: Sequence[float] = (0.0, 0.0, 0.0),
               y_min: float = -1.0) -> _Patch:
    """An ellipsoid surface (optionally only the part whose unit-sphere
    preimage has y >= ``y_min``), sampled uniformly by area."""
    radii = np.asarray(radii, np.float64)
    center = np.asarray(center, np.float64)
    det = np.prod(radii)

    def weight(u):  # area element of the map u -> radii * u
        return det * np.linalg.norm(u / radii, axis=1)

    quad = _SPHERE_QUAD
    area = 4 * np.pi * np.mean(weight(quad) * (quad[:, 1] >= y_min))
    w_max = det / radii.min()

    def sampler(n, rng):
        out = []
        got = 0
        while got < n:
            u = rng.normal(size=(2 * (n - got) + 16, 3))
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            u = u[u[:, 1] >= y_min]
            keep = rng.uniform(0, w_max, size=len(u)) < weight(u)
            out.append(u[keep])
            got += int(keep.sum())
        u = np.concatenate(out)[:n]
        nrm = u / radii
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        return u * radii + center, nrm

    return _Patch(area, sampler)


def _frustum(r0: float, r1: float, height: float, inward: bool = False,
             theta: Tuple[float, float] = (0.0, 2 * np.pi)) -> _Patch:
    """The side of a (truncated) cone about the y axis from y=0 (radius
    ``r0``) to y=height (radius ``r1``); r0 == r1 is a cylinder."""
    slant = np.hypot(height, r0 - r1)
    area = 0.5 * (theta[1] - theta[0]) * (r0 + r1) * slant
    ny = (r0 - r1) / height

    def sampler(n, rng):
        t = rng.uniform(0, 1, size=n)
        if abs(r1 - r0) > 1e-9:  # density proportional to the radius
            t = (np.sqrt(r0 * r0 + t * (r1 * r1 - r0 * r0)) - r0) / (r1 - r0)
        ang = rng.uniform(theta[0], theta[1], size=n)
        rad = r0 + (r1 - r0) * t
        c, s = np.cos(ang), np.sin(ang)
        p = np.stack([rad * c, t * height, rad * s], axis=1)
        nrm = np.stack([c, np.full(n, ny), s], axis=1)
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        return p, (-nrm if inward else nrm)

    return _Patch(area, sampler)


def _disk(r_out: float, y: float = 0.0, up: bool = True, r_in: float = 0.0,
          theta: Tuple[float, float] = (0.0, 2 * np.pi)) -> _Patch:
    """A horizontal disc / annulus (sector) at height ``y``."""
    area = 0.5 * (theta[1] - theta[0]) * (r_out**2 - r_in**2)

    def sampler(n, rng):
        rad = np.sqrt(rng.uniform(r_in**2, r_out**2, size=n))
        ang = rng.uniform(theta[0], theta[1], size=n)
        p = np.stack([rad * np.cos(ang), np.full(n, y), rad * np.sin(ang)], 1)
        nrm = np.zeros((n, 3))
        nrm[:, 1] = 1.0 if up else -1.0
        return p, nrm

    return _Patch(area, sampler)


def _cylinder(radius: float, height: float, caps: bool = True,
              r_top: Optional[float] = None) -> List[_Patch]:
    """A closed cylinder / frustum about y from y=0 to y=height."""
    r_top = radius if r_top is None else r_top
    patches = [_frustum(radius, r_top, height)]
    if caps:
        patches.append(_disk(radius, 0.0, up=False))
        if r_top > 1e-6:
            patches.append(_disk(r_top, height, up=True))
    return patches


def _rod(p0: Sequence[float], p1: Sequence[float], radius: float,
         caps: bool = True) -> List[_Patch]:
    """A closed cylinder between two points."""
    p0, p1 = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    axis = p1 - p0
    rot = _rot_from_y(axis)
    return [
        p.moved(rot, offset=p0)
        for p in _cylinder(radius, float(np.linalg.norm(axis)), caps)
    ]


def _torus(major: float, minor: float,
           theta: Tuple[float, float] = (0.0, 2 * np.pi)) -> _Patch:
    """A torus (arc) about the y axis, ring in the x-z plane."""
    area = (theta[1] - theta[0]) * 2 * np.pi * minor * major

    def sampler(n, rng):
        out, got = [], 0
        while got < n:
            m = 2 * (n - got) + 16
            phi = rng.uniform(0, 2 * np.pi, size=m)
            keep = rng.uniform(0, major + minor, size=m) < (
                major + minor * np.cos(phi))
            out.append(phi[keep])
            got += int(keep.sum())
        phi = np.concatenate(out)[:n]
        ang = rng.uniform(theta[0], theta[1], size=n)
        ring = major + minor * np.cos(phi)
        p = np.stack([ring * np.cos(ang), minor * np.sin(phi),
                      ring * np.sin(ang)], 1)
        nrm = np.stack([np.cos(phi) * np.cos(ang), np.sin(phi),
                        np.cos(phi) * np.sin(ang)], 1)
        return p, nrm

    return _Patch(area, sampler)


# --------------------------------------------------------------------------
# shapes: each returns a list of (local part id, patch)
# --------------------------------------------------------------------------
_Parts = List[Tuple[int, _Patch]]


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def _make_sphere(rng) -> _Parts:
    radii = [_u(rng, 0.9, 1.1) for _ in range(3)]
    return [(0, _ellipsoid(radii))]


def _make_box(rng) -> _Parts:
    return [(0, _box([_u(rng, 0.5, 2.0) for _ in range(3)]))]


def _make_cylinder(rng) -> _Parts:
    r, h = _u(rng, 0.3, 0.6), _u(rng, 0.8, 2.2)
    side, bottom, top = _cylinder(r, h)
    return [(0, side), (1, bottom), (1, top)]


def _make_cone(rng) -> _Parts:
    r0, h = _u(rng, 0.4, 0.8), _u(rng, 0.9, 1.9)
    r1 = _u(rng, 0.0, 0.12) * r0
    parts = [(0, _frustum(r0, r1, h)), (1, _disk(r0, 0.0, up=False))]
    if r1 > 1e-3:
        parts.append((0, _disk(r1, h, up=True)))
    return parts


def _make_torus(rng) -> _Parts:
    return [(0, _torus(_u(rng, 0.6, 0.9), _u(rng, 0.14, 0.32)))]


def _make_table(rng) -> _Parts:
    height, thick = _u(rng, 0.6, 1.0), _u(rng, 0.03, 0.07)
    parts: _Parts = []
    if rng.uniform() < 0.7:  # rectangular top, four legs
        w, d = _u(rng, 1.1, 2.0), _u(rng, 0.6, 1.1)
        parts.append((0, _box([w, thick, d], [0, height - thick / 2, 0])))
        leg = _u(rng, 0.04, 0.09)
        inset = _u(rng, 0.02, 0.12)
        lx, lz = w / 2 - inset - leg / 2, d / 2 - inset - leg / 2
        leg_h = height - thick
        round_legs = rng.uniform() < 0.4
        for sx in (-1, 1):
            for sz in (-1, 1):
                if round_legs:
                    for p in _rod([sx * lx, 0, sz * lz],
                                  [sx * lx, leg_h, sz * lz], leg / 2):
                        parts.append((1, p))
                else:
                    parts.append((1, _box([leg, leg_h, leg],
                                          [sx * lx, leg_h / 2, sz * lz])))
        y_s = _u(rng, 0.1, 0.35) * height
        if rng.uniform() < 0.5:  # stretchers between the legs
            bar = leg * 0.6
            parts.append((2, _box([2 * lx, bar, bar], [0, y_s, -lz])))
            parts.append((2, _box([2 * lx, bar, bar], [0, y_s, lz])))
            parts.append((2, _box([bar, bar, 2 * lz], [-lx, y_s, 0])))
            parts.append((2, _box([bar, bar, 2 * lz], [lx, y_s, 0])))
        else:  # a lower shelf
            parts.append((2, _box([2 * lx, thick * 0.7, 2 * lz],
                                  [0, y_s, 0])))
    else:  # round top on a pedestal
        r = _u(rng, 0.45, 0.75)
        for p in _cylinder(r, thick):
            parts.append((0, p.moved(offset=[0, height - thick, 0])))
        foot_h = _u(rng, 0.03, 0.06)
        for p in _rod([0, foot_h, 0], [0, height - thick, 0],
                      _u(rng, 0.04, 0.08), caps=False):
            parts.append((1, p))
        if rng.uniform() < 0.5:  # disc foot
            for p in _cylinder(_u(rng, 0.25, 0.4), foot_h):
                parts.append((2, p))
        else:  # cross feet
            span = _u(rng, 0.5, 0.8)
            parts.append((2, _box([span, foot_h, 0.06], [0, foot_h / 2, 0])))
            parts.append((2, _box([0.06, foot_h, span], [0, foot_h / 2, 0])))
    return parts


def _make_chair(rng) -> _Parts:
    w, d = _u(rng, 0.42, 0.6), _u(rng, 0.4, 0.55)
    thick, seat_y = _u(rng, 0.04, 0.08), _u(rng, 0.4, 0.5)
    parts: _Parts = [(1, _box([w, thick, d], [0, seat_y - thick / 2, 0]))]
    # back, tilted backwards about its bottom edge
    bw, bh, bt = w * _u(rng, 0.85, 1.0), _u(rng, 0.35, 0.65), _u(
        rng, 0.03, 0.06)
    back = _box([bw, bh, bt], [0, seat_y + bh / 2, -d / 2 + bt / 2])
    tilt = _rot_x(-np.deg2rad(_u(rng, 0, 15)))
    parts.append((0, back.moved(tilt, pivot=[0, seat_y, -d / 2])))
    # legs
    leg_h = seat_y - thick
    inset = _u(rng, 0.0, 0.05)
    round_legs = rng.uniform() < 0.5
    lt = _u(rng, 0.03, 0.05)
    for sx in (-1, 1):
        for sz in (-1, 1):
            x, z = sx * (w / 2 - inset - lt / 2), sz * (d / 2 - inset - lt / 2)
            if round_legs:
                parts += [(2, p) for p in _rod([x, 0, z], [x, leg_h, z],
                                               lt / 2)]
            else:
                parts.append((2, _box([lt, leg_h, lt], [x, leg_h / 2, z])))
    # arms
    arm_h = _u(rng, 0.15, 0.25)
    length = d * _u(rng, 0.7, 0.95)
    solid = rng.uniform() < 0.3
    for sx in (-1, 1):
        x = sx * (w / 2 - 0.025)
        zc = -d / 2 + length / 2
        if solid:
            parts.append((3, _box([0.03, arm_h, length],
                                  [x, seat_y + arm_h / 2, zc])))
        else:
            parts.append((3, _box([0.05, 0.035, length],
                                  [x, seat_y + arm_h, zc])))
            parts.append((3, _box([0.03, arm_h, 0.03],
                                  [x, seat_y + arm_h / 2,
                                   -d / 2 + length - 0.02])))
    return parts


def _make_mug(rng) -> _Parts:
    radius, height = _u(rng, 0.3, 0.45), _u(rng, 0.6, 1.1)
    wall = _u(rng, 0.025, 0.05)
    inner = radius - wall
    body = [
        _frustum(radius, radius, height),
        _frustum(inner, inner, height - wall, inward=True).moved(
            offset=[0, wall, 0]),
        _disk(radius, height, up=True, r_in=inner),
        _disk(radius, 0.0, up=False),
        _disk(inner, wall, up=True),
    ]
    # handle: a torus arc in the x-y plane, meeting the body at x ~ radius
    major = _u(rng, 0.16, 0.28) * height
    k = _u(rng, 0.2, 0.5)
    beta = np.arccos(-k)
    handle = _torus(major, _u(rng, 0.03, 0.055), theta=(-beta, beta))
    handle = handle.moved(_rot_x(np.pi / 2),
                          offset=[radius + k * major,
                                  _u(rng, 0.45, 0.6) * height, 0])
    return [(0, p) for p in body] + [(1, handle)]


def _make_airplane(rng) -> _Parts:
    length, rf = _u(rng, 1.6, 2.2), _u(rng, 0.1, 0.17)
    parts: _Parts = [(0, _ellipsoid([length / 2, rf, rf]))]
    span, chord = _u(rng, 0.7, 1.1), _u(rng, 0.22, 0.4)
    xw, yw = _u(rng, -0.1, 0.15), _u(rng, -0.5, 0.3) * rf
    sweep = np.deg2rad(_u(rng, 0, 35))
    dihedral = np.deg2rad(_u(rng, -5, 8))
    wing = _box([chord, 0.03, span], [0, 0, span / 2])
    for sz in (-1, 1):
        rot = _rot_y(-sz * sweep) @ _rot_x(-sz * dihedral)
        w = wing if sz > 0 else wing.moved(_rot_y(np.pi))
        parts.append((1, w.moved(rot, offset=[xw, yw, sz * rf * 0.5])))
    # tail: horizontal stabiliser + vertical fin
    xt = -length / 2 * 0.82
    st, ct = _u(rng, 0.22, 0.38), _u(rng, 0.12, 0.2)
    parts.append((2, _box([ct, 0.02, 2 * st + 2 * rf * 0.5], [xt, 0, 0])))
    fh, fc = _u(rng, 0.2, 0.35), _u(rng, 0.15, 0.25)
    fin = _box([fc, fh, 0.02], [xt, rf * 0.5 + fh / 2, 0])
    parts.append((2, fin.moved(_rot_z(np.deg2rad(_u(rng, 0, 25))),
                               pivot=[xt, rf * 0.5, 0])))
    # engines under the wings
    r_e, l_e = _u(rng, 0.05, 0.08), _u(rng, 0.25, 0.4)
    stations = [0.35] if rng.uniform() < 0.7 else [0.3, 0.65]
    for frac in stations:
        zs = rf * 0.5 + frac * span
        dx = -np.tan(sweep) * frac * span
        for sz in (-1, 1):
            c = np.array([xw + dx + l_e * 0.3, yw - r_e - 0.03, sz * zs])
            parts += [(3, p) for p in _rod(c + [l_e / 2, 0, 0],
                                           c - [l_e / 2, 0, 0], r_e)]
    return parts


def _make_lamp(rng) -> _Parts:
    parts: _Parts = []
    base_h = _u(rng, 0.03, 0.08)
    if rng.uniform() < 0.7:
        parts += [(0, p) for p in _cylinder(_u(rng, 0.2, 0.35), base_h)]
    else:
        s = _u(rng, 0.35, 0.6)
        parts.append((0, _box([s, base_h, s * _u(rng, 0.7, 1.0)],
                              [0, base_h / 2, 0])))
    top_y = _u(rng, 0.9, 1.5)
    tube_r = _u(rng, 0.015, 0.03)
    if rng.uniform() < 0.4:  # bent arm
        knee_y = top_y * _u(rng, 0.5, 0.75)
        ang = np.deg2rad(_u(rng, 20, 50))
        seg = (top_y - knee_y) / np.cos(ang)
        tip = np.array([np.sin(ang) * seg, top_y, 0])
        parts += [(3, p) for p in _rod([0, base_h, 0], [0, knee_y, 0],
                                       tube_r)]
        parts += [(3, p) for p in _rod([0, knee_y, 0], tip, tube_r)]
    else:
        tip = np.array([0, top_y, 0])
        parts += [(3, p) for p in _rod([0, base_h, 0], tip, tube_r)]
    # shade: open frustum hanging from the tube tip, bulb inside
    r0, r1, hs = _u(rng, 0.25, 0.42), _u(rng, 0.08, 0.2), _u(rng, 0.2, 0.4)
    parts.append((1, _frustum(r0, r1, hs).moved(
        offset=tip + [0, -hs, 0])))
    bulb = _u(rng, 0.05, 0.08)
    parts.append((2, _ellipsoid([bulb] * 3, center=tip + [0, -hs * 0.55,
                                                          0])))
    return parts


def _make_cap(rng) -> _Parts:
    rx, ry = _u(rng, 0.45, 0.55), _u(rng, 0.3, 0.42)
    rz = rx * _u(rng, 0.95, 1.08)
    parts: _Parts = [(0, _ellipsoid([rx, ry, rz], y_min=0.0))]
    reach, half = _u(rng, 0.25, 0.42), np.deg2rad(_u(rng, 45, 70))
    tilt = _rot_z(-np.deg2rad(_u(rng, 0, 15)))
    for up, y in ((True, 0.008), (False, -0.008)):
        visor = _disk(rx + reach, y, up=up, r_in=rx * 0.97,
                      theta=(-half, half))
        parts.append((1, visor.moved(tilt, pivot=[rx, 0, 0])))
    return parts


def _make_laptop(rng) -> _Parts:
    w, d, t = _u(rng, 0.6, 0.85), _u(rng, 0.4, 0.6), _u(rng, 0.018, 0.035)
    parts: _Parts = [(0, _box([w, t, d], [0, t / 2, 0]))]
    hs, ts = d * _u(rng, 0.9, 1.05), _u(rng, 0.01, 0.02)
    screen = _box([w, hs, ts], [0, hs / 2, ts / 2])
    opening = np.deg2rad(_u(rng, 95, 135))  # angle between base and screen
    rot = _rot_x(-(opening - np.pi / 2))
    parts.append((1, screen.moved(rot, offset=[0, t, -d / 2])))
    return parts


_MAKERS = {
    'airplane': _make_airplane,
    'box': _make_box,
    'cap': _make_cap,
    'chair': _make_chair,
    'cone': _make_cone,
    'cylinder': _make_cylinder,
    'lamp': _make_lamp,
    'laptop': _make_laptop,
    'mug': _make_mug,
    'sphere': _make_sphere,
    'table': _make_table,
    'torus': _make_torus,
}


def _allocate(areas: np.ndarray, n: int, min_each: int) -> np.ndarray:
    """Point counts proportional to ``areas``, each >= ``min_each``,
    summing to ``n`` (largest remainder)."""
    k = len(areas)
    min_each = min(min_each, n // k)
    free = n - min_each * k
    share = free * areas / areas.sum()
    counts = np.floor(share).astype(np.int64)
    rest = free - counts.sum()
    if rest:
        counts[np.argsort(-(share - counts), kind='stable')[:rest]] += 1
    return counts + min_each


def sample_shape(name: str,
                 num_points: int,
                 rng: np.random.Generator,
                 noise: float = 0.0,
                 rotation: str = 'up',
                 scale_range: Tuple[float, float] = (0.8, 1.25),
                 normalize: bool = True
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample one random instance of shape ``name``.

    Args:
        name: one of ``SHAPES``.
        num_points: number of surface points.
        rng: a ``numpy.random.Generator`` (all randomness comes from it).
        noise: std of isotropic Gaussian noise added to the points
            (after normalisation); normals are not perturbed.
        rotation: 'up' (random angle about y, default), 'so3' (uniform
            random rotation) or 'none' (canonical pose, y up).
        scale_range: per-axis random scale (anisotropic), applied in the
            canonical frame before the rotation.
        normalize: centre on the bounding-box centre and scale to a
            maximum radius of 1 (before the noise).

    Returns:
        points (N, 3) float32, unit normals (N, 3) float32 (outward), part
        labels (N,) int64 in ``range(len(PART_NAMES[name]))``. Points are
        in random order; every part of the shape gets points.
    """
    if name not in _MAKERS:
        raise ValueError(f'unknown shape {name!r}; expected one of {SHAPES}')
    if int(num_points) != num_points or num_points < 1:
        raise ValueError(f'num_points must be a positive int, got '
                         f'{num_points!r}')
    num_points = int(num_points)
    parts = _MAKERS[name](rng)
    areas = np.array([p.area for _, p in parts])
    counts = _allocate(areas, num_points, max(1, num_points // 250))
    pts, nrms, labels = [], [], []
    for (part, patch), c in zip(parts, counts):
        if c == 0:
            continue
        p, nrm = patch.sample(int(c), rng)
        pts.append(p)
        nrms.append(nrm)
        labels.append(np.full(int(c), part, dtype=np.int64))
    pts, nrms = np.concatenate(pts), np.concatenate(nrms)
    labels = np.concatenate(labels)

    scale = rng.uniform(scale_range[0], scale_range[1], size=3)
    rot = random_rotation(rng, rotation)
    pts = (pts * scale) @ rot.T
    nrms = (nrms / scale) @ rot.T
    nrms /= np.linalg.norm(nrms, axis=1, keepdims=True)
    if normalize:
        pts -= (pts.max(0) + pts.min(0)) / 2
        pts /= np.linalg.norm(pts, axis=1).max()
    if noise > 0:
        pts += rng.normal(0, noise, size=pts.shape)
    order = rng.permutation(num_points)
    return (pts[order].astype(np.float32), nrms[order].astype(np.float32),
            labels[order])
