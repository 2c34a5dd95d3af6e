"""ACTDistillHead: Stage II prediction projection and cosine loss."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmdet3d.registry import MODELS

#: how the teacher targets are normalised before the cosine loss
TARGET_NORMS = ('none', 'batch', 'instance', 'token')


@MODELS.register_module()
class ACTDistillHead(BaseModule):
    """Linear projection of the decoder outputs + negative cosine loss.

    The reference ``proj_head`` (``nn.Linear(384, 384)``, 147,840
    parameters, PyTorch default init) and its ``cosine`` loss: for each
    cloud ``1 + mean_m(-cos(pred_m, target_m))`` (lightly's
    ``NegativeCosineSimilarity`` over channels, eps 1e-8), averaged over the
    batch. Every cloud has the same number of masked groups, so this equals
    ``1 + mean(-cos)`` over all masked groups of the batch; 0 is a perfect
    match, 2 the worst.

    ``target_norm`` normalises the targets before the loss (an option of
    this implementation; the paper uses none). A cosine is blind to a
    target's scale but not to an offset shared by all targets: when a
    constant explains most of the targets (features after a LeakyReLU are
    mostly positive), predicting that constant already scores a high
    cosine and the student learns little. The options, all without
    learnable parameters and without gradient into the targets:

    - ``'none'`` (default, the paper): the teacher features as they are;
    - ``'batch'``: centred per channel over all masked groups of the batch
      (the shared offset removed, per-cloud differences kept);
    - ``'instance'``: normalised per channel over the masked groups of each
      cloud (mean 0, variance 1), as data2vec's instance-normalised
      targets;
    - ``'token'``: normalised over the channels of each group (a layer norm
      without affine), as MAE's normalised-pixel target.

    Args:
        in_channels (int): decoder width. Defaults to 384.
        out_channels (int): teacher feature width. Defaults to 384.
            :class:`ACTPretrainer` replaces ``'auto'`` by the width of the
            teacher layer it distils (``target_kwargs.layer``).
        eps (float): ``cosine_similarity`` eps. Defaults to 1e-8.
        target_norm (str): ``'none'``, ``'batch'``, ``'instance'`` or
            ``'token'`` (see above). Defaults to ``'none'``.
        loss_weight (float): loss weight. Defaults to 1.
        init_cfg (dict, optional): initialisation config.
    """

    #: what :class:`ACTPretrainer` hands to :meth:`loss` as the target
    target = 'features'

    def __init__(self,
                 in_channels: int = 384,
                 out_channels: int = 384,
                 eps: float = 1e-8,
                 target_norm: str = 'none',
                 loss_weight: float = 1.,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if target_norm not in TARGET_NORMS:
            raise ValueError(f'target_norm must be one of {TARGET_NORMS}, '
                             f'got {target_norm!r}')
        self.target_norm = target_norm
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.eps = eps
        self.loss_weight = loss_weight
        self.proj = nn.Linear(in_channels, out_channels)

    def forward(self, feats: Tensor) -> Tensor:
        """(B, M, in_channels) decoder outputs -> (B, M, out_channels)."""
        return self.proj(feats)

    def normalize_target(self, target: Tensor) -> Tensor:
        """(B, M, C) targets -> (B, M, C) normalised by ``target_norm``."""
        target = target.detach().float()
        if self.target_norm == 'batch':
            return target - target.mean(dim=(0, 1), keepdim=True)
        if self.target_norm == 'instance':
            if target.size(1) < 2:
                raise ValueError("target_norm='instance' needs at least 2 "
                                 'masked groups per cloud')
            return F.instance_norm(target.transpose(1, 2),
                                   eps=1e-6).transpose(1, 2)
        if self.target_norm == 'token':
            return F.layer_norm(target, target.shape[-1:], eps=1e-6)
        return target

    def loss_by_pred(self, pred: Tensor, target: Tensor) -> Tensor:
        """``1 + mean(-cos)`` between (B, M, C) predictions and targets."""
        if pred.shape != target.shape:
            raise ValueError(f'prediction {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} shapes differ')
        cos = F.cosine_similarity(
            pred.float(), target.float(), dim=-1, eps=self.eps)  # (B, M)
        return (1. - cos.mean(dim=1)).mean() * self.loss_weight

    def loss(self, feats: Tensor, target: Tensor) -> dict:
        """Project the decoder outputs and compare them with the targets.

        Args:
            feats (Tensor): (B, M, in_channels) decoder outputs at the masked
                groups.
            target (Tensor): (B, M, out_channels) teacher features at the
                same groups (normalised here by ``target_norm``).

        Returns:
            dict: ``loss`` (the weighted ``1 + mean(-cos)``) and ``cos_sim``
            (mean cosine similarity, detached, for logging).
        """
        pred = self(feats)
        target = self.normalize_target(target)
        loss = self.loss_by_pred(pred, target)
        cos = F.cosine_similarity(
            pred.detach().float(), target.float(), dim=-1, eps=self.eps)
        return dict(loss=loss, cos_sim=cos.mean())
