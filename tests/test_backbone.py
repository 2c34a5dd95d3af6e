import copy

import pytest
import torch

import act_mmdet3d  # noqa: F401
from act_mmdet3d.models.layers import MiniPointNet, MiniPointNetReference
from mmdet3d.registry import MODELS


def _small_cfg(**kwargs):
    cfg = dict(
        type='ACTPointTransformer',
        embed_dims=48,
        depth=3,
        num_heads=3,
        num_groups=16,
        group_size=8,
        drop_path_rate=0.)
    cfg.update(kwargs)
    return cfg


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_default_backbone_matches_reference_parameter_count():
    backbone = MODELS.build(dict(type='ACTPointTransformer'))
    # The reference student without heads has 21,825,792 parameters
    # (ACT_SPEC.md); the issue asks for within 1% of 21.84M.
    assert _count(backbone) == 21_825_792
    assert abs(_count(backbone) - 21.84e6) / 21.84e6 < 0.01
    keys = backbone.state_dict().keys()
    assert 'blocks.11.attn.qkv.weight' in keys
    assert 'blocks.0.attn.qkv.bias' not in keys  # no qkv bias
    assert 'encoder.second_conv.3.weight' in keys
    assert backbone.encoder.first_conv[0].weight.shape == (128, 3, 1)


def test_classifier_with_modelnet_head_parameter_count():
    model = MODELS.build(
        dict(
            type='ACTClassifier',
            backbone=dict(type='ACTPointTransformer'),
            head=dict(type='ACTClsHead', num_classes=40)))
    assert _count(model.head) == 273_960
    assert _count(model) == 22_099_752
    assert abs(_count(model) - 22.1e6) / 22.1e6 < 0.01


def test_forward_shapes_and_group_geometry():
    torch.manual_seed(0)
    backbone = MODELS.build(_small_cfg(out_indices=(0, 2)))
    backbone.init_weights()
    points = torch.rand(2, 128, 3)
    out = backbone(points)
    assert len(out['tokens']) == 2 and len(out['cls_tokens']) == 2
    assert out['tokens'][-1].shape == (2, 16, 48)
    assert out['cls_tokens'][-1].shape == (2, 48)
    assert out['mask'] is None
    groups = out['groups']
    assert groups.neighborhood.shape == (2, 16, 8, 3)
    # centres are input points, neighbourhoods are centred on them
    picked = torch.gather(points, 1, out['center_idx'][..., None].expand(
        -1, -1, 3))
    torch.testing.assert_close(picked, out['centers'])
    nb = torch.gather(
        points, 1, groups.neighbor_idx.reshape(2, -1, 1).expand(-1, -1, 3))
    torch.testing.assert_close(
        nb.view(2, 16, 8, 3) - out['centers'][:, :, None],
        groups.neighborhood)
    # the nearest neighbour of a centre is the centre itself
    assert (groups.neighbor_idx[..., 0] == out['center_idx']).all()


def test_fps_skip_near_origin_option_changes_the_centres():
    # a ring of radius 1 and a point at the origin (index 20): plain FPS
    # takes it once the ring is covered, the reference rule never does
    angle = torch.arange(60.) * (2 * torch.pi / 60)
    points = torch.stack([angle.cos(), angle.sin(), 0 * angle], -1)
    points[20] = 0.
    points = points[None]
    plain = MODELS.build(_small_cfg()).eval()
    rule = MODELS.build(_small_cfg(fps_skip_near_origin=True)).eval()
    assert rule.grouper.fps_skip_near_origin
    assert 20 in plain.grouper(points).center_idx
    assert 20 not in rule.grouper(points).center_idx
    rule.load_state_dict(plain.state_dict())
    with torch.no_grad():
        assert not torch.equal(rule(points)['tokens'][-1],
                               plain(points)['tokens'][-1])
    scene = MODELS.build(
        dict(type='ACTSceneBackbone', num_seeds=16, group_size=8,
             embed_dims=48, depth=1, num_heads=3, num_fp_points=30,
             fp_channels=(8, ), fps_skip_near_origin=True)).eval()
    out = scene(points)
    assert 20 not in out['fp_indices'][0] and 20 not in out['fp_indices'][1]


