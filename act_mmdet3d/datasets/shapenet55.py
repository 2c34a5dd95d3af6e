"""ShapeNet-55 point clouds (ACT / Point-BERT / Point-MAE pretraining)."""
import os.path as osp
from typing import List, Optional, Sequence, Union

import h5py
import numpy as np
from mmengine.dataset import BaseDataset

from mmdet3d.registry import DATASETS
from .modelnet40 import read_text_lines
from .transforms.utils import (check_choice, check_exists, check_points,
                               make_points)

# (synset id, name) of the 55 categories, in synset order
# (the reference's ``data/shapenet_synset_dict.json``).
SHAPENET55_SYNSETS = (
    ('02691156', 'airplane'),
    ('02747177', 'trash bin'),
    ('02773838', 'bag'),
    ('02801938', 'basket'),
    ('02808440', 'bathtub'),
    ('02818832', 'bed'),
    ('02828884', 'bench'),
    ('02843684', 'birdhouse'),
    ('02871439', 'bookshelf'),
    ('02876657', 'bottle'),
    ('02880940', 'bowl'),
    ('02924116', 'bus'),
    ('02933112', 'cabinet'),
    ('02942699', 'camera'),
    ('02946921', 'can'),
    ('02954340', 'cap'),
    ('02958343', 'car'),
    ('02992529', 'cellphone'),
    ('03001627', 'chair'),
    ('03046257', 'clock'),
    ('03085013', 'keyboard'),
    ('03207941', 'dishwasher'),
    ('03211117', 'display'),
    ('03261776', 'earphone'),
    ('03325088', 'faucet'),
    ('03337140', 'file cabinet'),
    ('03467517', 'guitar'),
    ('03513137', 'helmet'),
    ('03593526', 'jar'),
    ('03624134', 'knife'),
    ('03636649', 'lamp'),
    ('03642806', 'laptop'),
    ('03691459', 'loudspeaker'),
    ('03710193', 'mailbox'),
    ('03759954', 'microphone'),
    ('03761084', 'microwaves'),
    ('03790512', 'motorbike'),
    ('03797390', 'mug'),
    ('03928116', 'piano'),
    ('03938244', 'pillow'),
    ('03948459', 'pistol'),
    ('03991062', 'flowerpot'),
    ('04004475', 'printer'),
    ('04074963', 'remote'),
    ('04090263', 'rifle'),
    ('04099429', 'rocket'),
    ('04225987', 'skateboard'),
    ('04256520', 'sofa'),
    ('04330267', 'stove'),
    ('04379243', 'table'),
    ('04401088', 'telephone'),
    ('04460130', 'tower'),
    ('04468005', 'train'),
    ('04530566', 'watercraft'),
    ('04554684', 'washer'),
)


def load_point_file(path: str) -> np.ndarray:
    """Read one cloud like the reference ``datasets/io.py``.

    ``.npy`` (``np.load``), ``.txt`` (``np.loadtxt``) or ``.h5`` (its
    ``data`` dataset). Unreadable files raise ``ValueError`` naming the path.
    """
    check_exists(path, 'point cloud file')
    ext = osp.splitext(path)[1].lower()
    try:
        if ext == '.npy':
            return np.load(path)
        if ext == '.txt':
            return np.loadtxt(path)
        if ext == '.h5':
            with h5py.File(path, 'r') as f:
                if 'data' not in f:
                    raise KeyError(f'{path}: h5 file has no "data" key')
                return f['data'][()]
    except KeyError:
        raise
    except Exception as e:  # corrupt / truncated file
        raise ValueError(f'{path}: unreadable point file '
                         f'({type(e).__name__}: {e})') from e
    raise ValueError(f'{path}: unsupported point file extension "{ext}" '
                     '(expected .npy, .txt or .h5)')


