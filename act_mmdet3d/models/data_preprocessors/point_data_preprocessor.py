"""The data preprocessor of the point-cloud models: one (B, N, C) batch."""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from torch import Tensor, nn

from mmdet3d.registry import MODELS


def stack_points(inputs: Union[dict, Tensor, Sequence[Tensor]]) -> Tensor:
    """The ``points`` of a batch as one (B, N, C) tensor.

    Args:
        inputs (dict | Tensor | list[Tensor]): ``{'points': ...}`` (a
            preprocessor's ``inputs``) or the points themselves: a (B, N, C)
            tensor, returned as is, or B (N, C) tensors of one shape.

    Raises:
        ValueError: clouds of different shapes (a ragged batch), or points
            that are not (B, N, C).
    """
    points = inputs['points'] if isinstance(inputs, dict) else inputs
    if isinstance(points, (list, tuple)):
        sizes = {tuple(p.shape) for p in points}
        if len(sizes) != 1:
            raise ValueError('all clouds of a batch must have the same shape '
                             f'to be stacked, got {sorted(sizes)}')
        points = torch.stack(list(points))
    if points.dim() != 3:
        raise ValueError('points must be (B, N, C), got '
                         f'{tuple(points.shape)}')
    return points


@MODELS.register_module()
class PointDataPreprocessor(BaseDataPreprocessor):
    """Move a collated batch to the model's device and stack its clouds.

    The input is what ``pseudo_collate`` makes of ``PackPointClsInputs`` /
    ``Pack3DDetInputs`` samples: ``inputs={'points': [(N, C), ...]}``. The
    output's ``inputs['points']`` is one (B, N, C) tensor, as mmpretrain's
    ``SelfSupDataPreprocessor`` gives MAE one image batch. A ragged batch
    (whole S3DIS scenes at test time, which mmdet3d's ``slide`` inference
    runs one by one) stays a list of (N_i, C) tensors; a model that needs
    one batch refuses it through :func:`stack_points`.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        points: List[Tensor] = data['inputs']['points']
        if len({tuple(p.shape) for p in points}) == 1:
            points = stack_points(points)
        return dict(inputs=dict(points=points),
                    data_samples=data.get('data_samples'))


def build_data_preprocessor(
        cfg: Optional[Union[dict, nn.Module]] = None) -> nn.Module:
    """A model's data preprocessor, built from mmdet3d's registry whatever
    the default scope is; ``None`` gives :class:`PointDataPreprocessor`."""
    if cfg is None:
        cfg = dict(type='PointDataPreprocessor')
    return MODELS.build(cfg) if isinstance(cfg, dict) else cfg
