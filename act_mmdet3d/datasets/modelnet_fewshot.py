"""Few-shot ModelNet40 episodes (Point-BERT's ``ModelNetFewshot`` split)."""
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmdet3d.registry import DATASETS
from .modelnet40 import (MODELNET40_CLASSES, check_cloud, check_label,
                         load_pickle)
from .transforms.utils import (SharedArrays, check_choice, check_exists,
                               make_points)


@DATASETS.register_module()
class ModelNetFewShotDataset(BaseDataset):
    """One fold of an N-way K-shot ModelNet40 episode.

    Layout::

        data_root/                     e.g. data/ModelNetFewshot
          {way}way{shot}shot/{fold}.pkl     (5way10shot/0.pkl, ...)

    The reference code opens ``{way}way_{shot}shot`` (with an underscore,
    as its ``generate_few_shot_data.py`` writes) while the released data and
    ``DATASET.md`` use ``{way}way{shot}shot``; both are accepted.
    Each pickle is ``dict(train=[...], test=[...])`` of
    ``(points (8192, 6) float32, episode label in [0, way), ModelNet40
    label)`` tuples (way * shot training and way * 20 test samples); the
    clouds come from the 8192-point FPS cache, so their first M points are
    an FPS of M.

    ``metainfo['classes']`` holds, for each episode label, the ModelNet40
    name of the third tuple element (``class_<i>`` when it is missing).
    The reference normalises xyz to the unit sphere in the dataset (and,
    in place, in the loaded pickle); here that is the
    ``NormalizePointsToUnitSphere`` pipeline step and the cache is never
    modified.

    Results dict: ``points`` (``DepthPoints``), ``gt_label`` (episode
    label), ``modelnet_label`` (ModelNet40 index, when stored),
    ``lidar_path`` (the pkl), ``index_in_file`` (index in the split list),
    ``sample_idx``, ``num_pts_feats``.

    Args:
        data_root (str): the ``ModelNetFewshot`` folder.
        way (int): 5 or 10. Defaults to 5.
        shot (int): 10 or 20. Defaults to 10.
        fold (int): 0..9. Defaults to 0.
        split (str): 'train' or 'test'. Defaults to 'train'.
        num_points (int, optional): keep the first ``num_points`` points
            (FPS order). Defaults to None (all, the reference).
        use_normals (bool): keep normals. Defaults to False.
        ann_file (str, optional): the pkl relative to ``data_root``,
            overriding ``way`` / ``shot`` / ``fold``.
        metainfo (dict, optional): overrides ``classes``.
        **kwargs: ``BaseDataset`` arguments (``pipeline``, ``test_mode``,
            ``lazy_init``, ``serialize_data``, ...).
    """

    METAINFO = dict(classes=None)
    SPLITS = ('train', 'test')

    def __init__(self,
                 data_root: str,
                 way: int = 5,
                 shot: int = 10,
                 fold: int = 0,
                 split: str = 'train',
                 num_points: Optional[int] = None,
                 use_normals: bool = False,
                 ann_file: Optional[str] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        check_choice('ModelNetFewShotDataset', 'split', split, self.SPLITS)
        for name, value, low in (('way', way, 1), ('shot', shot, 1),
                                 ('fold', fold, 0)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f'ModelNetFewShotDataset: {name} must be an '
                                 f'int >= {low}, got {value!r}')
        if num_points is not None and (not isinstance(num_points, int)
                                       or num_points <= 0):
            raise ValueError('ModelNetFewShotDataset: num_points must be a '
                             f'positive int or None, got {num_points!r}')
        check_exists(data_root, 'ModelNetFewShotDataset data_root')
        if ann_file is None:
            candidates = [
                osp.join(f'{way}way{shot}shot', f'{fold}.pkl'),
                osp.join(f'{way}way_{shot}shot', f'{fold}.pkl')
            ]
            found = [
                c for c in candidates if osp.exists(osp.join(data_root, c))
            ]
            if not found:
                raise FileNotFoundError(
                    'ModelNetFewShotDataset: few-shot file not found: tried '
                    + ', '.join(osp.join(data_root, c) for c in candidates))
            ann_file = found[0]
        self.way, self.shot, self.fold = way, shot, fold
        self.split = split
        self.num_points = num_points
        self.use_normals = use_normals
        self._user_classes = (metainfo or {}).get('classes') is not None
        self._arrays: Optional[SharedArrays] = None
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(),
            **kwargs)

    def load_data_list(self) -> List[dict]:
        path = self.ann_file
        content = load_pickle(path, 'ModelNetFewShotDataset file')
        if not isinstance(content, dict):
            raise ValueError(f'{path}: expected a pickled dict with "train" '
                             f'and "test" lists, got {type(content).__name__}')
        if self.split not in content:
            raise KeyError(f'{path}: no "{self.split}" key (found '
                           f'{sorted(map(str, content))})')
        cols = 6 if self.use_normals else 3
        names = {}
        arrays, data_list = [], []
        for split in self.SPLITS:
            for i, entry in enumerate(content.get(split, [])):
                source = f'{path} ["{split}"][{i}]'
                if not isinstance(entry, (tuple, list)) or len(entry) < 2:
                    raise ValueError(f'{source}: expected (points, label, '
                                     f'ModelNet40 label), got {entry!r:.80}')
                label = check_label(entry[1], source, self.way)
                orig = None
                if len(entry) > 2:
                    orig = check_label(entry[2], source + ' (ModelNet40 '
                                       'label)', 1 << 30)
                    names.setdefault(label, orig)
                if split != self.split:
                    continue
                pts = check_cloud(entry[0], source, self.num_points,
                                  self.use_normals)
                arrays.append(
                    np.ascontiguousarray(pts[:self.num_points, :cols]))
                info = dict(
                    lidar_path=path,
                    index_in_file=i,
                    gt_label=label,
                    num_pts_feats=cols)
                if orig is not None:
                    info['modelnet_label'] = orig
                data_list.append(info)
        if not self._user_classes:
            self._metainfo['classes'] = tuple(
                MODELNET40_CLASSES[names[c]]
                if names.get(c, -1) in range(len(MODELNET40_CLASSES)) else
                f'class_{c}' for c in range(self.way))
        self._arrays = SharedArrays(arrays)
        print_log(
            f'ModelNetFewShotDataset: {len(data_list)} {self.split} samples '
            f'from {path}',
            logger='current')
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """Sample info with ``points`` (``DepthPoints``) attached."""
        info = super().get_data_info(idx)
        info['points'] = make_points(self._arrays[info['index_in_file']],
                                     self.use_normals)
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        return [super().get_data_info(idx)['gt_label']]
