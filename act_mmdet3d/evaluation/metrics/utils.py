"""What the metrics of this package share."""
from typing import Any

from mmengine.structures import BaseDataElement


def sample_field(sample: Any, key: str, metric: str):
    """``key`` of a data sample: a dict (as mmengine's evaluator hands them
    over, metainfo flattened in) or a ``Det3DDataSample``; None when it has
    no such field. Anything else is a ``TypeError`` naming ``metric``."""
    if isinstance(sample, (BaseDataElement, dict)):
        return sample.get(key)
    raise TypeError(f'{metric} expects data samples as dicts or '
                    f'Det3DDataSample, got {type(sample).__name__}')
