"""Real shapes for the demo: Sweet Home 3D's furniture catalogue converted to
the official ShapeNet-55 and ModelNet40 layouts.

The Debian package ``sweethome3d-furniture`` (1.8-1, fetched by
``tools/dataset_converters/fetch_sweethome3d.sh``) ships 820 hand-made
furniture and household models in five ``*.sh3f`` catalogues (ZIP files:
OBJ + MTL + textures and a Java ``PluginFurnitureCatalog.properties`` with
``name#N``, ``category#N``, ``model#N``, ``creator#N``). Licences (the
package's ``copyright`` file): BlendSwap-CC-0 CC0-1.0; BlendSwap-CC-BY and
Scopia CC-BY-3.0; KatorLegaz and Reallusion CC-BY-3.0-US. The converter
writes every model's creator next to the data (``CREDITS.tsv``), as CC-BY
asks.

Labels come from the catalogue's own metadata: the object class is the
first rule of :data:`CLASS_RULES` whose pattern matches the model's
``name#N`` (the catalogue's ``category#N`` names rooms, not objects;
``Characters`` is taken as ``person``). Models that match no class are
unlabelled: they join the pretraining set only.

Outputs, under ``--out`` (default ``data/real``):

- ``ShapeNet55-34/shapenet_pc/<synset>-<model_id>.npy`` (8192, 3) float32
  surface samples, and ``ShapeNet-55/{train,test}.txt``: every model except
  the classification test split (train) and that split (test), so
  pretraining never sees a held-out shape (``split='train'``);
- ``ModelNet/modelnet40_normal_resampled/``: ``modelnet40_shape_names.txt``,
  ``modelnet40_{train,test}.txt``, ``<class>/<class>_<NNNN>.txt`` (10,000
  rows ``x,y,z,nx,ny,nz``) and the FPS caches
  ``modelnet40_{train,test}_8192pts_fps.dat``;
- ``shapenet_synset_dict.json``, ``CREDITS.tsv`` and ``summary.json``.

Everything is a function of the catalogue files and ``--seed``: the split
(per class, by a stable hash of the model path, ``--test-ratio`` of each
class held out), the model ids, the surface samples and the FPS starts.

Example::

    bash tools/dataset_converters/fetch_sweethome3d.sh data/sweethome3d
    python tools/dataset_converters/sweethome3d.py \
        data/sweethome3d/usr/share/sweethome3d/furniture --out data/real
"""
import argparse
import hashlib
import io
import json
import os
import os.path as osp
import pickle
import re
import shutil
import time
import zipfile
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.utils import ProgressBar

from act_mmdet3d.ops import furthest_point_sample

#: object class <- first matching pattern of the catalogue name (lower case)
CLASS_RULES = (
    ('person', r'\bmale|female|girl|boy|\bman\b|woman|child|baby|person'),
    ('chair', r'chair|stool|\bseat'),
    ('sofa', r'sofa|couch|settee'),
    ('bed', r'\bbed\b|bunk|crib|cradle'),
    ('table', r'table|desk'),
    ('lamp', r'lamp|light|chandelier|sconce|lantern'),
    ('cabinet', r'cabinet|wardrobe|dresser|drawer|cupboard|sideboard|'
     r'chest|commode|buffet'),
    ('shelf', r'shel|bookcase|book case'),
    ('plant', r'plant|tree|flower|bush|hedge|ficus|palm|tulip|cactus|'
     r'bonsai|yucca|orchid|bamboo'),
    ('vehicle', r'\bcar\b|truck|scooter|bike|bicycle|motorcycle|\bbus\b|'
     r'\bvan\b|boat|tractor'),
)
#: the catalogue category that names an object class by itself
CATEGORY_CLASSES = {'Characters': 'person'}
SHAPENET_POINTS = 8192
MODELNET_POINTS = 10000
MODELNET_FPS = 8192
#: 8-digit pseudo synsets of the classes (not ShapeNet's); 99999999 is the
#: synset of the unlabelled models
SYNSET_BASE = 90000000
UNLABELLED = 'unlabelled'


