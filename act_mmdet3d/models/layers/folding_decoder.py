"""FoldingNet-style per-group decoder of the ACT / Point-BERT dVAE."""
import torch
import torch.nn as nn
from torch import Tensor


class FoldingDecoder(nn.Module):
    """Decode one token per group into coarse and fine local points.

    MLP C -> 1024 -> 1024 -> 3 * M gives M = num_fine / 4 coarse points;
    each coarse point is folded with a 2 x 2 grid (spacing +-0.05) through
    Conv1d (C + 2 + 3) -> 512 -> 512 -> 3 (BN, ReLU) as an offset, giving
    num_fine points. Points are relative to the group centre. Parameter
    layout as the reference ``Decoder`` (``mlp``, ``final_conv``).

    Args:
        in_channels (int): token width C (384).
        num_fine (int): points per group (32); a multiple of 4.
        grid_size (int): fold grid side (2).
        grid_scale (float): half extent of the fold grid (0.05).
    """

    def __init__(self, in_channels=384, num_fine=32, grid_size=2,
                 grid_scale=0.05):
        super().__init__()
        if num_fine % (grid_size**2) != 0:
            raise ValueError(f'num_fine={num_fine} must be a multiple of '
                             f'grid_size**2={grid_size ** 2}')
        self.num_fine = num_fine
        self.grid_size = grid_size
        self.num_coarse = num_fine // grid_size**2
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, 1024), nn.ReLU(inplace=True),
            nn.Linear(1024, 1024), nn.ReLU(inplace=True),
            nn.Linear(1024, 3 * self.num_coarse))
        self.final_conv = nn.Sequential(
            nn.Conv1d(in_channels + 3 + 2, 512, 1), nn.BatchNorm1d(512),
            nn.ReLU(inplace=True), nn.Conv1d(512, 512, 1),
            nn.BatchNorm1d(512), nn.ReLU(inplace=True),
            nn.Conv1d(512, 3, 1))
        lin = torch.linspace(-grid_scale, grid_scale, steps=grid_size)
        a = lin.view(1, grid_size).expand(grid_size, grid_size).reshape(1, -1)
        b = lin.view(grid_size, 1).expand(grid_size, grid_size).reshape(1, -1)
        # (2, S) fold seed; a buffer not saved in checkpoints (the
        # reference keeps it as a plain attribute)
        self.register_buffer(
            'folding_seed', torch.cat([a, b], dim=0), persistent=False)

    def forward(self, tokens: Tensor):
        """Args:
            tokens (Tensor): (B, G, C).

        Returns:
            tuple[Tensor, Tensor]: coarse (B, G, M, 3) and fine
            (B, G, num_fine, 3), relative to the group centres.
        """
        bs, g, c = tokens.shape
        s = self.grid_size**2
        feat = tokens.reshape(bs * g, c)
        coarse = self.mlp(feat).reshape(bs * g, self.num_coarse, 3)
        center = coarse.unsqueeze(2).expand(-1, -1, s, -1).reshape(
            bs * g, self.num_fine, 3).transpose(2, 1)  # BG 3 N
        seed = self.folding_seed.to(tokens.dtype).unsqueeze(1).expand(
            2, self.num_coarse, s).reshape(1, 2, self.num_fine).expand(
                bs * g, -1, -1)
        glob = feat.unsqueeze(2).expand(-1, -1, self.num_fine)
        x = torch.cat([glob, seed, center], dim=1)
        fine = self.final_conv(x) + center
        fine = fine.reshape(bs, g, 3, self.num_fine).transpose(-1, -2)
        return coarse.reshape(bs, g, self.num_coarse, 3), fine
