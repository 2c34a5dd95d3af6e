"""ThreeDETR: mmdet3d's single-stage detector with the scene box that
3DETR's head needs."""
from typing import Dict, List

import torch
from torch import Tensor

from mmdet3d.models.detectors.single_stage import SingleStage3DDetector
from mmdet3d.registry import MODELS


@MODELS.register_module()
class ThreeDETR(SingleStage3DDetector):
    """3DETR (Misra et al., ICCV 2021): backbone -> :class:`ThreeDETRHead`.

    The backbone is :class:`ThreeDETREncoder` or, for ACT's detection
    setup, :class:`ACTSceneBackbone`; either returns the point-head
    contract (``fp_xyz``, ``fp_features``, ``fp_indices``).
    :meth:`extract_feat` adds ``point_cloud_range``: the (B, 3) min and
    max of each input cloud's xyz (the reference's ``point_cloud_dims``),
    by which the head normalises query positions, centres and sizes. The
    clouds of a batch must have the same number of points (mmdet3d's
    ``PointSample``).
    """

    def extract_feat(self, batch_inputs_dict: Dict[str, List[Tensor]]) -> dict:
        """Backbone features of the stacked (B, N, C) points, plus
        ``point_cloud_range``."""
        points = batch_inputs_dict['points']
        if len({p.shape for p in points}) > 1:
            raise ValueError('ThreeDETR needs clouds of equal size in a batch '
                             '(add PointSample to the pipeline), got '
                             f'{[tuple(p.shape) for p in points]}')
        points = torch.stack(points)
        feats = self.backbone(points)
        xyz = points[..., :3]
        feats['point_cloud_range'] = (xyz.min(1)[0], xyz.max(1)[0])
        return feats

    def loss(self, batch_inputs_dict: dict, batch_data_samples: list,
             **kwargs) -> dict:
        return self.bbox_head.loss(
            self.extract_feat(batch_inputs_dict), batch_data_samples)

    def predict(self, batch_inputs_dict: dict, batch_data_samples: list,
                **kwargs) -> list:
        results = self.bbox_head.predict(
            self.extract_feat(batch_inputs_dict), batch_data_samples)
        return self.add_pred_to_datasample(batch_data_samples, results)