class CatalogueError(ValueError):
    """A catalogue or mesh file that cannot be read (names the file)."""


# ----------------------------------------------------------- catalogue
def parse_properties(text: str) -> Dict[str, str]:
    """A Java ``.properties`` text -> dict (``key=value`` / ``key: value``,
    ``#`` / ``!`` comments, backslash line continuations, ``\\uXXXX`` and
    ``\\t`` ``\\n`` escapes)."""
    out, lines, i = {}, text.splitlines(), 0
    while i < len(lines):
        line = lines[i].lstrip()
        i += 1
        if not line or line[0] in '#!':
            continue
        while line.endswith('\\') and not line.endswith('\\\\') \
                and i < len(lines):
            line = line[:-1] + lines[i].lstrip()
            i += 1
        m = re.match(r'((?:[^=:\s\\]|\\.)+)\s*[=:]?\s*(.*)$', line)
        if m is None:
            continue
        key, value = (_unescape(g) for g in m.groups())
        out[key] = value
    return out


def _unescape(s: str) -> str:
    return re.sub(
        r'\\(u[0-9a-fA-F]{4}|.)',
        lambda m: (chr(int(m[1][1:], 16)) if m[1][0] == 'u' and
                   len(m[1]) == 5 else {'t': '\t', 'n': '\n', 'r': '\r',
                                        'f': '\f'}.get(m[1], m[1])), s)


def classify(name: str, category: str) -> Optional[str]:
    """The object class of a catalogue entry, or None."""
    if category in CATEGORY_CLASSES:
        return CATEGORY_CLASSES[category]
    lowered = name.lower()
    for label, pattern in CLASS_RULES:
        if re.search(pattern, lowered):
            return label
    return None


def read_catalogue(path: str) -> List[dict]:
    """The models of one ``.sh3f`` file: dicts with ``name``, ``category``,
    ``creator``, ``model`` (the OBJ inside the ZIP), ``label``, ``source``
    (the .sh3f) and ``key`` (``<file>:<model path>``).

    Raises:
        CatalogueError: not a ZIP, or no catalogue inside; names the file.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist()
                     if n.endswith('FurnitureCatalog.properties')]
            if not names:
                raise CatalogueError(f'{path}: no *FurnitureCatalog.'
                                     'properties inside')
            text = zf.read(names[0]).decode('latin-1')
    except zipfile.BadZipFile as e:
        raise CatalogueError(f'{path}: not a Sweet Home 3D catalogue '
                             f'(.sh3f is a ZIP file): {e}') from e
    props = parse_properties(text)
    entries = {}
    for key, value in props.items():
        m = re.match(r'^(\w+)#(\d+)$', key)
        if m:
            entries.setdefault(int(m[2]), {})[m[1]] = value
    models = []
    for index in sorted(entries):
        e = entries[index]
        if 'model' not in e:
            continue
        model = e['model'].lstrip('/')
        models.append(dict(
            name=e.get('name', ''), category=e.get('category', ''),
            creator=e.get('creator', ''), model=model,
            label=classify(e.get('name', ''), e.get('category', '')),
            source=osp.basename(path),
            key=f'{osp.basename(path)}:{model}'))
    return models


# ---------------------------------------------------------------- meshes
def parse_obj(data: bytes, where: str) -> Tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) float64 and triangles (F, 3) int64 of an OBJ text:
    every ``v`` and ``f`` line of every group (polygons fan-triangulated,
    ``v/vt/vn`` and negative indices handled); materials are ignored.

    Raises:
        CatalogueError: no vertex or face, an index out of range or a
            non-finite coordinate; names ``where``.
    """
    text = data.decode('latin-1')
    verts, faces = [], []
    for line in text.splitlines():
        if line.startswith('v '):
            verts.append(line.split()[1:4])
        elif line.startswith('f '):
            idx = [int(tok.split('/')[0]) for tok in line.split()[1:]]
            n = len(verts)
            idx = [i - 1 if i > 0 else n + i for i in idx]
            faces.extend((idx[0], idx[k], idx[k + 1])
                         for k in range(1, len(idx) - 1))
    try:
        v = np.asarray(verts, dtype=np.float64).reshape(-1, 3)
    except ValueError as e:
        raise CatalogueError(f'{where}: bad vertex line: {e}') from e
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(v) == 0 or len(f) == 0:
        raise CatalogueError(f'{where}: no vertices or faces (is it an OBJ '
                             'mesh?)')
    if f.min() < 0 or f.max() >= len(v):
        raise CatalogueError(f'{where}: a face refers to a vertex that '
                             'does not exist')
    if not np.isfinite(v).all():
        raise CatalogueError(f'{where}: non-finite vertex coordinates')
    return v, f


