"""ModelNet40 (``modelnet40_normal_resampled``) for shape classification."""
import os.path as osp
import pickle
from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmdet3d.registry import DATASETS
from .transforms.utils import (SharedArrays, check_choice, check_exists,
                               check_points, farthest_point_sample,
                               make_points, read_lines)

# The reference's ``modelnet40_shape_names.txt``; used as the default and by
# the few-shot dataset, the real list is read from the data folder.
MODELNET40_CLASSES = (
    'airplane', 'bathtub', 'bed', 'bench', 'bookshelf', 'bottle', 'bowl',
    'car', 'chair', 'cone', 'cup', 'curtain', 'desk', 'door', 'dresser',
    'flower_pot', 'glass_box', 'guitar', 'keyboard', 'lamp', 'laptop',
    'mantel', 'monitor', 'night_stand', 'person', 'piano', 'plant', 'radio',
    'range_hood', 'sink', 'sofa', 'stairs', 'stool', 'table', 'tent',
    'toilet', 'tv_stand', 'vase', 'wardrobe', 'xbox')


def load_pickle(path: str, what: str):
    """``pickle.load`` with errors that name the file."""
    check_exists(path, what)
    try:
        with open(path, 'rb') as f:
            return pickle.load(f)
    except Exception as e:  # truncated / corrupt / not a pickle
        raise ValueError(f'{path}: unreadable pickle ({type(e).__name__}: '
                         f'{e})') from e


def read_text_lines(path: str, what: str) -> List[str]:
    """``read_lines`` with a clear error for a binary / corrupt file."""
    try:
        return read_lines(path, what)
    except UnicodeDecodeError as e:
        raise ValueError(f'{path}: not a text file ({what}; {e})') from e


def check_cloud(points, source: str, num_points: Optional[int],
                use_normals: bool) -> np.ndarray:
    """:func:`check_points` with at least ``num_points`` points and, with
    ``use_normals``, the 6 columns xyz + normals."""
    points = check_points(points, source, min_points=num_points)
    if use_normals and points.shape[1] < 6:
        raise ValueError(f'{source}: use_normals=True needs 6 columns, got '
                         f'{points.shape[1]}')
    return points


def check_label(label, source: str, num_classes: int) -> int:
    """A class index (int, or a 1-element array as the caches store it)."""
    arr = np.asarray(label)
    if arr.size != 1 or not (np.issubdtype(arr.dtype, np.integer) or (
            np.issubdtype(arr.dtype, np.floating)
            and float(arr.reshape(-1)[0]).is_integer())):
        raise ValueError(f'{source}: label must be one integer, got '
                         f'{label!r}')
    value = int(arr.reshape(-1)[0])
    if not 0 <= value < num_classes:
        raise ValueError(f'{source}: label {value} is outside '
                         f'[0, {num_classes}) classes')
    return value


