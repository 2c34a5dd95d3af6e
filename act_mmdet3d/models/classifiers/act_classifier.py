"""Point-cloud classifier: ACT backbone + classification head."""
from typing import List, Optional

import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample
from ..data_preprocessors import build_data_preprocessor, stack_points


@MODELS.register_module()
class ACTClassifier(BaseModel):
    """Fine-tuning model for shape classification.

    Args:
        backbone (dict): the ACT backbone config (``ACTPointTransformer``).
        head (dict): the head config (``ACTClsHead``).
        num_votes (int): test-time voting; 1 disables it. With V > 1 the
            logits of V augmented copies of each cloud are averaged, each
            copy scaled per axis by U[vote_scale] and translated by
            U[-vote_translate, vote_translate] (the reference's 10-view vote
            with ``PointcloudScaleAndTranslate``; the reference also redraws
            a random 1024 of 1200 FPS points per view, which needs the
            larger cloud and is left to the data pipeline).
        test_num_votes (int, optional): the votes of ``test_step`` (the
            test loop) when they differ from the validation loop's
            ``num_votes``, e.g. ``num_votes=1, test_num_votes=10``: no vote
            during training, the 10-view vote at test. ``None``: as
            ``num_votes``.
        vote_scale (tuple[float]): range of the per-axis vote scales.
        vote_translate (float): range of the per-axis vote translations.
        vote_seed (int): seed of the vote's own random generator, so that
            a vote is deterministic and does not disturb the global RNG.
        data_preprocessor (dict, optional): defaults to
            ``PointDataPreprocessor``.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 num_votes: int = 1,
                 test_num_votes: Optional[int] = None,
                 vote_scale=(2. / 3, 3. / 2),
                 vote_translate=0.2,
                 vote_seed=0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)
        for key, votes in (('num_votes', num_votes),
                           ('test_num_votes', test_num_votes)):
            if votes is not None and votes < 1:
                raise ValueError(f'{key} must be >= 1, got {votes}')
        self.num_votes = num_votes
        self.test_num_votes = test_num_votes
        self.vote_scale = vote_scale
        self.vote_translate = vote_translate
        self.vote_seed = vote_seed

    def test_step(self, data):
        """The test loop's step: predictions with ``test_num_votes``."""
        if self.test_num_votes is None:
            return super().test_step(data)
        val_votes, self.num_votes = self.num_votes, self.test_num_votes
        try:
            return super().test_step(data)
        finally:
            self.num_votes = val_votes

    def extract_feat(self, points: Tensor) -> dict:
        """Backbone features of (B, N, C) points (xyz first)."""
        return self.backbone(points[..., :3].contiguous())

    def forward(self, inputs, data_samples=None, mode='tensor'):
        points = stack_points(inputs)
        if mode == 'loss':
            return self.loss(points, data_samples)
        if mode == 'predict':
            return self.predict(points, data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(points))
        raise RuntimeError(f'Invalid mode "{mode}".')

    @staticmethod
    def _labels(data_samples: List[Det3DDataSample], device) -> Tensor:
        labels = []
        for sample in data_samples:
            if 'gt_label' not in sample:
                raise KeyError('data sample has no gt_label; the pipeline '
                               'must end with PackPointClsInputs')
            labels.append(torch.as_tensor(sample.gt_label).view(-1)[:1])
        return torch.cat(labels).to(device=device, dtype=torch.long)

    def loss(self, points: Tensor, data_samples) -> dict:
        logits = self.head(self.extract_feat(points))
        return self.head.loss_by_logits(
            logits, self._labels(data_samples, logits.device))

    @torch.no_grad()
    def predict_logits(self, points: Tensor) -> Tensor:
        """Logits (B, num_classes); averaged over votes when num_votes > 1."""
        if self.num_votes == 1:
            return self.head(self.extract_feat(points))
        gen = torch.Generator(device=points.device).manual_seed(
            self.vote_seed)
        low, high = self.vote_scale
        b = points.size(0)
        total = 0
        for _ in range(self.num_votes):
            scale = low + (high - low) * torch.rand(
                b, 1, 3, generator=gen, device=points.device)
            shift = self.vote_translate * (2 * torch.rand(
                b, 1, 3, generator=gen, device=points.device) - 1)
            xyz = points[..., :3] * scale + shift
            total = total + self.head(self.extract_feat(xyz))
        return total / self.num_votes

    def predict(self, points: Tensor, data_samples=None):
        logits = self.predict_logits(points)
        scores = logits.softmax(dim=-1)
        if data_samples is None:
            data_samples = [Det3DDataSample() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.pred_score = score
            sample.pred_label = score.argmax().view(1)
        return data_samples