@pytest.mark.parametrize('ratio,groups', [(0.8, 64), (0.6, 16), (0.75, 16),
                                          (0.5, 15)])
def test_masking_hides_exactly_round_ratio_groups(ratio, groups):
    torch.manual_seed(1)
    backbone = MODELS.build(
        _small_cfg(mask_ratio=ratio, num_groups=groups))
    points = torch.rand(3, 256, 3)
    out = backbone(points)
    expected = int(round(ratio * groups))
    assert (out['mask'].sum(1) == expected).all()
    assert out['tokens'][-1].shape == (3, groups - expected, 48)
    # a different draw per cloud
    assert not (out['mask'][0] == out['mask'][1]).all()
    # mask=False disables masking, an explicit mask is honoured
    assert backbone(points, mask=False)['tokens'][-1].shape[1] == groups
    explicit = out['mask'].clone()
    again = backbone(points, groups=out['groups'], mask=explicit)
    assert torch.equal(again['mask'], explicit)


def test_visible_tokens_do_not_depend_on_masked_groups():
    torch.manual_seed(2)
    backbone = MODELS.build(_small_cfg(mask_ratio=0.5)).eval()
    points = torch.rand(1, 128, 3)
    out = backbone(points)
    groups = out['groups']
    # perturb the points of masked groups only: visible features unchanged
    nb = groups.neighborhood.clone()
    nb[out['mask']] += 0.3
    perturbed = groups._replace(neighborhood=nb)
    out2 = backbone(points, groups=perturbed, mask=out['mask'])
    torch.testing.assert_close(out['tokens'][-1], out2['tokens'][-1])


def test_block_masking_takes_a_contiguous_region():
    torch.manual_seed(3)
    backbone = MODELS.build(_small_cfg(mask_ratio=0.25, mask_type='block'))
    centers = torch.rand(2, 16, 3)
    mask = backbone.random_mask(centers)
    for b in range(2):
        masked = centers[b][mask[b]]
        kept = centers[b][~mask[b]]
        seed = None
        # some masked centre is closer to every masked centre than the
        # farthest masked one is to any kept one: test via the seed property
        for cand in masked:
            d_m = (masked - cand).norm(dim=1).max()
            d_k = (kept - cand).norm(dim=1).min()
            if d_m <= d_k:
                seed = cand
        assert seed is not None


@pytest.mark.parametrize('train', [True, False])
def test_fast_mini_pointnet_equals_conv1d_reference(train):
    torch.manual_seed(4)
    fast = MiniPointNet(64)
    for bn in (fast.first_conv[1], fast.second_conv[1]):
        bn.running_mean.uniform_(-0.1, 0.1)
        bn.running_var.uniform_(0.5, 1.5)
    ref = MiniPointNetReference(64)
    ref.load_state_dict(fast.state_dict())
    fast.train(train)
    ref.train(train)
    x = torch.randn(3, 10, 32, 3)
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    y1, y2 = fast(x1), ref(x2)
    torch.testing.assert_close(y1, y2, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(y1)
    y1.backward(grad)
    y2.backward(grad)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-4, atol=1e-5)
    for (n, p1), p2 in zip(fast.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-4, atol=1e-4,
                                   msg=n)
    if train:  # identical running statistics updates
        torch.testing.assert_close(fast.second_conv[1].running_var,
                                   ref.second_conv[1].running_var)


def test_frozen_stages():
    backbone = MODELS.build(_small_cfg(frozen_stages=2))
    backbone.train()
    assert not backbone.encoder.training
    assert not any(p.requires_grad for p in backbone.encoder.parameters())
    assert not backbone.cls_token.requires_grad
    assert not any(p.requires_grad for p in backbone.blocks[1].parameters())
    assert all(p.requires_grad for p in backbone.blocks[2].parameters())
    assert backbone.blocks[2].training


def test_pretrained_init_cfg_with_prefix(tmp_path):
    torch.manual_seed(5)
    src = MODELS.build(_small_cfg())
    src.init_weights()
    state = {f'backbone.{k}': v for k, v in src.state_dict().items()}
    state['neck.something'] = torch.zeros(1)
    ckpt = tmp_path / 'stage2.pth'
    torch.save(dict(state_dict=state, meta=dict()), ckpt)
    dst = MODELS.build(
        _small_cfg(
            init_cfg=dict(
                type='Pretrained', checkpoint=str(ckpt), prefix='backbone.')))
    dst.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k


