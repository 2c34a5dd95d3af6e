"""How much a set of Stage II targets varies: the measure behind the
question "does the teacher give the student anything to learn?"."""
from typing import Dict, Optional

import torch
from torch import Tensor


def target_diversity(targets: Tensor,
                     cloud_ids: Optional[Tensor] = None,
                     num_components: int = 5) -> Dict[str, float]:
    """Spread of per-group target features.

    A target set that a constant explains gives the cosine loss nothing to
    teach: predicting the mean already reaches ``cos_to_mean``.

    Args:
        targets (Tensor): (N, C) or (B, G, C) features, one per group.
        cloud_ids (Tensor, optional): (N,) the cloud of every row; taken as
            the batch index for (B, G, C) input. Needed for
            ``cos_to_cloud_mean`` and ``between_cloud_share``.
        num_components (int): leading principal components reported.

    Returns:
        dict of floats:

        - ``cos_to_mean``: mean cosine of the targets to their mean (1 when
          constant, about 0 for centred isotropic features);
        - ``constant_share``: the share of the targets' energy
          ``sum ||t||^2`` that the best constant (the mean) explains,
          ``N ||mean||^2 / sum ||t||^2``, in [0, 1];
        - ``pc_share_<i>``: the share of the centred variance on the i-th
          principal component (i = 1..num_components);
        - ``effective_rank``: ``exp`` of the entropy of the normalised
          eigenvalues of the centred covariance (1 = one direction, C =
          isotropic);
        - ``cos_to_cloud_mean``: mean cosine of the targets to their own
          cloud's mean (with cloud ids);
        - ``between_cloud_share``: the share of the centred variance that
          the per-cloud means explain (with cloud ids).
    """
    if targets.dim() == 3:
        b, g, c = targets.shape
        if cloud_ids is None:
            cloud_ids = torch.arange(b).repeat_interleave(g)
        targets = targets.reshape(b * g, c)
    if targets.dim() != 2 or targets.size(0) < 2:
        raise ValueError('targets must be (N, C) or (B, G, C) with at least '
                         f'2 rows, got {tuple(targets.shape)}')
    t = targets.detach().double().cpu()
    if not torch.isfinite(t).all():
        raise ValueError('targets contain NaN or Inf')
    mean = t.mean(dim=0)
    out = dict(
        cos_to_mean=torch.nn.functional.cosine_similarity(
            t, mean[None], dim=1, eps=1e-12).mean().item())
    energy = t.pow(2).sum()
    out['constant_share'] = (t.size(0) * mean.pow(2).sum() /
                             energy.clamp_min(1e-300)).item()
    centred = t - mean
    eig = torch.linalg.svdvals(centred).pow(2)
    total = eig.sum().clamp_min(1e-300)
    share = eig / total
    for i in range(num_components):
        out[f'pc_share_{i + 1}'] = share[i].item() if i < len(share) else 0.
    p = share[share > 0]
    out['effective_rank'] = torch.exp(-(p * p.log()).sum()).item()
    if cloud_ids is not None:
        cloud_ids = torch.as_tensor(cloud_ids).cpu().long()
        if cloud_ids.shape != (t.size(0), ):
            raise ValueError(f'cloud_ids must be ({t.size(0)},), got '
                             f'{tuple(cloud_ids.shape)}')
        _, inv = torch.unique(cloud_ids, return_inverse=True)
        n = int(inv.max()) + 1
        sums = torch.zeros(n, t.size(1), dtype=t.dtype).index_add_(0, inv, t)
        counts = torch.bincount(inv, minlength=n).to(t.dtype)
        cloud_mean = sums / counts[:, None]
        out['cos_to_cloud_mean'] = torch.nn.functional.cosine_similarity(
            t, cloud_mean[inv], dim=1, eps=1e-12).mean().item()
        between = (cloud_mean[inv] - mean).pow(2).sum()
        out['between_cloud_share'] = (between / total).item()
    return out


def code_perplexity(codes: Tensor, num_tokens: int) -> float:
    """Perplexity ``exp(H)`` of the codebook codes in use.

    Args:
        codes (Tensor): integer codes of any shape (e.g. (B, G) argmax
            codes of the teacher's DGCNN 1 logits).
        num_tokens (int): codebook size.

    Returns:
        float: between 1 (one code) and ``num_tokens`` (uniform use).
    """
    codes = torch.as_tensor(codes).reshape(-1).long().cpu()
    if codes.numel() == 0:
        raise ValueError('no codes given')
    if codes.min() < 0 or codes.max() >= num_tokens:
        raise ValueError(f'codes must lie in [0, {num_tokens})')
    p = torch.bincount(codes, minlength=num_tokens).double()
    p = p[p > 0] / codes.numel()
    return torch.exp(-(p * p.log()).sum()).item()
