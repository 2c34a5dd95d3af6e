"""Packing of point-cloud classification samples."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import Det3DDataSample
from mmdet3d.structures.points import BasePoints


@TRANSFORMS.register_module()
class PackPointClsInputs(BaseTransform):
    """Pack a classification sample for an mmengine model.

    Output: ``dict(inputs=dict(points=FloatTensor (N, C)),
    data_samples=Det3DDataSample)``; the data sample holds
    ``gt_label = LongTensor([label])`` when the results have ``gt_label``
    and the ``meta_keys`` present in the results as metainfo. The
    ``PointDataPreprocessor`` then gives the model one (B, N, C) batch.

    Required Keys:

    - points (:obj:`BasePoints` | np.ndarray | torch.Tensor)
    - gt_label (int, optional)

    Added Keys:

    - inputs (dict): ``points`` as a float32 (N, C) tensor.
    - data_samples (:obj:`Det3DDataSample`)

    Args:
        meta_keys (Sequence[str]): keys copied into the data sample's
            metainfo when present. Defaults to the sample index, the source
            file and the ids the ACT datasets record.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('sample_idx', 'lidar_path',
                                             'index_in_file', 'shape_id',
                                             'taxonomy_id', 'model_id',
                                             'modelnet_label',
                                             'num_pts_feats')) -> None:
        self.meta_keys = tuple(meta_keys)

    @staticmethod
    def _points_tensor(points) -> torch.Tensor:
        if isinstance(points, BasePoints):
            points = points.tensor
        elif isinstance(points, np.ndarray):
            points = torch.from_numpy(points)
        elif not isinstance(points, torch.Tensor):
            raise TypeError('PackPointClsInputs: "points" must be BasePoints, '
                            f'ndarray or Tensor, got {type(points).__name__}')
        if points.dim() != 2:
            raise ValueError('PackPointClsInputs: points must be (N, C), got '
                             f'{tuple(points.shape)}')
        return points.float().contiguous()

    def transform(self, results: dict) -> dict:
        if 'points' not in results:
            raise KeyError('PackPointClsInputs: results have no "points" key')
        inputs = dict(points=self._points_tensor(results['points']))
        data_sample = Det3DDataSample()
        label = results.get('gt_label')
        if label is not None:
            label = int(np.asarray(label).reshape(-1)[0])
            data_sample.gt_label = torch.LongTensor([label])
        metainfo = {k: results[k] for k in self.meta_keys if k in results}
        data_sample.set_metainfo(metainfo)
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