def test_pretrained_without_cls_token_keeps_the_reference_init(tmp_path):
    """A Point-MAE-like encoder without cls token: the tokens the file
    lacks get the reference trunc-normal init, not zeros."""
    torch.manual_seed(6)
    src = MODELS.build(_small_cfg(with_cls_token=False))
    src.init_weights()
    ckpt = tmp_path / 'mae.pth'
    torch.save(
        dict(state_dict={f'backbone.{k}': v
                         for k, v in src.state_dict().items()}), ckpt)
    dst = MODELS.build(
        _small_cfg(
            init_cfg=dict(
                type='Pretrained', checkpoint=str(ckpt), prefix='backbone.')))
    dst.init_weights()
    assert dst.cls_token.abs().sum() > 0 and dst.cls_pos.abs().sum() > 0
    assert dst.cls_token.std() < 0.05
    torch.testing.assert_close(dst.blocks[0].attn.qkv.weight,
                               src.blocks[0].attn.qkv.weight)


def test_bfloat16_autocast_close_to_float32():
    torch.manual_seed(6)
    backbone = MODELS.build(_small_cfg()).eval()
    backbone.init_weights()
    points = torch.rand(2, 128, 3)
    ref = backbone(points)['tokens'][-1]
    seen = []
    backbone.blocks[0].mlp.fc1.register_forward_hook(
        lambda mod, inp, out: seen.append(out.dtype))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = backbone(points)['tokens'][-1]
    assert seen == [torch.bfloat16]  # the matmuls ran in bfloat16
    assert not torch.equal(out.float(), ref)
    err = (out.float() - ref).abs().max() / ref.abs().max()
    assert err < 0.05  # documented tolerance: 5% of the feature range
    # and it trains: gradients reach the tokenizer
    backbone.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = backbone(points)['tokens'][-1].float().square().mean()
    loss.backward()
    assert backbone.encoder.first_conv[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('bad', [
    dict(mask_ratio=1.0),
    dict(mask_ratio=-0.1),
    dict(mask_type='grid'),
    dict(num_heads=5),
    dict(out_indices=(7, )),
])
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        MODELS.build(_small_cfg(**bad))


def test_bad_points_raise():
    backbone = MODELS.build(_small_cfg())
    with pytest.raises(ValueError, match='NaN'):
        points = torch.rand(1, 64, 3)
        points[0, 3, 1] = float('nan')
        backbone(points)
    with pytest.raises(ValueError, match='shape'):
        backbone(torch.rand(64, 3))
    with pytest.raises(ValueError):
        backbone(torch.rand(1, 10, 3))  # fewer points than groups
    with pytest.raises(ValueError, match='mask'):
        backbone(torch.rand(1, 64, 3), mask=torch.zeros(1, 3).bool())


def test_classifier_voting_is_seeded_and_averages_augmented_views():
    torch.manual_seed(7)
    cfg = dict(
        type='ACTClassifier',
        backbone=_small_cfg(),
        head=dict(type='ACTClsHead', num_classes=4, in_channels=48),
        num_votes=3)
    model = MODELS.build(cfg).eval()
    points = torch.rand(2, 128, 3)
    votes = model.predict_logits(points)
    torch.testing.assert_close(votes, model.predict_logits(points))
    # the same views by hand
    gen = torch.Generator().manual_seed(0)
    total = 0
    for _ in range(3):
        scale = 2. / 3 + (3. / 2 - 2. / 3) * torch.rand(2, 1, 3, generator=gen)
        shift = 0.2 * (2 * torch.rand(2, 1, 3, generator=gen) - 1)
        total = total + model(points * scale + shift, mode='tensor')
    torch.testing.assert_close(votes, total / 3)
    model.num_votes = 1
    assert not torch.allclose(model.predict_logits(points), votes)
    samples = model.predict(points)
    assert samples[0].pred_score.shape == (4, )
    assert samples[0].pred_label.item() == samples[0].pred_score.argmax()
