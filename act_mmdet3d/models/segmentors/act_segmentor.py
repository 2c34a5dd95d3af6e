"""Point segmentor: ACT backbone + dense head, mmdet3d EncoderDecoder3D."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import ConfigDict
from torch import Tensor

from mmdet3d.models.segmentors import EncoderDecoder3D
from mmdet3d.registry import MODELS
from mmdet3d.structures import PointData
from mmdet3d.structures.det3d_data_sample import SampleList
from ..data_preprocessors import build_data_preprocessor, stack_points


@MODELS.register_module()
class ACTSegmentor(EncoderDecoder3D):
    """ShapeNetPart part segmentation and S3DIS semantic segmentation.

    mmdet3d's ``EncoderDecoder3D`` (losses, ``slide`` / ``whole``
    inference, ``pred_pts_seg`` outputs) with the ACT backbone, whose feature
    dict is extended with the input ``points`` and, for part segmentation,
    each sample's ``category`` (``metainfo['category']``, the index of its
    ShapeNetPart category), as :class:`ACTSegHead` reads them.

    With ``category_num_parts`` the part prediction of a shape is restricted
    to its category's parts (the reference test: ``argmax`` over the logits
    of ``seg_classes[cat]``); the categories' part ids are consecutive, in
    category order (ShapeNetPart: Airplane 0-3, Bag 4-5, ...).

    Args:
        backbone (dict): ``ACTPointTransformer`` config.
        decode_head (dict): ``ACTSegHead`` config.
        category_num_parts (Sequence[int], optional): parts per category, in
            category order. None: no restriction (semantic segmentation).
        train_cfg, test_cfg (dict, optional): as ``EncoderDecoder3D``;
            ``test_cfg`` defaults to ``dict(mode='whole')``, which predicts a
            whole batch of equally sized clouds at once.
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 category_num_parts: Optional[Sequence[int]] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None,
                 **kwargs):
        super().__init__(
            backbone=backbone,
            decode_head=decode_head,
            train_cfg=train_cfg,
            test_cfg=ConfigDict(test_cfg or dict(mode='whole')),
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg,
            **kwargs)
        self.category_parts = None
        if category_num_parts is not None:
            counts = [int(c) for c in category_num_parts]
            if sum(counts) != self.num_classes or min(counts) < 1:
                raise ValueError(
                    f'category_num_parts {counts} must be positive and sum '
                    f'to the head\'s num_classes={self.num_classes}')
            starts = torch.tensor([0] + counts[:-1]).cumsum(0).tolist()
            self.category_parts = [
                list(range(s, s + c)) for s, c in zip(starts, counts)
            ]

    # --------------------------------------------------------------- helpers
    @staticmethod
    def _categories(metas: List[dict], device) -> Optional[Tensor]:
        """(B,) int64 ``category`` of each sample, None if absent."""
        if not metas or 'category' not in metas[0]:
            return None
        missing = [i for i, m in enumerate(metas) if 'category' not in m]
        if missing:
            raise ValueError(f'samples {missing} of the batch have no '
                             '"category" in their metainfo')
        return torch.tensor([int(m['category']) for m in metas],
                            dtype=torch.long, device=device)

    def extract_feat(self, batch_inputs: Tensor) -> dict:
        """Backbone outputs of (B, N, 3+) points, plus the points."""
        feats = self.backbone(batch_inputs)
        if self.with_neck:
            feats = self.neck(feats)
        feats['points'] = batch_inputs
        return feats

    def _features(self, points: Tensor, metas: List[dict]) -> dict:
        feats = self.extract_feat(points)
        feats['category'] = self._categories(metas, points.device)
        return feats

    # ----------------------------------------------------------------- modes
    def loss(self, batch_inputs_dict: dict,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses of a batch; see ``EncoderDecoder3D.loss``."""
        points = stack_points(batch_inputs_dict)
        metas = [s.metainfo for s in batch_data_samples]
        feats = self._features(points, metas)
        losses = self._decode_head_forward_train(feats, batch_data_samples)
        if self.with_auxiliary_head:
            losses.update(
                self._auxiliary_head_forward_train(feats, batch_data_samples))
        if self.with_regularization_loss:
            losses.update(self._loss_regularization_forward_train())
        return losses

    def encode_decode(self, batch_inputs: Tensor,
                      batch_input_metas: List[dict]) -> Tensor:
        """Logits (B, num_classes, N) of (B, N, 3+) points."""
        feats = self._features(batch_inputs, batch_input_metas)
        return self.decode_head.predict(feats, batch_input_metas,
                                        self.test_cfg)

    def predict(self,
                batch_inputs_dict: dict,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """``pred_pts_seg`` of every sample.

        ``whole`` mode runs the batch at once (equal cloud sizes, as a
        part-segmentation loader gives); ``slide`` mode is mmdet3d's
        per-scene sliding-window inference (S3DIS).
        """
        points = batch_inputs_dict['points']
        sizes = {tuple(p.shape) for p in points}
        if self.test_cfg.get('mode', 'whole') != 'whole' or len(sizes) != 1:
            return super().predict(batch_inputs_dict, batch_data_samples,
                                   rescale)
        metas = [s.metainfo for s in batch_data_samples]
        logits = self.encode_decode(stack_points(points), metas)
        return self.postprocess_result(list(logits), batch_data_samples)

    def _forward(self,
                 batch_inputs_dict: dict,
                 batch_data_samples: Optional[SampleList] = None) -> Tensor:
        """Raw logits (B, num_classes, N) (``mode='tensor'``)."""
        points = stack_points(batch_inputs_dict)
        metas = [s.metainfo for s in batch_data_samples or []]
        return self.decode_head.forward(self._features(points, metas))

    def postprocess_result(self, seg_logits_list: List[Tensor],
                           batch_data_samples: SampleList) -> SampleList:
        """Argmax per point, within the sample's category's parts if set.

        Args:
            seg_logits_list (list[Tensor]): (num_classes, N) per sample.
        """
        if self.category_parts is None:
            return super().postprocess_result(seg_logits_list,
                                              batch_data_samples)
        for logits, sample in zip(seg_logits_list, batch_data_samples):
            category = sample.metainfo.get('category')
            if category is None:
                raise ValueError('part segmentation needs the sample\'s '
                                 '"category" to restrict its prediction')
            if not 0 <= int(category) < len(self.category_parts):
                raise ValueError(
                    f'category {category} is out of range for '
                    f'{len(self.category_parts)} categories')
            parts = self.category_parts[int(category)]
            pred = logits[parts].argmax(dim=0) + parts[0]
            sample.set_data({
                'pts_seg_logits': PointData(pts_seg_logits=logits),
                'pred_pts_seg': PointData(pts_semantic_mask=pred)
            })
        return batch_data_samples
