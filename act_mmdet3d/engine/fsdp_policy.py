"""FSDP wrapping policy for ACT models (``configs/act/*-fsdp-*.py``)."""
from mmengine.registry import FUNCTIONS
from torch import nn


@FUNCTIONS.register_module()
def act_vit_block_wrap_policy(module: nn.Module,
                              recurse: bool,
                              nonwrapped_numel: int,
                              block_names=('Block', )) -> bool:
    """Shard every transformer block as its own FSDP unit.

    The ViT blocks of the student encoder, the decoder and the teacher's
    prompted ViT (timm ``Block``) each become an FSDP unit, gathered in
    their own ``forward``; everything else (tokenizers, DGCNNs, codebook,
    heads, prompts) stays in the root unit, gathered in the root forward.
    The teacher must not be a unit of its own: the pretrainer calls its
    ``extract_targets`` method, which FSDP's forward hooks would not see.
    Use it with ``use_orig_params=True`` (frozen teacher and trainable
    student parameters share the root unit).

    Args:
        module (nn.Module): the candidate module (FSDP's policy protocol).
        recurse (bool): True while FSDP asks whether to descend.
        nonwrapped_numel (int): unused (FSDP's policy protocol).
        block_names (tuple[str]): class names of the modules to wrap.

    Returns:
        bool: descend (``recurse``) / wrap this module.
    """
    if recurse:
        return True
    return type(module).__name__ in block_names
