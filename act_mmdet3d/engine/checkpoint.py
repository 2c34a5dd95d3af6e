"""Strict state-dict checks shared by the loaders that must not fall back to
mmengine's warn-only ``Pretrained`` behaviour (the Stage II teacher, the
SVM probe's backbone)."""
from typing import Mapping

import torch


def state_dict_mismatch(module: torch.nn.Module,
                        state: Mapping[str, torch.Tensor],
                        show: int = 5) -> str:
    """Describe how ``state`` differs from ``module.state_dict()``.

    Args:
        module (nn.Module): the module to be loaded.
        state (Mapping): the state dict to load into it.
        show (int): how many keys of each kind to name.

    Returns:
        str: ``''`` when keys and shapes match exactly, else e.g.
        ``'2 missing keys [a, b], 0 unexpected keys [], 1 shape mismatches
        [c]'``.
    """
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state)
                    if tuple(own[k].shape) != tuple(state[k].shape))
    if not (missing or unexpected or shapes):
        return ''

    def head(keys):
        return ', '.join(keys[:show]) + (' ...' if len(keys) > show else '')

    return (f'{len(missing)} missing keys [{head(missing)}], '
            f'{len(unexpected)} unexpected keys [{head(unexpected)}], '
            f'{len(shapes)} shape mismatches [{head(shapes)}]')
