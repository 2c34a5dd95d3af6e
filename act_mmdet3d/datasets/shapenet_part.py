"""ShapeNetPart (``shapenetcore_partanno_segmentation_benchmark_v0_normal``).

16 object categories, 50 parts; the part-segmentation benchmark of the ACT
reference (``part_segmentation/dataset.py``, ``PartNormalDataset``).
"""
import json
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmdet3d.registry import DATASETS
from .transforms.utils import (check_choice, check_exists, check_points,
                               make_points)

#: (category, synset) in the order of the official
#: ``synsetoffset2category.txt``; the category index is the line index.
SHAPENETPART_CATEGORIES: Tuple[Tuple[str, str], ...] = (
    ('Airplane', '02691156'),
    ('Bag', '02773838'),
    ('Cap', '02954340'),
    ('Car', '02958343'),
    ('Chair', '03001627'),
    ('Earphone', '03261776'),
    ('Guitar', '03467517'),
    ('Knife', '03624134'),
    ('Lamp', '03636649'),
    ('Laptop', '03642806'),
    ('Motorbike', '03790512'),
    ('Mug', '03797390'),
    ('Pistol', '03948459'),
    ('Rocket', '04099429'),
    ('Skateboard', '04225987'),
    ('Table', '04379243'),
)

#: Global part ids of each category (the reference's ``seg_classes``): the
#: last column of the point files holds these ids, 50 in all.
SHAPENETPART_SEG_CLASSES: Dict[str, Tuple[int, ...]] = {
    'Airplane': (0, 1, 2, 3),
    'Bag': (4, 5),
    'Cap': (6, 7),
    'Car': (8, 9, 10, 11),
    'Chair': (12, 13, 14, 15),
    'Earphone': (16, 17, 18),
    'Guitar': (19, 20, 21),
    'Knife': (22, 23),
    'Lamp': (24, 25, 26, 27),
    'Laptop': (28, 29),
    'Motorbike': (30, 31, 32, 33, 34, 35),
    'Mug': (36, 37),
    'Pistol': (38, 39, 40),
    'Rocket': (41, 42, 43),
    'Skateboard': (44, 45, 46),
    'Table': (47, 48, 49),
}

SHAPENETPART_NUM_PARTS = 50


def check_seg_classes(seg_classes: dict, source: str) -> int:
    """Validate a ``seg_classes`` table; return the number of part ids.

    The ids of all categories together must be the distinct integers
    ``0 .. P-1`` (the official table: 50).
    """
    if not isinstance(seg_classes, dict) or not seg_classes:
        raise TypeError(f'{source}: seg_classes must be a non-empty dict '
                        'category -> list of part ids, got '
                        f'{type(seg_classes).__name__}')
    seen = {}
    for name, ids in seg_classes.items():
        if isinstance(ids, (str, bytes)) or not hasattr(ids, '__len__') \
                or not len(ids):
            raise TypeError(f'{source}: seg_classes[{name!r}] must be a '
                            f'non-empty list of part ids, got {ids!r}')
        for part in ids:
            if isinstance(part, bool) or not isinstance(
                    part, (int, np.integer)):
                raise TypeError(f'{source}: seg_classes[{name!r}] holds '
                                f'{part!r}; part ids must be ints')
            if int(part) in seen:
                raise ValueError(f'{source}: part id {part} is in both '
                                 f'{seen[int(part)]!r} and {name!r}')
            seen[int(part)] = name
    num_parts = len(seen)
    if sorted(seen) != list(range(num_parts)):
        raise ValueError(f'{source}: the part ids of seg_classes must be '
                         f'0 .. {num_parts - 1} without gaps, got '
                         f'{sorted(seen)}')
    return num_parts


def parse_split_entry(entry, source: str) -> Tuple[str, str]:
    """``'shape_data/<synset>/<model_id>'`` -> (synset, model_id)."""
    parts = entry.split('/') if isinstance(entry, str) else []
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ValueError(f'{source}: expected "shape_data/<synset>/'
                         f'<model_id>", got {entry!r}')
    return parts[1], parts[2]