@DATASETS.register_module()
class ShapeNet55Dataset(BaseDataset):
    """ShapeNet-55 (52,470 objects of 55 categories) for pretraining.

    Layout (Point-BERT's release, as the ACT reference reads it)::

        data_root/                      e.g. data/ShapeNet55-34
          shapenet_pc/<synset>-<model_id>.npy   (8192, 3) float
          ShapeNet-55/train.txt                 41,952 file names
          ShapeNet-55/test.txt                  10,518 file names

    ``split='whole'`` is train + test, as ACT pretraining uses
    (``whole: True``); like the reference the test list comes first.
    Point sampling and normalisation are pipeline steps
    (``PointSubsample`` then ``NormalizePointsToUnitSphere`` reproduces
    the reference's ``random_sample`` + ``pc_norm``).

    Results dict of ``get_data_info``: ``points`` (``DepthPoints``, xyz),
    ``lidar_path`` (the .npy), ``taxonomy_id`` (synset), ``model_id``,
    ``sample_idx``, ``num_pts_feats`` and, with ``with_label``,
    ``gt_label`` (index of the synset in ``metainfo['synsets']``).

    Args:
        data_root (str): the ``ShapeNet55-34`` folder.
        split (str): 'train', 'test' or 'whole'. Defaults to 'train'.
        ann_file (str | Sequence[str], optional): list file(s) relative to
            ``data_root``, overriding ``split``.
        split_dir (str): folder of the list files. Defaults to 'ShapeNet-55'.
        data_prefix (dict): ``pts``: folder of the clouds. Defaults to
            ``dict(pts='shapenet_pc')``.
        with_label (bool): add the synset index as ``gt_label`` (for
            probing). Defaults to False.
        metainfo (dict, optional): overrides ``classes`` / ``synsets``.
        **kwargs: ``BaseDataset`` arguments (``pipeline``, ``test_mode``,
            ``lazy_init``, ``serialize_data``, ...).
    """

    METAINFO = dict(
        classes=tuple(name for _, name in SHAPENET55_SYNSETS),
        synsets=tuple(synset for synset, _ in SHAPENET55_SYNSETS))
    SPLITS = ('train', 'test', 'whole')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: Optional[Union[str, Sequence[str]]] = None,
                 split_dir: str = 'ShapeNet-55',
                 data_prefix: dict = dict(pts='shapenet_pc'),
                 with_label: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if ann_file is None:
            check_choice('ShapeNet55Dataset', 'split', split, self.SPLITS)
            names = ['test', 'train'] if split == 'whole' else [split]
            ann_file = [osp.join(split_dir, f'{n}.txt') for n in names]
        elif isinstance(ann_file, str):
            ann_file = [ann_file]
        self.split = split
        self.ann_files = [
            f if osp.isabs(f) else osp.join(data_root, f) for f in ann_file
        ]
        self.with_label = with_label
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        check_exists(self.data_root, 'ShapeNet55Dataset data_root')
        pts_dir = check_exists(self.data_prefix.get('pts', self.data_root),
                               'ShapeNet55Dataset point folder',
                               'data_prefix["pts"]')
        synsets = list(self.metainfo.get('synsets', ()))
        if self.with_label and not synsets:
            raise KeyError('ShapeNet55Dataset: with_label=True needs '
                           'metainfo["synsets"]')
        synset_index = {s: i for i, s in enumerate(synsets)}
        data_list = []
        for ann_file in self.ann_files:
            for lineno, line in enumerate(
                    read_text_lines(ann_file, 'ShapeNet55Dataset split file'),
                    1):
                stem = osp.splitext(osp.basename(line))[0]
                if '-' not in stem:
                    raise ValueError(
                        f'{ann_file}:{lineno}: expected "<synset>-<model_id>'
                        f'.npy", got {line!r}')
                taxonomy_id, model_id = stem.split('-')[:2]
                info = dict(
                    lidar_path=osp.join(pts_dir, line),
                    taxonomy_id=taxonomy_id,
                    model_id=model_id,
                    num_pts_feats=3)
                if self.with_label:
                    if taxonomy_id not in synset_index:
                        raise ValueError(
                            f'{ann_file}:{lineno}: synset {taxonomy_id} is '
                            'not in metainfo["synsets"]')
                    info['gt_label'] = synset_index[taxonomy_id]
                data_list.append(info)
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """Sample info with ``points`` read from its file (xyz only)."""
        info = super().get_data_info(idx)
        points = check_points(
            load_point_file(info['lidar_path']), info['lidar_path'])
        info['points'] = make_points(points, use_normals=False)
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        info = super().get_data_info(idx)
        return [info['gt_label']] if 'gt_label' in info else []
