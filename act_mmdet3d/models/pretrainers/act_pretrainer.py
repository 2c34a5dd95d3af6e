"""ACTPretrainer: Stage II masked point modeling distilled from a teacher."""
from typing import Dict, List, Optional, Union

import os.path as osp

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel
from torch import Tensor

from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample
from ...engine.checkpoint import load_prefixed_state_dict
from ..data_preprocessors import build_data_preprocessor, stack_points
from ..layers.point_tokenizer import PointGroups

TEACHER_MODES = ('reference', 'eval')
TEACHER_DTYPES = {'float32': torch.float32, 'bfloat16': torch.bfloat16}


def load_teacher_checkpoint(teacher: torch.nn.Module,
                            filename: str,
                            prefix: Optional[str] = None) -> None:
    """Load a Stage I checkpoint into ``teacher``, strictly
    (:func:`~act_mmdet3d.engine.checkpoint.load_prefixed_state_dict`).

    Args:
        teacher (nn.Module): the target generator.
        filename (str): an mmengine checkpoint (``state_dict`` inside) or a
            bare state dict.
        prefix (str, optional): keep only keys starting with it, stripped.

    Raises:
        FileNotFoundError: the file does not exist.
        KeyError / RuntimeError: no key under ``prefix``, missing or
            unexpected keys, or shape mismatches; the message names the
            file.
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'teacher checkpoint {filename!r} (target_generator.init_cfg.'
            'checkpoint) does not exist; train Stage I first, e.g. '
            'python tools/train.py configs/act/'
            'act-autoencoder_vit-b-p16_1xb64-coslr-300e_shapenet55.py')
    try:
        state = load_prefixed_state_dict(teacher, filename, prefix)
    except RuntimeError as err:
        raise RuntimeError(
            f'teacher checkpoint: {err}. Is it the Stage I checkpoint of '
            'this teacher config (same widths, ViT, prompts)? A Stage II '
            "checkpoint needs prefix='target_generator.'.") from None
    print_log(f'loaded the teacher from {filename} ({len(state)} tensors, '
              'strict)', logger='current')


def head_target(head: dict) -> str:
    """What a Stage II head config compares its predictions with: the class
    attribute ``target`` of the module it builds (``type`` a name or a
    class): ``'points'`` (no teacher needed) or ``'features'`` (default).

    Raises:
        KeyError: ``type`` is not a registered model module.
    """
    kind = head['type']
    cls = kind if isinstance(kind, type) else MODELS.get(kind)
    if cls is None:
        raise KeyError(f'head type {kind!r} is not a registered model '
                       'module')
    return getattr(cls, 'target', 'features')


@MODELS.register_module()
class ACTPretrainer(BaseModel):
    """ACT Stage II: masked point modeling with a frozen cross-modal teacher.

    ``backbone + neck + head + target_generator``, as mmpretrain's MAE /
    BEiT v2 (the reference ``ACT_PointDistillation``)::

        groups  = backbone.group(points)                 # FPS + kNN, once
        latent  = backbone(points, groups)               # visible tokens
        pred    = neck(latent, centers, mask)            # + mask tokens
        target  = teacher.extract_targets(groups, **target_kwargs)[mask]
        loss    = head.loss(pred, target)                # 1 + mean(-cos)

    The grouping is computed once per batch and handed to both the student
    and the teacher, so the targets describe exactly the groups the student
    masked. The teacher is frozen: its parameters have
    ``requires_grad=False`` from construction on (so mmengine's optimizer
    constructor skips them whenever ``paramwise_cfg`` is set, as in the ACT
    schedules), it runs under ``torch.no_grad()``, and ``train()`` never
    unfreezes it. Its weights come from its own ``init_cfg`` (e.g.
    ``dict(type='Pretrained', checkpoint='work_dirs/.../epoch_300.pth')``),
    applied by ``init_weights``.

    The saved state dict holds ``backbone.*``, ``neck.*``, ``head.*`` and
    ``target_generator.*``; downstream models load the student with
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    Args:
        backbone (dict): the student, ``ACTPointTransformer`` with
            ``mask_ratio > 0`` (0.8 in ACT) and its last block as output.
        neck (dict): the masked decoder, ``ACTDecoder``.
        head (dict): the prediction head and loss: ``ACTDistillHead``
            (ACT: teacher features, cosine loss; ``out_channels='auto'``
            takes the width of the distilled teacher layer) or
            ``PointReconHead`` (Point-MAE-style: the masked groups' points,
            Chamfer-L2; its class attribute ``target = 'points'``), so ACT
            vs MAE-style targets is this one switch.
        target_generator (dict, optional): the frozen teacher. It must
            provide ``extract_targets(groups: PointGroups, **target_kwargs)``
            returning (B, G, C) per-group features (for ACT:
            ``ACTTeacherAutoencoder``'s output after its second DGCNN). Not
            built (may be None) with a point-target head.
        teacher_mode (str): the module mode of the teacher.

            - ``'reference'`` (default): as the reference code, where the
              teacher is a submodule of a model in train mode: the teacher
              module follows the pretrainer's ``train()`` / ``eval()``, so
              during training its BatchNorm uses batch statistics (and
              updates its running statistics, which are buffers, not
              weights) and its prompt dropout is active.
            - ``'eval'``: the teacher module always stays in eval mode
              (running statistics, no dropout).
        target_kwargs (dict, optional): keyword arguments passed verbatim to
            ``extract_targets``. The reference samples the teacher's
            codebook with hard Gumbel-softmax at temperature 1 (with Gumbel
            noise), i.e. ``dict(hard=True, tau=1.0)`` for
            ``ACTTeacherAutoencoder`` (its defaults); ``layer`` picks the
            teacher layer (``'output'``, after DGCNN 2, by default).
            Defaults to ``{}``.
        teacher_dtype (str): ``'float32'`` (default) runs the teacher in
            float32, with any outer autocast disabled; ``'bfloat16'`` runs
            it under bfloat16 autocast on the points' device. Targets are
            returned as float32 either way.
        data_preprocessor (dict, optional): defaults to
            ``PointDataPreprocessor`` (points stacked to (B, N, 3+)).
        init_cfg (dict, optional): initialisation config of the whole model.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 target_generator: Optional[dict] = None,
                 teacher_mode: str = 'reference',
                 target_kwargs: Optional[dict] = None,
                 teacher_dtype: str = 'float32',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if teacher_mode not in TEACHER_MODES:
            raise ValueError(f'teacher_mode must be one of {TEACHER_MODES}, '
                             f'got {teacher_mode!r}')
        if teacher_dtype not in TEACHER_DTYPES:
            raise ValueError('teacher_dtype must be one of '
                             f'{tuple(TEACHER_DTYPES)}, got {teacher_dtype!r}')
        super().__init__(
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.target_kwargs = dict(target_kwargs or {})
        self.target = head_target(head)
        if self.target == 'points':
            # Point-MAE-style: the masked groups' points are the target
            if target_generator is not None:
                print_log(f'{head["type"]} reconstructs the masked points: '
                          'no teacher (target_generator) is built',
                          logger='current')
            self.target_generator = None
        else:
            if target_generator is None:
                raise ValueError(
                    f'head {head["type"]} distils teacher features: '
                    'target_generator must be set (or use a point target '
                    "head such as dict(type='PointReconHead'))")
            self.target_generator = MODELS.build(target_generator)
            if not hasattr(self.target_generator, 'extract_targets'):
                raise TypeError(
                    f'target_generator {type(self.target_generator).__name__}'
                    ' has no extract_targets(groups, ...) method')
            if head.get('out_channels') == 'auto':
                head = dict(head, out_channels=self._target_channels())
        self.head = MODELS.build(head)
        if getattr(self.backbone, 'mask_ratio', 0) <= 0:
            raise ValueError('backbone.mask_ratio must be > 0 for masked '
                             'point modeling (ACT uses 0.8)')
        out_indices = getattr(self.backbone, 'out_indices', None)
        depth = getattr(self.backbone, 'depth', None)
        if out_indices and depth and out_indices[-1] != depth - 1:
            raise ValueError('backbone.out_indices must end with the last '
                             f'block ({depth - 1}): the decoder reads the '
                             f'last output, got {out_indices}')
        self.teacher_mode = teacher_mode
        self.teacher_dtype = teacher_dtype
        self._freeze_teacher()

    # --------------------------------------------------------------- teacher
    def _target_channels(self) -> int:
        """Width of the teacher layer named by ``target_kwargs.layer``."""
        teacher = self.target_generator
        if not hasattr(teacher, 'target_channels'):
            raise TypeError(f"head out_channels='auto' needs "
                            f'{type(teacher).__name__}.target_channels()')
        return int(teacher.target_channels(
            self.target_kwargs.get('layer', 'output')))

    def _freeze_teacher(self):
        if self.target_generator is None:
            return
        for param in self.target_generator.parameters():
            param.requires_grad = False
        if self.teacher_mode == 'eval' or not self.training:
            self.target_generator.eval()

    def init_weights(self):
        """Initialise the student parts and load the teacher strictly.

        A teacher ``init_cfg`` of type ``'Pretrained'`` is applied here with
        ``strict=True`` (mmengine's own ``Pretrained`` initialiser only
        warns about missing or unexpected keys, so a wrong Stage I
        checkpoint would silently leave a random teacher): a missing file,
        a checkpoint without the teacher's keys or with other shapes raises
        an error naming the file. ``prefix`` selects a sub-dict, e.g.
        ``'target_generator.'`` to reuse the teacher of a Stage II
        checkpoint. The teacher stays frozen afterwards.
        """
        teacher = self.target_generator
        if teacher is None:
            super().init_weights()
            return
        teacher_init = getattr(teacher, 'init_cfg', None)
        strict_load = (isinstance(teacher_init, dict)
                       and teacher_init.get('type') == 'Pretrained')
        if strict_load:
            teacher.init_cfg = None
        try:
            super().init_weights()
        finally:
            if strict_load:
                teacher.init_cfg = teacher_init
        if strict_load:
            load_teacher_checkpoint(teacher, teacher_init['checkpoint'],
                                    teacher_init.get('prefix'))
        self._freeze_teacher()

    def train(self, mode: bool = True):
        """Set train / eval mode; the teacher stays frozen, and in eval mode
        when ``teacher_mode='eval'``."""
        super().train(mode)
        self._freeze_teacher()
        return self

    @torch.no_grad()
    def extract_targets(self, groups: PointGroups) -> Tensor:
        """Teacher features of every group, (B, G, C) float32, no grad."""
        device_type = groups.centers.device.type
        if self.teacher_dtype == 'bfloat16':
            ctx = torch.autocast(device_type=device_type, dtype=torch.bfloat16)
        else:
            ctx = torch.autocast(device_type=device_type, enabled=False)
        with ctx:
            target = self.target_generator.extract_targets(
                groups, **self.target_kwargs)
        b, g = groups.centers.shape[:2]
        if target.dim() != 3 or target.shape[:2] != (b, g):
            raise ValueError('target_generator.extract_targets must return '
                             f'({b}, {g}, C) features, got '
                             f'{tuple(target.shape)}')
        return target.float()

    # --------------------------------------------------------------- forward
    def extract_feat(self, points: Tensor) -> dict:
        """Student features of (B, N, 3+) points without masking."""
        return self.backbone(points[..., :3].contiguous(), mask=False)

    def forward(self,
                inputs: Union[dict, Tensor],
                data_samples: Optional[List[Det3DDataSample]] = None,
                mode: str = 'tensor'):
        """``'loss'``: the distillation loss dict; ``'tensor'``: the
        unmasked student features (``extract_feat``)."""
        points = stack_points(inputs)
        if mode == 'loss':
            return self.loss(points, data_samples)
        if mode == 'tensor':
            return self.extract_feat(points)
        raise RuntimeError(f'Invalid mode "{mode}": ACTPretrainer supports '
                           "'loss' and 'tensor'.")

    def loss(self,
             points: Tensor,
             data_samples: Optional[List[Det3DDataSample]] = None
             ) -> Dict[str, Tensor]:
        """Masked feature distillation on a batch.

        Args:
            points (Tensor): (B, N, 3+) points (xyz first).
            data_samples (list, optional): unused.

        Returns:
            dict: the head's losses at the masked groups: ACT's ``loss``
            (1 + mean(-cos)) and ``cos_sim`` (logged only), or the point
            head's Chamfer-L2 ``loss``.
        """
        points = points[..., :3].contiguous()
        groups = self.backbone.group(points)
        feats = self.backbone(points, groups=groups)  # visible tokens only
        mask = feats['mask']  # (B, G), True = masked
        pred = self.neck(feats['tokens'][-1], feats['centers'], mask)
        if self.target == 'points':  # the masked groups: (B, M, K, 3)
            target = groups.neighborhood[mask]
        else:  # teacher features of the same groups: (B, G, C)
            target = self.extract_targets(groups)[mask]
        target = target.reshape(pred.size(0), pred.size(1),
                                *target.shape[1:])
        return self.head.loss(pred, target)