def read_part_file(path: str) -> np.ndarray:
    """Rows ``x y z nx ny nz part`` of one shape, as (N, 7) float32.

    Parsed as the reference does (``np.loadtxt(path).astype(np.float32)``,
    i.e. float64 then float32); 2 ms for a 2,500-row file, so shapes are
    read at each access and not cached.
    """
    check_exists(path, 'ShapeNetPart shape file')
    try:
        with warnings.catch_warnings():  # empty file: our error below
            warnings.simplefilter('ignore', UserWarning)
            data = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except Exception as e:  # wrong column count, text in a number field
        raise ValueError(f'{path}: malformed ShapeNetPart shape file '
                         f'({type(e).__name__}: {e})') from e
    if data.shape[0] == 0:
        raise ValueError(f'{path}: no points (empty shape file)')
    if data.shape[1] != 7:
        raise ValueError(f'{path}: expected 7 columns "x y z nx ny nz part" '
                         f'per row, got {data.shape[1]}')
    return check_points(data.astype(np.float32), path)


@DATASETS.register_module()
class ShapeNetPartDataset(BaseDataset):
    """ShapeNetPart part segmentation (16 categories, 50 parts).

    Layout of the official release (as the reference reads it)::

        data_root/   shapenetcore_partanno_segmentation_benchmark_v0_normal
          synsetoffset2category.txt   "<Category>\\t<synset>", 16 lines;
                                      the line index is the category index
          train_test_split/shuffled_{train,val,test}_file_list.json
                                      JSON lists "shape_data/<synset>/<id>"
          <synset>/<model_id>.txt     rows "x y z nx ny nz part", the part
                                      a global id in [0, 50) (a float,
                                      "13.000000")

    Splits: 'train' (12,137 shapes), 'val' (1,870), 'trainval' (train +
    val, 14,007; what the reference trains on) and 'test' (2,874). Shapes
    are ordered as in the reference: by category (file order), then by
    model id. Every listed shape must have its file (checked when the
    dataset is built).

    Per access the shape file is read (no cache: ~2 ms a shape) and checked:
    7 finite columns, integer part ids that belong to the shape's category.
    The reference then normalises xyz to the unit sphere over all points
    and draws ``np.random.choice(N, 2048, replace=True)``; here those are
    the pipeline steps ``NormalizePointsToUnitSphere`` and
    ``PointSubsample(2048, mode='choice')`` (shapes have 500 - 3,000
    points, some fewer than 2048).

    Results dict of ``get_data_info``: ``points`` (``DepthPoints``, (N, 3)
    xyz, or (N, 6) with normals as ``attribute_dims={'normal': [3, 4, 5]}``
    with ``use_normals``), ``pts_semantic_mask`` ((N,) int64 global part
    ids), ``category`` (int, index in ``metainfo['classes']``),
    ``category_name``, ``taxonomy_id`` (synset), ``model_id``,
    ``lidar_path`` (the .txt), ``sample_idx``, ``num_pts_feats``.

    ``metainfo``: ``classes`` (the 16 category names in file order),
    ``synsets``, ``seg_classes`` (category -> list of global part ids, the
    official table unless ``metainfo`` overrides it) and ``num_parts``.

    Args:
        data_root (str): the ``..._v0_normal`` folder.
        split (str): 'train', 'val', 'trainval' or 'test'.
            Defaults to 'trainval'.
        use_normals (bool): keep the normals (the reference's
            ``--normal``). Defaults to False.
        class_choice (Sequence[str], optional): keep only these categories
            (their category index stays the one of the file, as in the
            reference).
        cat_file (str): category file relative to ``data_root``.
            Defaults to 'synsetoffset2category.txt'.
        split_dir (str): folder of the split lists relative to
            ``data_root``. Defaults to 'train_test_split'.
        metainfo (dict, optional): may override ``seg_classes``.
        **kwargs: ``BaseDataset`` arguments (``pipeline``, ``test_mode``,
            ``lazy_init``, ``serialize_data``, ...).
    """

    METAINFO = dict(
        classes=tuple(name for name, _ in SHAPENETPART_CATEGORIES),
        synsets=tuple(synset for _, synset in SHAPENETPART_CATEGORIES),
        seg_classes={k: list(v)
                     for k, v in SHAPENETPART_SEG_CLASSES.items()},
        num_parts=SHAPENETPART_NUM_PARTS)
    SPLITS = {
        'train': ('train', ),
        'val': ('val', ),
        'trainval': ('train', 'val'),
        'test': ('test', ),
    }

    def __init__(self,
                 data_root: str,
                 split: str = 'trainval',
                 use_normals: bool = False,
                 class_choice: Optional[Sequence[str]] = None,
                 cat_file: str = 'synsetoffset2category.txt',
                 split_dir: str = 'train_test_split',
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        check_choice('ShapeNetPartDataset', 'split', split, self.SPLITS)
        check_exists(data_root, 'ShapeNetPartDataset data_root')
        self.split = split
        self.use_normals = use_normals
        self.cat_file = osp.join(data_root, cat_file)
        self.split_files = [
            osp.join(data_root, split_dir, f'shuffled_{name}_file_list.json')
            for name in self.SPLITS[split]
        ]
        metainfo = dict(metainfo or {})
        names, synsets = self._read_categories(self.cat_file)
        user_classes = metainfo.get('classes')
        if user_classes is not None and tuple(user_classes) != names:
            raise ValueError(
                f'metainfo["classes"] {tuple(user_classes)} differs from the '
                f'categories of {self.cat_file} {names}; the category index '
                'is the line index of that file')
        metainfo.update(classes=names, synsets=synsets)
        seg_classes = metainfo.get('seg_classes',
                                   self.METAINFO['seg_classes'])
        metainfo['num_parts'] = check_seg_classes(
            seg_classes, 'ShapeNetPartDataset metainfo')
        missing = [n for n in names if n not in seg_classes]
        if missing:
            raise ValueError(
                f'{self.cat_file}: categories {missing} have no part ids in '
                f'seg_classes (known: {sorted(seg_classes)})')
        metainfo['seg_classes'] = {
            n: [int(p) for p in seg_classes[n]] for n in names
        }
        if class_choice is not None:
            if isinstance(class_choice, str):
                class_choice = [class_choice]
            unknown = [c for c in class_choice if c not in names]
            if unknown:
                raise ValueError(f'ShapeNetPartDataset: class_choice {unknown}'
                                 f' not in {self.cat_file} ({names})')
        self.class_choice = None if class_choice is None \
            else tuple(class_choice)
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(),
            **kwargs)
        self._part_sets = {
            i: frozenset(self.metainfo['seg_classes'][n])
            for i, n in enumerate(self.metainfo['classes'])
        }

    @staticmethod
    def _read_categories(path: str) -> Tuple[Tuple[str, ...], Tuple[str,
                                                                    ...]]:
        """(names, synsets) of ``synsetoffset2category.txt``."""
        check_exists(path, 'ShapeNetPart category file')
        names, synsets = [], []
        with open(path, 'r') as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                fields = line.split()
                if len(fields) != 2:
                    raise ValueError(f'{path}:{lineno}: expected "<Category>'
                                     f' <synset>", got {line.strip()!r}')
                if fields[0] in names or fields[1] in synsets:
                    raise ValueError(f'{path}:{lineno}: category or synset '
                                     f'listed twice ({line.strip()!r})')
                names.append(fields[0])
                synsets.append(fields[1])
        if not names:
            raise ValueError(f'{path}: no categories')
        return tuple(names), tuple(synsets)

    @staticmethod
    def _read_split(path: str) -> list:
        check_exists(path, 'ShapeNetPart split file')
        try:
            with open(path, 'r') as f:
                entries = json.load(f)
        except ValueError as e:
            raise ValueError(f'{path}: not a JSON file ({e})') from e
        if not isinstance(entries, list):
            raise ValueError(f'{path}: expected a JSON list of '
                             '"shape_data/<synset>/<model_id>" strings, got '
                             f'{type(entries).__name__}')
        return entries

    def load_data_list(self) -> List[dict]:
        names = self.metainfo['classes']
        synset_index = {s: i for i, s in enumerate(self.metainfo['synsets'])}
        keep = set(range(len(names))) if self.class_choice is None else {
            names.index(c)
            for c in self.class_choice
        }
        shapes = {}  # (category, model_id) -> split file listing it
        for path in self.split_files:
            for pos, entry in enumerate(self._read_split(path)):
                synset, model_id = parse_split_entry(
                    entry, f'{path} [entry {pos}]')
                if synset not in synset_index:
                    raise ValueError(
                        f'{path} [entry {pos}]: synset {synset} of {entry!r}'
                        f' is not in {self.cat_file}')
                if synset_index[synset] in keep:
                    shapes.setdefault((synset_index[synset], model_id), path)
        data_list, listed = [], {}
        for cat, model_id in sorted(shapes):
            synset = self.metainfo['synsets'][cat]
            folder = osp.join(self.data_root, synset)
            if synset not in listed:
                listed[synset] = set(
                    os.listdir(folder)) if osp.isdir(folder) else set()
            if model_id + '.txt' not in listed[synset]:
                raise FileNotFoundError(
                    'ShapeNetPart shape file not found: '
                    f'{osp.join(folder, model_id + ".txt")} (listed in '
                    f'{shapes[(cat, model_id)]})')
            data_list.append(
                dict(
                    lidar_path=osp.join(folder, model_id + '.txt'),
                    category=cat,
                    category_name=names[cat],
                    taxonomy_id=synset,
                    model_id=model_id,
                    num_pts_feats=6 if self.use_normals else 3))
        print_log(
            f'ShapeNetPartDataset: {len(data_list)} {self.split} shapes '
            f'from {", ".join(self.split_files)}',
            logger='current')
        return data_list

    def _part_labels(self, column: np.ndarray, path: str,
                     category: int) -> np.ndarray:
        """The part column as (N,) int64, checked against the category."""
        labels = column.astype(np.int64)
        bad = np.flatnonzero(labels != column)
        if len(bad):
            raise ValueError(f'{path}: part id {column[bad[0]]} at row '
                             f'{bad[0] + 1} is not an integer')
        num_parts = self.metainfo['num_parts']
        bad = np.flatnonzero((labels < 0) | (labels >= num_parts))
        if len(bad):
            raise ValueError(
                f'{path}: part id {labels[bad[0]]} at row {bad[0] + 1} is '
                f'outside the {num_parts} part ids [0, {num_parts})')
        allowed = self._part_sets[category]
        bad = np.flatnonzero(~np.isin(labels, sorted(allowed)))
        if len(bad):
            name = self.metainfo['classes'][category]
            raise ValueError(
                f'{path}: part id {labels[bad[0]]} at row {bad[0] + 1} is '
                f'not a part of {name} (its parts: {sorted(allowed)})')
        return labels

    def get_data_info(self, idx: int) -> dict:
        """Sample info with ``points`` and ``pts_semantic_mask`` attached."""
        info = super().get_data_info(idx)
        path = info['lidar_path']
        data = read_part_file(path)
        info['pts_semantic_mask'] = self._part_labels(data[:, 6], path,
                                                      info['category'])
        info['points'] = make_points(data[:, :6], self.use_normals)
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        return [super().get_data_info(idx)['category']]
