"""bfloat16 autocast training without a GPU."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mmdet3d.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16AutocastOptimWrapper(OptimWrapper):
    """Mixed precision with ``torch.autocast(dtype=torch.bfloat16)``.

    mmengine's ``AmpOptimWrapper`` refuses to run without a GPU (it needs a
    float16 GradScaler). bfloat16 keeps float32's exponent range, so no loss
    scaling is needed and this wrapper only adds the autocast context, on the
    device type the model's parameters live on (CPU or CUDA). Master weights,
    gradients and optimizer states stay float32. ``tools/train.py --amp``
    picks it when CUDA is not available.
    """

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device_type=device, dtype=torch.bfloat16):
            yield
