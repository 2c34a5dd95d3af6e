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
from ..classifiers.point_classifier import stack_points
from ..layers.dgcnn import TokenDGCNN
from ..layers.folding_decoder import FoldingDecoder
from ..layers.point_tokenizer import MiniPointNet, PointGrouper, PointGroups
from ..layers.prompted_transformer import PromptedTransformer


@MODELS.register_module()
class ACTTeacherAutoencoder(BaseModel):
    """The ACT dVAE whose latent path runs through a frozen pretrained ViT.

    points (B, N, 3) -> FPS + kNN groups (B, G, K, 3) -> mini-PointNet
    (B, G, C) -> DGCNN 1 -> logits (B, G, num_tokens) -> Gumbel-softmax
    -> codebook (num_tokens, C) -> prompted frozen ViT (C -> D -> C)
    -> DGCNN 2 (B, G, C) -> FoldingNet decoder: coarse (B, G, K/4, 3) and
    fine (B, G, K, 3) points relative to the centres.

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
        vit_name (str): timm ViT name (``vit_base_patch16_384``).
        vit_weights (str, optional): local ViT weights file (.npz / .pth /
            .safetensors). Required unless ``allow_random_teacher``.
        allow_random_teacher (bool): accept a random ViT (tests / demos).
        num_prompts (int): prompt tokens (64).
        deep_prompt (bool): fresh prompts before each block (True).
        prompt_dropout (float): 0.1.
        temperature (float): initial Gumbel temperature of training.
        kl_weight (float): initial KL weight.
        train_hard (bool): straight-through hard Gumbel samples in training
            (False, as the reference).
        test_hard (bool): hard samples in ``predict`` (True, as the
            reference's validation).
        test_temperature (float): Gumbel temperature of ``predict`` (1.0).
        data_preprocessor (dict, optional): defaults to
            ``Det3DDataPreprocessor``.
    """

    def __init__(self,
                 num_groups: int = 64,
                 group_size: int = 32,
                 encoder_dims: int = 384,
                 num_tokens: int = 8192,
                 tokens_dims: int = 384,
                 decoder_dims: int = 384,
                 dgcnn_k: int = 4,
                 vit_name: str = 'vit_base_patch16_384',
                 vit_weights: Optional[str] = None,
                 allow_random_teacher: bool = False,
                 num_prompts: int = 64,
                 deep_prompt: bool = True,
                 prompt_dropout: float = 0.1,
                 temperature: float = 1.0,
                 kl_weight: float = 0.0,
                 train_hard: bool = False,
                 test_hard: bool = True,
                 test_temperature: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='Det3DDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.num_groups = num_groups
        self.group_size = group_size
        self.num_tokens = num_tokens
        self.grouper = PointGrouper(num_groups, group_size)
        self.encoder = MiniPointNet(encoder_dims)
        self.dgcnn_1 = TokenDGCNN(encoder_dims, num_tokens, k=dgcnn_k)
        self.codebook = nn.Parameter(torch.randn(num_tokens, tokens_dims))
        self.transformer = PromptedTransformer(
            vit_name=vit_name,
            vit_weights=vit_weights,
            allow_random_teacher=allow_random_teacher,
            in_channels=tokens_dims,
            num_prompts=num_prompts,
            deep_prompt=deep_prompt,
            prompt_dropout=prompt_dropout)
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
                        hard: bool) -> Tensor:
        """Gumbel-softmax codes -> codebook -> prompted ViT -> DGCNN 2.

        Returns:
            Tensor: (B, G, decoder_dims) features per group.
        """
        if not tau > 0:
            raise ValueError(f'Gumbel temperature must be > 0, got {tau}')
        # Sampled in float32 whatever the autocast dtype: under bfloat16 the
        # Gumbel noise would be drawn and rounded in bfloat16 and near-tied
        # codes would flip (a no-op when the logits are float32 already).
        one_hot = F.gumbel_softmax(logits.float(), tau=tau, hard=hard, dim=-1)
        sampled = torch.einsum('bgn,nc->bgc', one_hot, self.codebook)
        sampled = self.transformer(sampled, centers)
        return self.dgcnn_2(sampled, centers)

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

    def extract_targets(self,
                        groups: PointGroups,
                        hard: bool = True,
                        tau: float = 1.0) -> Tensor:
        """Stage II distillation targets: features after DGCNN 2.

        The reference (``forward_tokenizer_features``) samples hard Gumbel
        codes at temperature 1 and leaves the teacher module in train mode
        (prompt dropout active, BatchNorm of the mini-PointNet using batch
        statistics); the caller chooses the module mode with
        ``.train()`` / ``.eval()`` and the sampling with ``hard`` / ``tau``.

        Args:
            groups (PointGroups): the grouping the student uses.
            hard (bool): straight-through one-hot codes.
            tau (float): Gumbel temperature.

        Returns:
            Tensor: (B, G, decoder_dims).
        """
        logits = self.encode_logits(groups)
        return self.latent_features(logits, groups.centers, tau, hard)

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