@DATASETS.register_module()
class ModelNet40Dataset(BaseDataset):
    """ModelNet40 / ModelNet10 as the ACT reference reads it.

    Layout::

        data_root/     e.g. data/ModelNet/modelnet40_normal_resampled
          modelnet40_shape_names.txt    class names, one a line
          modelnet40_{train,test}.txt   shape ids (airplane_0001, ...)
          <class>/<shape id>.txt        10,000 rows "x,y,z,nx,ny,nz"
          modelnet40_{train,test}_8192pts_fps.dat
                                        pickle [list of (8192, 6) float32,
                                        list of (1,) int32 labels]

    ``format='dat'`` reads the FPS cache (``modelnet40_{split}_{P}pts_fps
    .dat`` with P = ``num_points`` if present, else 8192) and keeps the
    first ``num_points`` points of each cloud: the cache is in FPS order,
    so that is the FPS of ``num_points``. ``format='txt'`` reads the txt
    files at each access and takes an FPS of ``num_points`` (random start
    point, as the reference builds its cache; ~0.1 s per cloud) or
    the first ``num_points`` rows with ``txt_sampling='first'``.
    ``format='auto'`` uses the cache when it exists.

    Class names come from ``modelnet40_shape_names.txt`` (so a folder with
    its own class list works; ``metainfo['classes']`` reflects the file
    unless ``metainfo`` overrides the names).

    The reference normalises xyz to the unit sphere inside the dataset;
    here that is the ``NormalizePointsToUnitSphere`` pipeline step.

    Results dict: ``points`` (``DepthPoints``; xyz, plus normals as
    ``attribute_dims={'normal': [3, 4, 5]}`` with ``use_normals``),
    ``gt_label`` (int), ``shape_id``, ``lidar_path`` (the .txt, or the .dat
    with ``index_in_file``), ``sample_idx``, ``num_pts_feats``.

    Args:
        data_root (str): the ``modelnet40_normal_resampled`` folder.
        split (str): 'train' or 'test'. Defaults to 'train'.
        num_points (int): points per cloud. Defaults to 8192 (the
            reference's ``N_POINTS``; fine-tuning subsamples in the
            pipeline).
        use_normals (bool): keep the normals. Defaults to False.
        format (str): 'auto', 'dat' or 'txt'. Defaults to 'auto'.
        use_cache (bool, optional): shorthand: True = 'dat', False = 'txt'.
        num_category (int): 40 or 10 (file name prefix). Defaults to 40.
        ann_file (str, optional): shape-id list relative to ``data_root``.
            Defaults to ``modelnet{C}_{split}.txt``.
        cache_file (str, optional): the .dat relative to ``data_root``.
        txt_sampling (str): 'fps' or 'first' for the txt format.
        metainfo (dict, optional): overrides ``classes``.
        **kwargs: ``BaseDataset`` arguments (``pipeline``, ``test_mode``,
            ``lazy_init``, ``serialize_data``, ...).
    """

    METAINFO = dict(classes=MODELNET40_CLASSES)
    SPLITS = ('train', 'test')
    FORMATS = ('auto', 'dat', 'txt')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 num_points: int = 8192,
                 use_normals: bool = False,
                 format: str = 'auto',
                 use_cache: Optional[bool] = None,
                 num_category: int = 40,
                 ann_file: Optional[str] = None,
                 cache_file: Optional[str] = None,
                 txt_sampling: str = 'fps',
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        check_choice('ModelNet40Dataset', 'split', split, self.SPLITS)
        if use_cache is not None:
            format = 'dat' if use_cache else 'txt'
        check_choice('ModelNet40Dataset', 'format', format, self.FORMATS)
        if txt_sampling not in ('fps', 'first'):
            raise ValueError("ModelNet40Dataset: txt_sampling must be 'fps' "
                             f"or 'first', got {txt_sampling!r}")
        if not isinstance(num_points, int) or num_points <= 0:
            raise ValueError('ModelNet40Dataset: num_points must be a '
                             f'positive int, got {num_points!r}')
        check_exists(data_root, 'ModelNet40Dataset data_root')
        self.split = split
        self.num_points = num_points
        self.use_normals = use_normals
        self.num_category = num_category
        self.txt_sampling = txt_sampling
        prefix = f'modelnet{num_category}'
        self.shape_names_file = osp.join(data_root,
                                         f'{prefix}_shape_names.txt')
        file_classes = tuple(
            read_text_lines(self.shape_names_file,
                            'ModelNet40Dataset class file'))
        if not file_classes:
            raise ValueError(f'{self.shape_names_file}: no class names')
        self.file_classes = file_classes
        user_classes = (metainfo or {}).get('classes')
        if user_classes is not None and not isinstance(user_classes, str) \
                and len(user_classes) != len(file_classes):
            raise ValueError(
                f'metainfo["classes"] has {len(user_classes)} names but '
                f'{self.shape_names_file} lists {len(file_classes)}')
        metainfo = dict(metainfo or {})
        metainfo.setdefault('classes', file_classes)

        self.list_file = osp.join(data_root, ann_file or
                                  f'{prefix}_{split}.txt')
        if cache_file is not None:
            caches = [osp.join(data_root, cache_file)]
        else:
            caches = [
                osp.join(data_root, f'{prefix}_{split}_{p}pts_fps.dat')
                for p in dict.fromkeys((num_points, 8192))
            ]
        found = [c for c in caches if osp.exists(c)]
        if format == 'auto':
            format = 'dat' if found else 'txt'
        if format == 'dat' and not found:
            raise FileNotFoundError(
                'ModelNet40Dataset: FPS cache not found: tried '
                + ', '.join(caches))
        self.format = format
        self.cache_path = found[0] if format == 'dat' else None
        self._arrays: Optional[SharedArrays] = None
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(),
            **kwargs)

    # ------------------------------------------------------------ loading
    def _read_shape_ids(self, required: bool) -> Optional[List[str]]:
        if not required and not osp.exists(self.list_file):
            return None
        return read_text_lines(self.list_file,
                               'ModelNet40Dataset split file')

    def _load_txt_list(self) -> List[dict]:
        class_index = {c: i for i, c in enumerate(self.file_classes)}
        data_list = []
        for lineno, shape_id in enumerate(self._read_shape_ids(True), 1):
            cls_name = '_'.join(shape_id.split('_')[:-1])
            if cls_name not in class_index:
                raise ValueError(
                    f'{self.list_file}:{lineno}: class {cls_name!r} of '
                    f'{shape_id!r} is not in {self.shape_names_file}')
            data_list.append(
                dict(
                    lidar_path=osp.join(self.data_root, cls_name,
                                        shape_id + '.txt'),
                    shape_id=shape_id,
                    gt_label=class_index[cls_name],
                    num_pts_feats=6 if self.use_normals else 3))
        return data_list

    def _load_dat_list(self) -> List[dict]:
        path = self.cache_path
        content = load_pickle(path, 'ModelNet40Dataset FPS cache')
        if not isinstance(content, (list, tuple)) or len(content) != 2:
            raise ValueError(f'{path}: expected a pickled [list of points, '
                             'list of labels]')
        points_list, labels_list = content
        if len(points_list) != len(labels_list):
            raise ValueError(f'{path}: {len(points_list)} clouds but '
                             f'{len(labels_list)} labels (truncated file?)')
        shape_ids = self._read_shape_ids(False)
        if shape_ids is not None and len(shape_ids) != len(points_list):
            raise ValueError(
                f'{path}: {len(points_list)} clouds but {self.list_file} '
                f'lists {len(shape_ids)} shapes')
        cols = 6 if self.use_normals else 3
        num_classes = len(self.file_classes)
        arrays, data_list = [], []
        for i, (pts, label) in enumerate(zip(points_list, labels_list)):
            source = f'{path} [cloud {i}]'
            pts = check_cloud(pts, source, self.num_points, self.use_normals)
            arrays.append(np.ascontiguousarray(pts[:self.num_points, :cols]))
            info = dict(
                lidar_path=path,
                index_in_file=i,
                gt_label=check_label(label, source, num_classes),
                num_pts_feats=cols)
            if shape_ids is not None:
                info['shape_id'] = shape_ids[i]
            data_list.append(info)
        self._arrays = SharedArrays(arrays)
        return data_list

    def load_data_list(self) -> List[dict]:
        if self.format == 'dat':
            data_list = self._load_dat_list()
        else:
            data_list = self._load_txt_list()
        print_log(
            f'ModelNet40Dataset: {len(data_list)} {self.split} shapes from '
            f'{self.cache_path or self.list_file}',
            logger='current')
        return data_list

    def _read_txt(self, path: str) -> np.ndarray:
        check_exists(path, 'ModelNet40 point file')
        try:
            points = np.loadtxt(path, delimiter=',', dtype=np.float32)
        except Exception as e:
            raise ValueError(f'{path}: unreadable point file '
                             f'({type(e).__name__}: {e})') from e
        points = check_cloud(
            np.atleast_2d(points), path, self.num_points, self.use_normals)
        if self.txt_sampling == 'fps':
            start = np.random.randint(0, points.shape[0])
            points = points[farthest_point_sample(
                points, self.num_points, start=start)]
        else:
            points = points[:self.num_points]
        return points

    def get_data_info(self, idx: int) -> dict:
        """Sample info with ``points`` (``DepthPoints``) attached."""
        info = super().get_data_info(idx)
        if 'index_in_file' in info:
            points = self._arrays[info['index_in_file']]
        else:
            points = self._read_txt(info['lidar_path'])
        info['points'] = make_points(points, self.use_normals)
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        return [super().get_data_info(idx)['gt_label']]
