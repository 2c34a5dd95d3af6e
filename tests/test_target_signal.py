"""What hides or carries the Stage II signal: target diversity measures,
target normalisation of the distillation head, PreciseBN statistics."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel

from act_mmdet3d.engine.hooks import PreciseBNHook, update_bn_stats
from act_mmdet3d.evaluation.functional import (code_perplexity,
                                               target_diversity)
from act_mmdet3d.models.heads import ACTDistillHead

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


# ------------------------------------------------------------ diversity
def test_diversity_of_constant_and_centred_targets():
    const = torch.ones(4, 8, 16) * torch.linspace(1, 2, 16)
    d = target_diversity(const)
    assert d['cos_to_mean'] == pytest.approx(1.0, abs=1e-9)
    assert d['constant_share'] == pytest.approx(1.0, abs=1e-9)
    torch.manual_seed(0)
    noise = torch.randn(4000, 16)
    d = target_diversity(noise - noise.mean(0))
    assert abs(d['cos_to_mean']) < 0.05
    assert d['constant_share'] < 1e-6
    assert d['effective_rank'] > 15  # nearly isotropic in 16 dims
    # a big offset plus small noise: the constant explains almost all
    d = target_diversity(noise * 0.1 + 5)
    assert d['constant_share'] == pytest.approx(2500 / 2500.16, abs=1e-3)
    assert d['cos_to_mean'] > 0.99


def test_diversity_pca_and_between_cloud_share():
    torch.manual_seed(0)
    # one direction: every target on the line through the mean
    line = torch.randn(100, 1) * torch.tensor([[1., 2., 0., 0.]])
    d = target_diversity(line, num_components=2)
    assert d['pc_share_1'] == pytest.approx(1.0, abs=1e-9)
    assert d['effective_rank'] == pytest.approx(1.0, abs=1e-6)
    # clouds that differ only by their mean: all variance between clouds
    means = torch.randn(5, 1, 8)
    d = target_diversity(means.expand(5, 10, 8).clone())
    assert d['between_cloud_share'] == pytest.approx(1.0, abs=1e-9)
    assert d['cos_to_cloud_mean'] == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match='NaN'):
        target_diversity(torch.full((3, 2), float('nan')))


def test_code_perplexity():
    assert code_perplexity(torch.arange(8).repeat(3), 8) == pytest.approx(8)
    assert code_perplexity(torch.zeros(10), 8) == pytest.approx(1)
    # two codes, 3:1 -> exp(H) with H = -(.75 ln .75 + .25 ln .25)
    h = -(0.75 * torch.tensor(0.75).log() + 0.25 * torch.tensor(0.25).log())
    assert code_perplexity(torch.tensor([1, 1, 1, 5]),
                           8) == pytest.approx(h.exp().item())
    with pytest.raises(ValueError, match=r'\[0, 8\)'):
        code_perplexity(torch.tensor([8]), 8)


# ---------------------------------------------------- target normalising
def test_head_target_norms():
    torch.manual_seed(0)
    target = torch.randn(3, 6, 8) * 0.1 + 4.  # a large shared offset
    head = ACTDistillHead(8, 8)
    assert head.target_norm == 'none'
    assert torch.equal(head.normalize_target(target), target)

    t = ACTDistillHead(8, 8, target_norm='batch').normalize_target(target)
    assert torch.allclose(t, target - target.mean((0, 1)), atol=1e-6)

    t = ACTDistillHead(8, 8, target_norm='instance').normalize_target(target)
    mean = target.mean(1, keepdim=True)
    std = (target.var(1, unbiased=False, keepdim=True) + 1e-6).sqrt()
    assert torch.allclose(t, (target - mean) / std, atol=1e-4)

    t = ACTDistillHead(8, 8, target_norm='token').normalize_target(target)
    mean = target.mean(-1, keepdim=True)
    std = (target.var(-1, unbiased=False, keepdim=True) + 1e-6).sqrt()
    assert torch.allclose(t, (target - mean) / std, atol=1e-4)

    with pytest.raises(ValueError, match='target_norm'):
        ACTDistillHead(8, 8, target_norm='pixel')


def test_batch_norm_removes_what_a_constant_prediction_scores():
    """With the paper's loss a constant prediction (the targets' mean)
    scores cos ~1 on offset targets; after centring it scores ~0."""
    torch.manual_seed(0)
    target = torch.randn(2, 32, 8) * 0.1 + 4.
    for norm, expect in (('none', 1.0), ('batch', 0.0)):
        head = ACTDistillHead(8, 8, target_norm=norm)
        t = head.normalize_target(target)
        pred = t.mean((0, 1)).expand_as(t) + 1e-3
        cos = torch.nn.functional.cosine_similarity(pred, t, dim=-1).mean()
        assert cos.item() == pytest.approx(expect, abs=0.1), norm
    # the loss still trains the projection
    head = ACTDistillHead(8, 8, target_norm='instance')
    feats = torch.randn(2, 32, 8, requires_grad=True)
    head.loss(feats, target)['loss'].backward()
    assert head.proj.weight.grad.abs().sum() > 0


# ------------------------------------------------------------ PreciseBN
class _BNModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(3)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.bn(inputs)


def test_update_bn_stats_gives_the_training_data_statistics():
    torch.manual_seed(0)
    batches = [dict(inputs=torch.randn(16, 3) * 0.01 + 2.)
               for _ in range(5)]
    model = _BNModel()
    model.bn.momentum = 0.3
    model.eval()
    assert torch.equal(model.bn.running_var, torch.ones(3))
    used = update_bn_stats(model, batches, num_iters=4)
    assert used == 4
    data = torch.stack([b['inputs'] for b in batches[:4]])  # (4, 16, 3)
    # the mean of the 4 batch means and unbiased batch variances
    assert torch.allclose(model.bn.running_mean, data.mean((0, 1)),
                          atol=1e-6)
    assert torch.allclose(model.bn.running_var,
                          data.var(1, unbiased=True).mean(0), atol=1e-8)
    assert model.bn.momentum == 0.3 and not model.training
    # a BatchNorm kept in eval mode (a frozen stage) is left alone
    model.bn.train = lambda mode=True: model.bn  # stays in eval mode
    model.bn.training = False
    frozen = model.bn.running_var.clone()
    assert update_bn_stats(model, batches, num_iters=2) == 0
    assert torch.equal(model.bn.running_var, frozen)
    del model.bn.train
    # eval mode now normalises the training data like train mode does
    out = model(data[0])
    assert out.std(0).mean().item() == pytest.approx(1.0, abs=0.2)


def test_precise_bn_hook_in_a_runner(tmp_path):
    """Through a Runner: at the validation point the tokenizer's first
    BatchNorm gets the training data's statistics instead of the lagging
    running ones (variance 1 at start, moving 10% per iteration towards the
    true ~1e-5); the validation and the checkpoint saved there (what
    tools/test.py reads) both hold them, and the random states training
    continues from are unchanged."""
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(ROOT, 'tests/data/tiny_cls.py'))
    root = osp.join(ROOT, 'data/demo/ModelNet/modelnet40_normal_resampled')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key]['dataset']['data_root'] = root
    cfg.model.head.num_classes = 10
    cfg.model.backbone.frozen_stages = -1  # the tokenizer trains
    cfg.train_cfg = dict(by_epoch=False, max_iters=6, val_interval=3)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=3, by_epoch=False)
    cfg.custom_hooks = [dict(type='PreciseBNHook', num_iters=4)]
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    bn_name, bn = next((n, m) for n, m in runner.model.backbone.named_modules()
                       if isinstance(m, nn.BatchNorm1d))
    seen = {}

    class Spy(Hook):

        def __init__(self, key, priority):
            self.key, self.priority = key, priority

        def after_train_iter(self, runner_, batch_idx, data_batch=None,
                             outputs=None):
            if runner_.iter + 1 == 3:
                seen[self.key] = (bn.running_var.clone(),
                                  torch.get_rng_state())

        def before_val_epoch(self, runner_):
            seen.setdefault('val', bn.running_var.clone())

    runner.register_hook(Spy('before', 'HIGHEST'))
    runner.register_hook(Spy('after', 'LOWEST'))
    runner.train()
    var_before, rng_before = seen['before']
    var_after, rng_after = seen['after']
    assert var_before.min() > 0.5  # 0.9 ** 3 of the initial 1 remains
    assert var_after.max() < 0.01  # the training batches' own variance
    assert torch.equal(rng_before, rng_after)
    assert torch.equal(seen['val'], var_after)
    saved = torch.load(osp.join(str(tmp_path), 'iter_3.pth'),
                       map_location='cpu', weights_only=False)['state_dict']
    assert torch.equal(saved[f'backbone.{bn_name}.running_var'], var_after)


# ------------------------------------------------------ noiseless codes
def test_targets_without_gumbel_noise_are_the_argmax_codes():
    from mmdet3d.registry import MODELS
    torch.manual_seed(0)
    teacher = MODELS.build(dict(
        type='ACTTeacherAutoencoder', num_groups=8, group_size=8,
        encoder_dims=32, num_tokens=16, tokens_dims=32, decoder_dims=24,
        transformer_type='none')).eval()
    groups = teacher.grouper(torch.rand(2, 128, 3))
    with torch.no_grad():
        logits = teacher.encode_logits(groups)
        codes = teacher.extract_targets(groups, layer='codebook', noise=False)
        assert torch.equal(codes, teacher.codebook[logits.argmax(-1)])
        soft = teacher.extract_targets(groups, layer='codebook', hard=False,
                                       tau=0.5, noise=False)
        expected = torch.softmax(logits / 0.5, -1) @ teacher.codebook
        assert torch.allclose(soft, expected, atol=1e-6)
        a = teacher.extract_targets(groups, noise=False)
        assert torch.equal(a, teacher.extract_targets(groups, noise=False))
        # with noise (the reference) two draws differ
        assert not torch.equal(teacher.extract_targets(groups),
                               teacher.extract_targets(groups))