def sample_surface(verts: np.ndarray, faces: np.ndarray, num: int,
                   rng: np.random.Generator, where: str = 'mesh'
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """``num`` area-uniform surface points and their face normals, the
    cloud centred and scaled into the unit sphere.

    Returns:
        tuple: points (num, 3) and unit normals (num, 3), float64.
    """
    tri = verts[faces]  # (F, 3, 3)
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(cross, axis=1)
    if not area.sum() > 0:
        raise CatalogueError(f'{where}: the mesh has no surface area')
    face = rng.choice(len(faces), size=num, p=area / area.sum())
    u, v = rng.random(num), rng.random(num)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tri[face]
    points = t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + \
        v[:, None] * (t[:, 2] - t[:, 0])
    normals = cross[face] / area[face, None]
    points = points - points.mean(0)
    points /= np.linalg.norm(points, axis=1).max()
    return points, normals


def stable_hash(text: str, seed: int) -> int:
    return int(hashlib.sha1(f'{seed}:{text}'.encode()).hexdigest()[:12], 16)


def split_models(models: List[dict], classes: List[str], test_ratio: float,
                 seed: int) -> Dict[str, str]:
    """``key -> 'train' | 'test'`` for the labelled models of ``classes``:
    per class, the ``round(test_ratio * n)`` (at least 1) models with the
    smallest hash of (seed, key) are held out."""
    split = {}
    for label in classes:
        keys = sorted((m['key'] for m in models if m['label'] == label),
                      key=lambda k: stable_hash(k, seed))
        n_test = max(1, int(round(test_ratio * len(keys))))
        for i, key in enumerate(keys):
            split[key] = 'test' if i < n_test else 'train'
    return split


# ------------------------------------------------------------ conversion
def convert(sources: List[str], out: str, seed: int = 0,
            test_ratio: float = 0.2, min_per_class: int = 15,
            classes: Optional[List[str]] = None,
            log=print) -> dict:
    """Convert the catalogues ``sources`` (``.sh3f`` files) into ``out``.

    Args:
        sources: catalogue files.
        out: output folder (replaced if it holds an earlier conversion).
        seed: seed of the split, the model ids and the samples.
        test_ratio: share of every class held out for testing.
        min_per_class: classes with fewer labelled models are dropped
            (their models stay unlabelled, for pretraining).
        classes: keep only these classes (default: every class of
            :data:`CLASS_RULES` with enough models).

    Returns:
        dict: the summary also written to ``summary.json`` (nothing in it
        depends on the machine or the time, so a rerun writes the same
        bytes).

    Raises:
        CatalogueError: a catalogue or mesh that cannot be read (the
            message names the file and the model).
    """
    start = time.time()
    models = []
    for path in sorted(sources):
        models += read_catalogue(path)
    if not models:
        raise CatalogueError(f'no models in {sources}')
    counts = {}
    for m in models:
        if m['label']:
            counts[m['label']] = counts.get(m['label'], 0) + 1
    rule_order = [label for label, _ in CLASS_RULES]
    if classes is None:
        classes = [c for c in rule_order if counts.get(c, 0) >= min_per_class]
    else:
        unknown = sorted(set(classes) - set(rule_order))
        if unknown:
            raise ValueError(f'unknown classes {unknown}; known: '
                             f'{rule_order}')
    if len(classes) < 2:
        raise CatalogueError(f'fewer than 2 classes with >= {min_per_class} '
                             f'models in {sources}: {counts}')
    for m in models:
        if m['label'] not in classes:
            m['label'] = None
    split = split_models(models, classes, test_ratio, seed)
    if osp.exists(out) and not osp.isfile(osp.join(out, 'summary.json')):
        raise FileExistsError(f'{out} exists and is not an earlier '
                              'conversion (no summary.json); not '
                              'overwriting it')
    tmp = out + '.partial'
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        summary = _write(models, classes, split, sources, tmp, seed,
                         test_ratio)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with open(osp.join(tmp, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    if osp.isdir(out):  # an earlier conversion, replaced only now
        shutil.rmtree(out)
    os.replace(tmp, out)
    log(f'{summary["models"]} models -> {out}: pretraining '
        f'{summary["pretrain"]["train"]} train / '
        f'{summary["pretrain"]["test"]} test clouds; classification '
        f'{len(classes)} classes, {summary["classification"]["train"]} '
        f'train / {summary["classification"]["test"]} test shapes '
        f'({time.time() - start:.0f} s)')
    return summary


def _write(models, classes, split, sources, tmp, seed, test_ratio) -> dict:
    """Write every output of :func:`convert` into ``tmp``; the summary."""
    sn_root = osp.join(tmp, 'ShapeNet55-34')
    mn_root = osp.join(tmp, 'ModelNet', 'modelnet40_normal_resampled')
    os.makedirs(osp.join(sn_root, 'shapenet_pc'))
    os.makedirs(osp.join(sn_root, 'ShapeNet-55'))
    for label in classes:
        os.makedirs(osp.join(mn_root, label))
    synset_of = {label: f'{SYNSET_BASE + i:08d}'
                 for i, label in enumerate(classes)}
    synset_of[None] = '99999999'

    sn_lists = dict(train=[], test=[])
    mn = {s: dict(ids=[], points=[], labels=[]) for s in ('train', 'test')}
    numbers = {label: 0 for label in classes}
    credits = ['model_id\tsource\tname\tcreator\tlabel\tsplit']
    zips = {}
    bar = ProgressBar(len(models))
    order = sorted(models, key=lambda m: m['key'])
    for m in order:
        where = f'{m["source"]}:{m["model"]} ("{m["name"]}")'
        zf = zips.get(m['source'])
        if zf is None:
            path = next(p for p in sources if osp.basename(p) == m['source'])
            zf = zips[m['source']] = zipfile.ZipFile(path)
        try:
            data = zf.read(m['model'])
        except KeyError:
            raise CatalogueError(f'{where}: the catalogue names a model '
                                 'that is not in the file') from None
        verts, faces = parse_obj(data, where)
        rng = np.random.default_rng(stable_hash(m['key'], seed))
        model_id = f'{stable_hash(m["key"], seed):012x}'
        s = split.get(m['key'], 'train')
        points, _ = sample_surface(verts, faces, SHAPENET_POINTS, rng, where)
        sn_name = f'{synset_of[m["label"]]}-{model_id}.npy'
        np.save(osp.join(sn_root, 'shapenet_pc', sn_name),
                points.astype(np.float32))
        sn_lists[s].append(sn_name)
        if m['label']:
            label = m['label']
            numbers[label] += 1
            shape_id = f'{label}_{numbers[label]:04d}'
            p, n = sample_surface(verts, faces, MODELNET_POINTS, rng, where)
            rows = np.round(np.concatenate([p, n], 1), 6)
            with open(osp.join(mn_root, label, shape_id + '.txt'), 'w') as f:
                f.write('\n'.join(','.join(f'{x:.6f}' for x in r)
                                  for r in rows) + '\n')
            cloud = torch.from_numpy(rows.astype(np.float32))
            first = int(rng.integers(0, MODELNET_POINTS))
            idx = furthest_point_sample(cloud[None, :, :3].contiguous(),
                                        MODELNET_FPS, start_idx=first)[0]
            mn[s]['ids'].append(shape_id)
            mn[s]['points'].append(cloud[idx].numpy().copy())
            mn[s]['labels'].append(
                np.array([classes.index(label)]).astype(np.int32))
        credits.append('\t'.join(
            (model_id, m['source'], m['name'], m['creator'],
             m['label'] or UNLABELLED, s)))
        bar.update()
    print()
    for zf in zips.values():
        zf.close()
    for s, names in sn_lists.items():
        with open(osp.join(sn_root, 'ShapeNet-55', f'{s}.txt'), 'w') as f:
            f.write(''.join(n + '\n' for n in sorted(names)))
    with open(osp.join(mn_root, 'modelnet40_shape_names.txt'), 'w') as f:
        f.write(''.join(c + '\n' for c in classes))
    for s, d in mn.items():
        with open(osp.join(mn_root, f'modelnet40_{s}.txt'), 'w') as f:
            f.write(''.join(i + '\n' for i in d['ids']))
        with open(osp.join(mn_root, f'modelnet40_{s}_8192pts_fps.dat'),
                  'wb') as f:
            pickle.dump([d['points'], d['labels']], f)
    with open(osp.join(tmp, 'shapenet_synset_dict.json'), 'w') as f:
        json.dump({synset_of[c]: c for c in classes}, f, indent=1)
    with open(osp.join(tmp, 'CREDITS.tsv'), 'w') as f:
        f.write('\n'.join(credits) + '\n')
    per_class = {c: dict(train=sum(1 for m in models if m['label'] == c and
                                   split[m['key']] == 'train'),
                         test=sum(1 for m in models if m['label'] == c and
                                  split[m['key']] == 'test'))
                 for c in classes}
    summary = dict(
        source='Debian sweethome3d-furniture (Sweet Home 3D furniture '
        'libraries)', seed=seed, test_ratio=test_ratio, models=len(models),
        classes=classes, per_class=per_class,
        pretrain=dict(train=len(sn_lists['train']),
                      test=len(sn_lists['test'])),
        classification=dict(train=len(mn['train']['ids']),
                            test=len(mn['test']['ids'])))
    return summary


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Sweet Home 3D furniture catalogues -> ShapeNet-55 + '
        'ModelNet40 layouts')
    parser.add_argument('source', help='a folder of .sh3f files, or files')
    parser.add_argument('--out', default='data/real',
                        help='output root (default data/real)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the split, the model ids and the '
                        'samples (default 0)')
    parser.add_argument('--test-ratio', type=float, default=0.2,
                        help='share of every class held out for testing '
                        '(default 0.2)')
    parser.add_argument('--min-per-class', type=int, default=15,
                        help='classes with fewer labelled models are '
                        'dropped (default 15)')
    parser.add_argument('--classes', nargs='+', default=None,
                        help='keep only these classes (default: every '
                        'class with enough models)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if osp.isdir(args.source):
        sources = sorted(osp.join(args.source, f)
                         for f in os.listdir(args.source)
                         if f.endswith('.sh3f'))
    else:
        sources = [args.source]
    if not sources:
        raise FileNotFoundError(f'{args.source}: no .sh3f catalogue there')
    for path in sources:
        if not osp.isfile(path):
            raise FileNotFoundError(f'catalogue not found: {path}')
    summary = convert(sources, args.out, args.seed, args.test_ratio,
                      args.min_per_class, args.classes)
    width = max(len(c) for c in summary['classes'])
    for c, n in summary['per_class'].items():
        print(f'  {c:<{width}}  {n["train"]:4d} train  {n["test"]:3d} test')
    return summary


if __name__ == '__main__':
    main()
