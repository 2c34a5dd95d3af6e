"""ScanObjectNN (h5 files of the official release)."""
import os.path as osp
from typing import List, Optional

import h5py
import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmdet3d.registry import DATASETS
from .transforms.utils import (SharedArrays, check_choice, check_exists,
                               check_point_batch, make_points)

# The reference's ``data/ScanObjectNN_shape_names.txt``.
SCANOBJECTNN_CLASSES = ('bag', 'bin', 'box', 'cabinet', 'chair', 'desk',
                        'display', 'door', 'shelf', 'table', 'bed', 'pillow',
                        'sink', 'sofa', 'toilet')


@DATASETS.register_module()
class ScanObjectNNDataset(BaseDataset):
    """ScanObjectNN object classification, 15 classes, 2048 points.

    Variants and their files (``data_root`` is the ``ScanObjectNN`` folder;
    an ``h5_files/`` level in between, as the official archive unpacks and
    the reference configs point to, is found automatically):

    ===========  =========================================================
    variant      file
    ===========  =========================================================
    'obj_bg'     main_split/{training,test}_objectdataset.h5  (OBJ_BG)
    'obj_only'   main_split_nobg/{training,test}_objectdataset.h5
    'hardest'    main_split/{training,test}_objectdataset_augmentedrot_
                 scale75.h5  (PB_T50_RS; alias 'pb_t50_rs')
    ===========  =========================================================

    Each h5 holds ``data`` (B, 2048, 3) and ``label`` (B,). As in the
    reference the clouds are used as they are (no normalisation; points are
    shuffled for training in the pipeline with ``PointShuffle``).

    Results dict: ``points`` (``DepthPoints``, xyz), ``gt_label`` (int),
    ``lidar_path`` (the h5), ``index_in_file``, ``sample_idx``,
    ``num_pts_feats``.

    Args:
        data_root (str): the ``ScanObjectNN`` folder.
        variant (str): 'obj_bg', 'obj_only' or 'hardest'.
            Defaults to 'hardest'.
        split (str): 'train' or 'test'. Defaults to 'train'.
        ann_file (str, optional): an h5 file relative to ``data_root``,
            overriding ``variant`` / ``split``.
        metainfo (dict, optional): overrides the 15 ``classes``.
        **kwargs: ``BaseDataset`` arguments (``pipeline``, ``test_mode``,
            ``lazy_init``, ``serialize_data``, ...).
    """

    METAINFO = dict(classes=SCANOBJECTNN_CLASSES)
    SPLITS = ('train', 'test')
    VARIANTS = {
        'obj_bg': ('main_split', ''),
        'obj_only': ('main_split_nobg', ''),
        'hardest': ('main_split', '_augmentedrot_scale75'),
    }
    ALIASES = {'pb_t50_rs': 'hardest', 'objectbg': 'obj_bg',
               'objectonly': 'obj_only'}

    def __init__(self,
                 data_root: str,
                 variant: str = 'hardest',
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        variant = self.ALIASES.get(str(variant).lower(), str(variant).lower())
        if ann_file is None:
            check_choice('ScanObjectNNDataset', 'variant', variant,
                         self.VARIANTS)
            check_choice('ScanObjectNNDataset', 'split', split, self.SPLITS)
            folder, suffix = self.VARIANTS[variant]
            prefix = 'training' if split == 'train' else 'test'
            ann_file = osp.join(folder, f'{prefix}_objectdataset{suffix}.h5')
        self.variant = variant
        self.split = split
        self._arrays: Optional[SharedArrays] = None
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=self._resolve_root(data_root, ann_file),
            data_prefix=dict(),
            **kwargs)

    @staticmethod
    def _resolve_root(data_root: str, ann_file: str) -> str:
        """``data_root`` or its ``h5_files/`` subfolder holding the file."""
        if osp.isabs(ann_file) or osp.exists(osp.join(data_root, ann_file)):
            return data_root
        nested = osp.join(data_root, 'h5_files')
        if osp.exists(osp.join(nested, ann_file)):
            return nested
        return data_root

    def load_data_list(self) -> List[dict]:
        check_exists(self.data_root, 'ScanObjectNNDataset data_root')
        path = check_exists(self.ann_file, 'ScanObjectNN h5 file',
                            f'variant={self.variant!r}, split={self.split!r}')
        try:
            with h5py.File(path, 'r') as f:
                for key in ('data', 'label'):
                    if key not in f:
                        raise KeyError(f'{path}: h5 file has no "{key}" key '
                                       f'(found {sorted(f.keys())})')
                data = np.asarray(f['data'][()])
                labels = np.asarray(f['label'][()])
        except KeyError:
            raise
        except Exception as e:
            raise ValueError(f'{path}: unreadable h5 file '
                             f'({type(e).__name__}: {e})') from e
        data = check_point_batch(data, f'{path} ["data"]')
        if labels.size != data.shape[0] or labels.ndim > 2:
            raise ValueError(
                f'{path} ["label"]: shape {labels.shape} does not match '
                f'{data.shape[0]} clouds in "data" (truncated file?)')
        if not (np.issubdtype(labels.dtype, np.integer) or (
                np.issubdtype(labels.dtype, np.floating)
                and np.all(np.mod(labels, 1) == 0))):
            raise TypeError(f'{path} ["label"]: dtype {labels.dtype}, '
                            'expected integer class indices')
        labels = labels.reshape(-1).astype(np.int64)
        num_classes = len(self.metainfo['classes'])
        bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
        if len(bad):
            raise ValueError(
                f'{path} ["label"]: label {labels[bad[0]]} of sample '
                f'{bad[0]} is outside [0, {num_classes}) classes')
        self._arrays = SharedArrays(data)
        print_log(f'ScanObjectNNDataset: {data.shape} clouds from {path}',
                  logger='current')
        return [
            dict(
                lidar_path=path,
                index_in_file=i,
                gt_label=int(label),
                num_pts_feats=3) for i, label in enumerate(labels)
        ]

    def get_data_info(self, idx: int) -> dict:
        """Sample info with ``points`` (``DepthPoints``) attached."""
        info = super().get_data_info(idx)
        info['points'] = make_points(self._arrays[info['index_in_file']])
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        return [super().get_data_info(idx)['gt_label']]
