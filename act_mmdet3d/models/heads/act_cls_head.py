"""Classification head of the ACT / Point-MAE fine-tuning models."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmdet3d.registry import MODELS


@MODELS.register_module()
class ACTClsHead(BaseModule):
    """[cls token, max-pool of group tokens] -> MLP -> class logits.

    The reference ``cls_head_finetune``: 2C -> 256 (BN, ReLU, Dropout 0.5)
    -> 256 (BN, ReLU, Dropout 0.5) -> classes. ``hidden_channels=()`` gives
    the linear-probe head (2C -> classes). Layers sit in ``mlp`` with the
    reference indices (``mlp.0``, ``mlp.1``, ``mlp.4``, ``mlp.5``, ``mlp.8``).

    Args:
        num_classes (int): number of classes.
        in_channels (int): token width C. Defaults to 384.
        cls_channels (int, optional): width of the backbone's
            ``cls_tokens`` entry; defaults to ``in_channels``. ReCon's
            three query tokens give ``3 * C`` (its ``[cls, img, text,
            max]`` head, 4C wide).
        hidden_channels (Sequence[int]): hidden widths. Defaults to (256, 256).
        dropout (float): dropout after each hidden layer. Defaults to 0.5.
        label_smoothing (float): cross-entropy label smoothing. Defaults to 0.
        loss_weight (float): loss weight. Defaults to 1.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 384,
                 hidden_channels: Sequence[int] = (256, 256),
                 cls_channels: Optional[int] = None,
                 dropout: float = 0.5,
                 label_smoothing: float = 0.,
                 loss_weight: float = 1.,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.loss_weight = loss_weight
        layers: List[nn.Module] = []
        width = (cls_channels or in_channels) + in_channels
        for hidden in hidden_channels:
            layers += [
                nn.Linear(width, hidden),
                nn.BatchNorm1d(hidden),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout)
            ]
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        self.mlp = nn.Sequential(*layers)

    @staticmethod
    def pool(tokens: Tensor, cls_token: Tensor) -> Tensor:
        """(B, G, C) tokens and (B, C') cls token(s) -> (B, C' + C)."""
        return torch.cat([cls_token, tokens.max(dim=1)[0]], dim=-1)

    def forward(self, feats: dict) -> Tensor:
        """Logits (B, num_classes) from the backbone's last output."""
        return self.mlp(self.pool(feats['tokens'][-1], feats['cls_tokens'][-1]))

    def loss_by_logits(self, logits: Tensor, labels: Tensor) -> dict:
        """Cross-entropy and training accuracy (%).

        Args:
            logits (Tensor): (B, num_classes).
            labels (Tensor): (B,) int64.
        """
        loss = F.cross_entropy(
            logits, labels, label_smoothing=self.label_smoothing)
        acc = (logits.argmax(-1) == labels).float().mean() * 100
        return dict(loss_cls=loss * self.loss_weight, acc=acc.detach())
