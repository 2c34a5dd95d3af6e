"""ThreeDETRHead: 3DETR's decoder, box parametrisation and set loss.

Restated from the reference code (GitHub ``facebookresearch/3detr``,
``models/model_3detr.py`` and ``criterion.py``), as an mmdet3d head that
reads the point-head contract of a backbone (``fp_xyz``, ``fp_features``:
the last entry) plus the scene's box (``point_cloud_range``, added by
:class:`ThreeDETR`). Matching uses mmdet's ``HungarianAssigner`` with the
reference's costs as match costs (``ClassificationCost`` on the (C + 1)-way
logits + :mod:`..task_modules.match_costs_3d`).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce, is_distributed
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet3d.models.layers import aligned_3d_nms
from mmdet3d.registry import MODELS, TASK_UTILS
from mmdet3d.structures import DepthInstance3DBoxes
from ...ops import furthest_point_sample, gather
from ..layers.three_detr_transformer import (DETRMLP, DETRDecoder,
                                             FourierPositionEmbedding,
                                             normalize_to_range)
from ..task_modules.match_costs_3d import aligned_giou_3d

_HEADS = ('sem_cls_head', 'center_head', 'size_head', 'angle_cls_head',
          'angle_residual_head')


def angle_to_class(angle: Tensor, num_bins: int) -> Tuple[Tensor, Tensor]:
    """The reference's ``angle2class``: bin index and residual of a heading.

    Bins of width 2 pi / A centred on 0, 2 pi / A, ...; the residual is
    the offset from the bin centre, in [-pi / A, pi / A).

    Args:
        angle (Tensor): (K, ) radians.
        num_bins (int): A.

    Returns:
        tuple[Tensor, Tensor]: (K, ) int64 classes, (K, ) residuals.
    """
    width = 2 * math.pi / num_bins
    shifted = torch.remainder(torch.remainder(angle, 2 * math.pi) + width / 2,
                              2 * math.pi)
    cls = (shifted / width).long().clamp(max=num_bins - 1)
    return cls, shifted - (cls * width + width / 2)


@MODELS.register_module()
class ThreeDETRHead(BaseModule):
    """3DETR's detection head.

    encoder tokens (B, C_in, N) -> projection MLP -> memory (N, B, d);
    Q queries = FPS of the N token positions, Fourier-embedded and
    projected; decoder (L layers) over zero targets -> (L, Q, B, d) ->
    shared prediction MLPs on every layer -> per layer: class logits
    (C + 1, the last "no object"), centre = query xyz + sigmoid - 0.5
    (metres), size = sigmoid x scene extent, heading = angle bin + residual.

    Training matches every decoder layer separately to the ground truth
    (Hungarian) and sums the losses of all layers (the last layer's keys
    ``loss_*``, the others ``d{l}.loss_*``), with the reference's weights:
    class CE (mean over all queries, "no object" weighted
    ``no_object_weight``), angle class CE and angle residual Huber,
    centre L1 in the [0, 1]-scaled scene, normalised size L1 and 1 - GIoU,
    each summed over matched queries and divided by the number of boxes.

    Args:
        num_classes (int): C (18 for ScanNet, 10 for SUN RGB-D).
        in_channels (int): C_in of the backbone's tokens. Defaults to 256.
        num_angle_bins (int): A (1: no heading, ScanNet; 12: SUN RGB-D).
        num_queries (int): Q (256 ScanNet, 128 SUN RGB-D).
        d_model (int): decoder width. Defaults to 256.
        projection_hidden (Sequence[int]): hidden widths of the
            encoder-to-decoder projection ((256, 256) for 3DETR, (256, )
            for 3DETR-m).
        decoder (dict): :class:`DETRDecoder` arguments (8 layers, 4 heads,
            FFN 256, dropout 0.1).
        mlp_dropout (float): dropout of the prediction MLPs. Defaults to 0.3.
        assigner (dict): the matcher, mmdet's ``HungarianAssigner`` with
            the costs (ScanNet: class 1, GIoU 2).
        loss_weights (dict): weights of ``sem_cls``, ``angle_cls``,
            ``angle_reg``, ``center``, ``size``, ``giou`` (0 skips a loss).
        no_object_weight (float): CE weight of the "no object" class (0.25
            ScanNet, 0.1 SUN RGB-D).
        test_cfg (dict): ``nms_iou`` (0.25), ``score_thr`` (objectness
            threshold, 0.05) and ``per_class_proposal`` (True: every kept
            box is reported once per class with score p(class) x
            objectness, as the reference's evaluation).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 256,
                 num_angle_bins: int = 1,
                 num_queries: int = 256,
                 d_model: int = 256,
                 projection_hidden: Sequence[int] = (256, 256),
                 decoder: dict = dict(
                     num_layers=8, nhead=4, dim_feedforward=256, dropout=0.1),
                 mlp_dropout: float = 0.3,
                 assigner: dict = dict(
                     type='mmdet.HungarianAssigner',
                     match_costs=[
                         dict(type='mmdet.ClassificationCost', weight=1.),
                         dict(type='AxisAlignedGIoU3DCost', weight=2.)
                     ]),
                 loss_weights: dict = dict(
                     sem_cls=1., angle_cls=0.1, angle_reg=0.5, center=5.,
                     size=1., giou=1.),
                 no_object_weight: float = 0.25,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        unknown = set(loss_weights) - {
            'sem_cls', 'angle_cls', 'angle_reg', 'center', 'size', 'giou'
        }
        if unknown:
            raise KeyError(f'ThreeDETRHead.loss_weights: unknown keys '
                           f'{sorted(unknown)}')
        self.num_classes = num_classes
        self.num_angle_bins = num_angle_bins
        self.num_queries = num_queries
        self.loss_weights = dict(loss_weights)
        self.test_cfg = dict(nms_iou=0.25, score_thr=0.05,
                             per_class_proposal=True)
        self.test_cfg.update(test_cfg or {})
        self.assigner = TASK_UTILS.build(assigner)
        cls_weight = torch.ones(num_classes + 1)
        cls_weight[-1] = no_object_weight
        self.register_buffer('cls_weight', cls_weight, persistent=False)

        self.encoder_to_decoder_projection = DETRMLP(
            in_channels, projection_hidden, d_model, norm='bn1d',
            out_act=True, out_norm=True, out_bias=False)
        self.pos_embedding = FourierPositionEmbedding(d_model)
        self.query_projection = DETRMLP(
            d_model, [d_model], d_model, out_act=True, hidden_bias=True)
        self.decoder = DETRDecoder(d_model=d_model, **decoder)
        outs = (num_classes + 1, 3, 3, num_angle_bins, num_angle_bins)
        self.mlp_heads = torch.nn.ModuleDict({
            name: DETRMLP(d_model, [d_model, d_model], k, norm='bn1d',
                          dropout=mlp_dropout)
            for name, k in zip(_HEADS, outs)
        })

    # ------------------------------------------------------------ forward
    def forward(self, feats: Dict) -> List[Dict[str, Tensor]]:
        """Box predictions of every decoder layer.

        Args:
            feats (dict): ``fp_xyz`` [.., (B, N, 3)], ``fp_features``
                [.., (B, C_in, N)] and ``point_cloud_range`` ((B, 3) min,
                (B, 3) max of the input points).

        Returns:
            list[dict]: L dicts (the last = last layer) of (B, Q, ...)
            tensors: ``cls_logits`` (C + 1), ``center`` (3, metres),
            ``center_normalized``, ``size_normalized``, ``size`` (metres),
            ``angle_logits`` (A), ``angle_residual_normalized`` (A),
            ``angle`` (radians), plus ``query_xyz``.
        """
        enc_xyz = feats['fp_xyz'][-1]
        xyz_min, xyz_max = feats['point_cloud_range']
        memory = self.encoder_to_decoder_projection(
            feats['fp_features'][-1]).permute(2, 0, 1)
        if enc_xyz.size(1) < self.num_queries:
            raise ValueError(f'ThreeDETRHead: {self.num_queries} queries '
                             f'need at least as many encoder tokens, got '
                             f'{enc_xyz.size(1)}')
        query_xyz = gather(enc_xyz,
                           furthest_point_sample(enc_xyz, self.num_queries))
        query_pos = self.query_projection(
            self.pos_embedding(query_xyz, xyz_min, xyz_max)).permute(2, 0, 1)
        enc_pos = self.pos_embedding(enc_xyz, xyz_min, xyz_max).permute(2, 0, 1)
        box_feats = self.decoder(
            torch.zeros_like(query_pos), memory, enc_pos, query_pos)
        return self.box_predictions(query_xyz, xyz_min, xyz_max, box_feats)

    def box_predictions(self, query_xyz: Tensor, xyz_min: Tensor,
                        xyz_max: Tensor,
                        box_feats: Tensor) -> List[Dict[str, Tensor]]:
        """The reference's ``get_box_predictions``.

        Args:
            query_xyz (Tensor): (B, Q, 3).
            xyz_min, xyz_max (Tensor): (B, 3) scene box.
            box_feats (Tensor): (L, Q, B, d) decoder outputs.

        Returns:
            list[dict]: see :meth:`forward`.
        """
        num_layers, q, b, d = box_feats.shape
        x = box_feats.permute(0, 2, 3, 1).reshape(num_layers * b, d, q)
        heads = {
            name: self.mlp_heads[name](x).transpose(1, 2).reshape(
                num_layers, b, q, -1)
            for name in _HEADS
        }
        center_offset = heads['center_head'].sigmoid() - 0.5
        size_normalized = heads['size_head'].sigmoid()
        scene_scale = (xyz_max - xyz_min).clamp(min=0.1)[:, None]
        res_norm = heads['angle_residual_head']
        residual = res_norm * (math.pi / res_norm.size(-1))
        outputs = []
        for i in range(num_layers):
            center = query_xyz + center_offset[i]
            outputs.append(
                dict(
                    query_xyz=query_xyz,
                    cls_logits=heads['sem_cls_head'][i],
                    center=center,
                    center_normalized=normalize_to_range(
                        center, xyz_min, xyz_max),
                    size_normalized=size_normalized[i],
                    size=size_normalized[i] * scene_scale,
                    angle_logits=heads['angle_cls_head'][i],
                    angle_residual_normalized=res_norm[i],
                    angle=self._angle(heads['angle_cls_head'][i],
                                      residual[i])))
        return outputs

    def _angle(self, logits: Tensor, residual: Tensor) -> Tensor:
        """(B, Q, A) bin logits and residuals -> (B, Q) heading."""
        if logits.size(-1) == 1:
            # no heading (ScanNet): 0, kept in the graph as the reference
            return (logits * 0 + residual * 0).squeeze(-1).clamp(min=0)
        cls = logits.argmax(-1, keepdim=True).detach()
        angle = cls.squeeze(-1) * (2 * math.pi / logits.size(-1)) + \
            residual.gather(-1, cls).squeeze(-1)
        return torch.where(angle > math.pi, angle - 2 * math.pi, angle)

    # ------------------------------------------------------------ targets
    def get_targets(self, batch_data_samples: list, xyz_min: Tensor,
                    xyz_max: Tensor) -> List[InstanceData]:
        """Ground-truth boxes of each scene in the head's terms.

        Returns:
            list[InstanceData]: per scene (K boxes): ``labels``,
            ``centers`` / ``sizes`` (K, 3) metres (gravity centre, extents
            along x, y, z), ``centers_normalized``, ``sizes_normalized``
            (by the scene extent), ``angles``, ``angle_cls``,
            ``angle_residual``.
        """
        targets = []
        for i, sample in enumerate(batch_data_samples):
            gt = sample.gt_instances_3d
            boxes = gt.bboxes_3d
            device = xyz_min.device
            centers = boxes.gravity_center.to(device)
            sizes = boxes.dims.to(device)
            angles = (boxes.yaw.to(device) if boxes.with_yaw else
                      centers.new_zeros(len(boxes)))
            extent = (xyz_max[i] - xyz_min[i])
            angle_cls, angle_res = angle_to_class(angles, self.num_angle_bins)
            targets.append(
                InstanceData(
                    labels=gt.labels_3d.to(device),
                    centers=centers,
                    sizes=sizes,
                    centers_normalized=(centers - xyz_min[i]) / extent,
                    sizes_normalized=sizes / extent,
                    angles=angles,
                    angle_cls=angle_cls,
                    angle_residual=angle_res))
        return targets

    def assign(self, pred: Dict[str, Tensor],
               targets: List[InstanceData]) -> Tensor:
        """Hungarian matching of one layer's queries, scene by scene.

        Returns:
            Tensor: (B, Q) int64, 0 = unmatched, k + 1 = matched to box k.
        """
        prob = pred['cls_logits'].detach().softmax(-1)
        inds = []
        for b, gt in enumerate(targets):
            preds = InstanceData(
                scores=pred['cls_logits'][b].detach(),
                centers=pred['center'][b].detach(),
                sizes=pred['size'][b].detach(),
                angles=pred['angle'][b].detach(),
                centers_normalized=pred['center_normalized'][b].detach(),
                objectness=1 - prob[b, :, -1])
            inds.append(self.assigner.assign(preds, gt).gt_inds)
        return torch.stack(inds)

    # ------------------------------------------------------------- losses
    def loss(self, feats: Dict, batch_data_samples: list,
             **kwargs) -> Dict[str, Tensor]:
        """The set losses of every decoder layer (see the class doc)."""
        preds = self(feats)
        targets = self.get_targets(batch_data_samples,
                                   *feats['point_cloud_range'])
        total = torch.tensor(
            float(sum(len(t) for t in targets)),
            device=preds[-1]['center'].device)
        if is_distributed():
            all_reduce(total, op='mean')
        num_boxes = max(total.item(), 1.)
        losses = {}
        for i, pred in enumerate(preds):
            prefix = '' if i == len(preds) - 1 else f'd{i}.'
            for k, v in self.loss_by_layer(pred, targets, num_boxes).items():
                losses[prefix + k] = v
        return losses

    def loss_by_layer(self, pred: Dict[str, Tensor],
                      targets: List[InstanceData],
                      num_boxes: float) -> Dict[str, Tensor]:
        """Weighted losses of one decoder layer (``cardinality_error`` is
        logged only)."""
        gt_inds = self.assign(pred, targets)  # (B, Q)
        matched = gt_inds > 0
        w = self.loss_weights
        logits = pred['cls_logits']
        cls_target = torch.full(gt_inds.shape, self.num_classes,
                                dtype=torch.long, device=logits.device)
        rows, cols = [], []  # (scene, query) of matches, gt index
        for b, gt in enumerate(targets):
            q = matched[b].nonzero(as_tuple=True)[0]
            k = gt_inds[b, q] - 1
            cls_target[b, q] = gt.labels[k]
            rows.append(torch.stack([torch.full_like(q, b), q], -1))
            cols.append(k)
        rows = torch.cat(rows)
        b_idx, q_idx = rows[:, 0], rows[:, 1]

        def gt_field(name):
            return torch.cat([
                getattr(t, name)[k] for t, k in zip(targets, cols)
            ]) if rows.numel() else logits.new_zeros((0, ))

        losses = {}
        if w.get('sem_cls', 0) > 0:
            losses['loss_sem_cls'] = w['sem_cls'] * F.cross_entropy(
                logits.reshape(-1, logits.size(-1)), cls_target.reshape(-1),
                weight=self.cls_weight.to(logits.dtype))
        zero = logits.sum() * 0
        if rows.numel():
            angle_logits = pred['angle_logits'][b_idx, q_idx]
            angle_cls = gt_field('angle_cls')
            res_target = gt_field('angle_residual') / (
                math.pi / self.num_angle_bins)
            res = pred['angle_residual_normalized'][b_idx, q_idx].gather(
                -1, angle_cls[:, None]).squeeze(-1)
            pairs = dict(
                angle_cls=F.cross_entropy(
                    angle_logits, angle_cls, reduction='sum'),
                angle_reg=F.huber_loss(
                    res, res_target, reduction='sum', delta=1.),
                center=(pred['center_normalized'][b_idx, q_idx] -
                        gt_field('centers_normalized')).abs().sum(),
                size=(pred['size_normalized'][b_idx, q_idx] -
                      gt_field('sizes_normalized')).abs().sum())
            if w.get('giou', 0) > 0:
                giou = aligned_giou_3d(
                    pred['center'][b_idx, q_idx][:, None],
                    pred['size'][b_idx, q_idx][:, None],
                    gt_field('centers')[:, None],
                    gt_field('sizes')[:, None])
                pairs['giou'] = (1 - giou).sum()
        else:
            pairs = {k: zero for k in ('angle_cls', 'angle_reg', 'center',
                                       'size', 'giou')}
        for name, value in pairs.items():
            if w.get(name, 0) > 0:
                losses[f'loss_{name}'] = w[name] * value / num_boxes
        with torch.no_grad():
            n_pred = (logits.argmax(-1) != self.num_classes).sum(1).float()
            n_gt = logits.new_tensor([float(len(t)) for t in targets])
            losses['cardinality_error'] = (n_pred - n_gt).abs().mean()
        return losses

    # ---------------------------------------------------------- inference
    def predict(self, feats: Dict, batch_data_samples: list,
                **kwargs) -> List[InstanceData]:
        """Boxes of the last decoder layer, after 3D NMS.

        As the reference's evaluation (``parse_predictions``): NMS among
        boxes of the same arg-max class, by objectness (1 - p(no object)),
        IoU ``nms_iou``; boxes with objectness above ``score_thr`` are
        kept, each reported for every class with score p(class) x
        objectness (``per_class_proposal``), else once for its arg-max
        class.

        Returns:
            list[InstanceData]: ``bboxes_3d`` (DepthInstance3DBoxes,
            gravity-centre origin converted to mmdet3d's), ``scores_3d``,
            ``labels_3d``.
        """
        pred = self(feats)[-1]
        results = []
        for b in range(pred['center'].size(0)):
            prob = pred['cls_logits'][b].softmax(-1)
            obj = 1 - prob[:, -1]
            sem = prob[:, :-1]
            cls = sem.argmax(-1)
            keep = self._nms(pred['center'][b], pred['size'][b],
                             pred['angle'][b], obj, cls)
            keep = keep[obj[keep] > self.test_cfg['score_thr']]
            box = torch.cat([pred['center'][b], pred['size'][b]], -1)[keep]
            if self.num_angle_bins > 1:
                box = torch.cat([box, pred['angle'][b][keep, None]], -1)
            if self.test_cfg['per_class_proposal']:
                n = keep.numel()
                box = box.repeat_interleave(self.num_classes, 0)
                scores = (sem[keep] * obj[keep, None]).reshape(-1)
                labels = torch.arange(
                    self.num_classes, device=box.device).repeat(n)
            else:
                scores = sem[keep, cls[keep]] * obj[keep]
                labels = cls[keep]
            results.append(
                InstanceData(
                    bboxes_3d=DepthInstance3DBoxes(
                        box.detach(),
                        box_dim=box.size(-1),
                        with_yaw=self.num_angle_bins > 1,
                        origin=(0.5, 0.5, 0.5)),
                    scores_3d=scores.detach(),
                    labels_3d=labels))
        return results

    def _nms(self, center: Tensor, size: Tensor, angle: Tensor, score: Tensor,
             cls: Tensor) -> Tensor:
        """Indices kept by the reference's 3D NMS: among boxes of the same
        class, on the axis-aligned extents of their (rotated) corners."""
        cos, sin = angle.cos().abs(), angle.sin().abs()
        half = torch.stack([
            size[:, 0] * cos + size[:, 1] * sin,
            size[:, 0] * sin + size[:, 1] * cos, size[:, 2]
        ], -1) / 2
        minmax = torch.cat([center - half, center + half], -1)
        return aligned_3d_nms(minmax, score, cls, self.test_cfg['nms_iou'])
