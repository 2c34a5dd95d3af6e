"""One strict loader of checkpoint weights under a prefix, for the loads
that must not fall back to mmengine's warn-only ``Pretrained`` behaviour
(the Stage II teacher, the SVM probe's backbone, the pictures' modules)."""
import os.path as osp
from typing import Dict, Mapping, Optional

import torch
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_with_prefix,
                                        load_state_dict)


def check_state_dict(module: torch.nn.Module,
                     state: Mapping[str, torch.Tensor],
                     source: str,
                     show: int = 5) -> None:
    """Refuse a state dict whose keys or shapes differ from the module's.

    Args:
        module (nn.Module): the module to be loaded.
        state (Mapping): the state dict to load into it.
        source (str): where ``state`` comes from, named in the error.
        show (int): how many keys of each kind to name.

    Raises:
        RuntimeError: e.g. ``'x.pth does not match the model
        (ACTClassifier): 2 missing keys [a, b], 0 unexpected keys [],
        1 shape mismatches [c]'``.
    """
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state)
                    if tuple(own[k].shape) != tuple(state[k].shape))
    if not (missing or unexpected or shapes):
        return

    def head(keys):
        return ', '.join(keys[:show]) + (' ...' if len(keys) > show else '')

    raise RuntimeError(
        f'{source} does not match the model ({type(module).__name__}): '
        f'{len(missing)} missing keys [{head(missing)}], '
        f'{len(unexpected)} unexpected keys [{head(unexpected)}], '
        f'{len(shapes)} shape mismatches [{head(shapes)}]')


def load_prefixed_state_dict(module: torch.nn.Module,
                             checkpoint: str,
                             prefix: Optional[str],
                             strict: bool = True,
                             map_location: str = 'cpu'
                             ) -> Dict[str, torch.Tensor]:
    """Load the weights of ``checkpoint`` under ``prefix`` into ``module``.

    Args:
        module (nn.Module): the module to load.
        checkpoint (str): an mmengine checkpoint (``state_dict`` inside) or
            a bare state dict, as mmengine's ``_load_checkpoint`` reads it.
        prefix (str, optional): keep the keys under it, stripped (e.g.
            ``'backbone.'``); ``None`` or ``''``: the whole state dict.
        strict (bool): refuse missing or unexpected keys and shape
            mismatches (:func:`check_state_dict`); ``False`` loads what
            fits and logs the rest, as mmengine's ``load_state_dict``.
        map_location (str): as ``torch.load``.

    Returns:
        dict: the state dict loaded, prefix stripped.

    Raises:
        FileNotFoundError: no such file.
        KeyError: the checkpoint holds no key under ``prefix``; the message
            names its top-level names.
        RuntimeError: ``strict`` and the weights do not match the module.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    try:
        if prefix:
            state = _load_checkpoint_with_prefix(prefix, checkpoint,
                                                 map_location)
        else:
            state = _load_checkpoint(checkpoint, map_location)
            state = state.get('state_dict', state)
    except AssertionError:  # mmengine's "prefix is not in the model"
        state = _load_checkpoint(checkpoint, map_location)
        found = sorted({k.split('.')[0] for k in state.get('state_dict',
                                                           state)})
        raise KeyError(f'{checkpoint}: no "{prefix}*" keys (top-level '
                       f'names: {found[:8]})') from None
    if strict:
        check_state_dict(module, state, checkpoint)
    load_state_dict(module, state, strict=strict)
    return state
