"""The DGCNN over group tokens used by the ACT / Point-BERT dVAE."""
import torch
import torch.nn as nn
from torch import Tensor

from act_mmdet3d.ops import knn


class TokenDGCNN(nn.Module):
    """Four EdgeConv layers over the G group tokens, then a 1x1 fusion.

    Each EdgeConv finds the ``k`` nearest centres of every centre (itself
    included, as the reference's ``KNN(k=4)``), builds edge features
    ``[f_j - f_i, f_i]`` and applies 1x1 Conv2d + GroupNorm(4) + LeakyReLU(0.2),
    then max-pools over the k neighbours. The four outputs (256, 512, 512,
    1024 channels) are concatenated (2304) and fused by Conv1d + GroupNorm +
    LeakyReLU to ``out_channels``.

    Parameter layout matches the reference ``DGCNN`` (``input_trans``,
    ``layer1..5``), so official checkpoints load unchanged.

    Args:
        in_channels (int): token width C_in (384).
        out_channels (int): output width (8192 logits for the first DGCNN of
            the dVAE, 384 for the second).
        k (int): neighbours per centre (4).
    """

    def __init__(self, in_channels=384, out_channels=384, k=4):
        super().__init__()
        self.k = k
        self.input_trans = nn.Conv1d(in_channels, 128, 1)

        def edge(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, kernel_size=1, bias=False),
                nn.GroupNorm(4, cout), nn.LeakyReLU(negative_slope=0.2))

        self.layer1 = edge(256, 256)
        self.layer2 = edge(512, 512)
        self.layer3 = edge(1024, 512)
        self.layer4 = edge(1024, 1024)
        self.layer5 = nn.Sequential(
            nn.Conv1d(2304, out_channels, kernel_size=1, bias=False),
            nn.GroupNorm(4, out_channels), nn.LeakyReLU(negative_slope=0.2))

    @staticmethod
    def graph_feature(x: Tensor, idx: Tensor) -> Tensor:
        """Edge features (B, 2C, G, k) of x (B, C, G) for kNN idx (B, G, k)."""
        b, c, g = x.shape
        k = idx.size(-1)
        xt = x.transpose(1, 2)  # (B, G, C)
        batch = torch.arange(b, device=x.device).view(b, 1, 1)
        nbr = xt[batch, idx]  # (B, G, k, C)
        nbr = nbr.permute(0, 3, 1, 2)  # (B, C, G, k)
        center = x.unsqueeze(-1).expand(-1, -1, -1, k)
        return torch.cat((nbr - center, center), dim=1)

    def _knn(self, coor: Tensor) -> Tensor:
        with torch.no_grad():
            _, idx = knn(coor.detach().float(), coor.detach().float(), self.k)
        return idx

    def forward(self, f: Tensor, coor: Tensor) -> Tensor:
        """Args:
            f (Tensor): (B, G, C_in) tokens.
            coor (Tensor): (B, G, 3) group centres.

        Returns:
            Tensor: (B, G, out_channels).
        """
        idx = self._knn(coor)
        x = self.input_trans(f.transpose(1, 2))  # B 128 G
        feats = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(self.graph_feature(x, idx)).max(dim=-1)[0]
            feats.append(x)
        x = self.layer5(torch.cat(feats, dim=1))
        return x.transpose(1, 2)
