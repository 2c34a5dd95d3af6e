"""ACTSegmentor, ACTSegHead, PointFeaturePropagation (ShapeNetPart, S3DIS)."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample, PointData

from act_mmdet3d.models.layers import (PointFeaturePropagation,
                                       interpolation_weights)

PARTS = (4, 2, 2, 4, 4, 3, 3, 2, 4, 2, 6, 2, 3, 3, 3, 3)


def small_segmentor(num_categories=16, num_classes=50, **head):
    """The part-seg model at toy widths (2 blocks of 32, 16 groups x 8)."""
    cfg = dict(
        type='ACTSegmentor',
        backbone=dict(
            type='ACTPointTransformer',
            embed_dims=32,
            depth=2,
            num_heads=2,
            num_groups=16,
            group_size=8,
            drop_path_rate=0.,
            out_indices=(0, 1),
            norm_all_outputs=True,
            with_cls_token=False),
        decode_head=dict(
            type='ACTSegHead',
            num_classes=num_classes,
            in_channels=64,
            num_categories=num_categories,
            category_channels=8,
            fp_channels=(48, 40),
            mid_channels=24,
            channels=16,
            **head),
        category_num_parts=PARTS if num_categories else None)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(categories, n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    out = []
    starts = torch.tensor((0, ) + PARTS).cumsum(0)
    for c in categories:
        s = Det3DDataSample(metainfo=dict(category=c))
        lo, hi = int(starts[c]), int(starts[c + 1])
        s.gt_pts_seg = PointData(
            pts_semantic_mask=torch.randint(lo, hi, (n, ), generator=gen))
        out.append(s)
    return out


# ----------------------------------------------------------- propagation
def brute_force_interpolation(target, source, feats, squared):
    """Three nearest by a full sort of all distances (no ops used)."""
    d2 = ((target[:, :, None] - source[:, None]) ** 2).sum(-1)  # B,N,M
    d2, idx = d2.sort(dim=-1, stable=True)
    idx = idx[..., :3]
    d = d2[..., :3] if squared else d2[..., :3].sqrt()
    w = 1.0 / (d + 1e-8)
    w = w / w.sum(-1, keepdim=True)
    picked = torch.stack([
        feats[b][:, idx[b]] for b in range(feats.size(0))
    ])  # B, C, N, 3
    return (picked * w[:, None]).sum(-1)


@pytest.mark.parametrize('squared', [True, False])
def test_three_nn_interpolation_matches_brute_force(squared):
    gen = torch.Generator().manual_seed(1)
    target = torch.rand(2, 200, 3, generator=gen, dtype=torch.float64)
    source = torch.rand(2, 17, 3, generator=gen, dtype=torch.float64)
    feats = torch.randn(2, 5, 17, generator=gen, dtype=torch.float64)
    fp = PointFeaturePropagation(5, [4], squared_distance=squared)
    got = fp.interpolate(target, source, feats)
    want = brute_force_interpolation(target, source, feats, squared)
    assert got.shape == (2, 5, 200)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)
    # a target on a source point takes (almost) exactly that feature
    got = fp.interpolate(source, source, feats)
    torch.testing.assert_close(got, feats, rtol=1e-5, atol=1e-5)


def test_interpolation_weights_normalised_and_ordered():
    w = interpolation_weights(torch.tensor([[[1., 2., 4.]]]))
    torch.testing.assert_close(w.sum(-1), torch.ones(1, 1))
    assert w[0, 0, 0] > w[0, 0, 1] > w[0, 0, 2]
    torch.testing.assert_close(w[0, 0, 0] / w[0, 0, 1], torch.tensor(4.))


def test_propagation_rejects_wrong_channels():
    fp = PointFeaturePropagation(3 + 8, [16])
    with pytest.raises(ValueError, match='11 input channels'):
        fp(torch.rand(1, 20, 3), torch.rand(1, 5, 3), torch.rand(1, 4, 20),
           torch.rand(1, 8, 5))


# ------------------------------------------------------------ full size
def test_partseg_model_has_the_reference_parameter_counts():
    cfg = Config.fromfile('configs/_base_/models/act_vits_partseg.py')
    model = MODELS.build(cfg.model)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # the Stage II student (21,825,792) without cls_token and cls_pos
    assert count(model.backbone) == 21_825_792 - 2 * 384
    # reference pt.py head: label_conv_cls 1,152; propagation_0_cls
    # 3,354,624; convs1 1,737,216 + bns1 1,024; convs2 131,328 + bns2 512;
    # convs3 12,850
    assert count(model.decode_head) == 5_238_706
    names = set(model.state_dict())
    assert 'backbone.cls_token' not in names
    assert 'decode_head.propagation.mlp_convs.0.weight' in names
    assert model.decode_head.convs1.in_channels == 1024 + 2 * 1152 + 64


# --------------------------------------------- head vs a re-statement
def reference_head(head, tokens, centers, points, category):
    """The reference forward, restated with plain torch calls."""
    f = torch.cat([t.transpose(1, 2) for t in tokens], 1)  # B, LC, G
    b, _, g = f.shape
    n = points.size(1)
    one_hot = F.one_hot(category, 16).float().view(b, 16, 1)
    label = head.label_conv(one_hot).repeat(1, 1, n)
    glob = torch.cat([f.max(2)[0].unsqueeze(-1).repeat(1, 1, n),
                      f.mean(2).unsqueeze(-1).repeat(1, 1, n), label], 1)
    interp = brute_force_interpolation(points, centers, f, squared=True)
    x = torch.cat([points.transpose(1, 2), interp], 1)
    for conv, bn in zip(head.propagation.mlp_convs, head.propagation.mlp_bns):
        x = F.relu(bn(conv(x)))
    x = torch.cat([x, glob], 1)
    x = F.relu(head.bns1(head.convs1(x)))
    x = F.relu(head.bns2(head.convs2(x)))
    return head.conv_seg(x)


def test_head_matches_the_reference_forward():
    torch.manual_seed(0)
    model = small_segmentor().eval()
    for m in model.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-.5, .5)
            m.running_var.uniform_(.5, 2.)
    points = torch.rand(3, 100, 3)
    category = torch.tensor([0, 4, 15])
    with torch.no_grad():
        feats = model.extract_feat(points)
        feats['category'] = category
        got = model.decode_head(feats)
        want = reference_head(model.decode_head, feats['tokens'],
                              feats['centers'], points, category)
    assert got.shape == (3, 50, 100)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # the category embedding matters
    feats['category'] = torch.tensor([1, 4, 15])
    with torch.no_grad():
        assert not torch.allclose(model.decode_head(feats)[0], got[0])


# ------------------------------------------------------ loss / predict
def test_loss_and_predict_restricted_to_the_category():
    torch.manual_seed(0)
    model = small_segmentor()
    points = [torch.rand(64, 3) for _ in range(3)]
    batch = samples([0, 10, 15], 64)
    losses = model.loss(dict(points=points), batch)
    loss = losses['decode.loss_sem_seg']
    assert loss.ndim == 0 and loss > 0
    loss.backward()
    assert model.backbone.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert model.decode_head.label_conv[0].weight.grad.abs().sum() > 0

    model.eval()
    # make the unrestricted argmax always part 49 (Table)
    with torch.no_grad():
        model.decode_head.conv_seg.bias.zero_()
        model.decode_head.conv_seg.bias[49] = 1e4
    out = model.predict(dict(points=points), samples([0, 10, 15], 64))
    for sample, (lo, hi) in zip(out, [(0, 3), (30, 35), (47, 49)]):
        pred = sample.pred_pts_seg.pts_semantic_mask
        assert pred.shape == (64, )
        assert int(pred.min()) >= lo and int(pred.max()) <= hi
        assert sample.pts_seg_logits.pts_seg_logits.shape == (50, 64)
    assert (out[2].pred_pts_seg.pts_semantic_mask == 49).all()
    assert not (out[0].pred_pts_seg.pts_semantic_mask == 49).any()
    # whole-batch prediction equals one sample at a time
    single = model.predict(dict(points=points[1:2]), samples([10], 64))
    torch.testing.assert_close(
        single[0].pts_seg_logits.pts_seg_logits,
        out[1].pts_seg_logits.pts_seg_logits, rtol=1e-5, atol=1e-5)


def test_semantic_segmentation_head_has_no_category():
    model = small_segmentor(num_categories=0, num_classes=13)
    assert not hasattr(model.decode_head, 'label_conv')
    assert model.decode_head.convs1.in_channels == 40 + 2 * 64
    points = [torch.rand(50, 6) for _ in range(2)]
    batch = []
    for _ in range(2):
        s = Det3DDataSample()
        s.gt_pts_seg = PointData(
            pts_semantic_mask=torch.randint(0, 13, (50, )))
        batch.append(s)
    assert model.loss(dict(points=points), batch)['decode.loss_sem_seg'] > 0
    model.eval()
    out = model.predict(dict(points=points), batch)
    assert out[0].pred_pts_seg.pts_semantic_mask.shape == (50, )


def test_bad_inputs_give_clear_errors():
    model = small_segmentor()
    points = [torch.rand(40, 3) for _ in range(2)]
    batch = samples([0, 1], 40)
    batch[1].set_metainfo(dict(category=16))
    with pytest.raises(ValueError, match=r'category indices must be in'):
        model.loss(dict(points=points), batch)
    no_category = [Det3DDataSample(), Det3DDataSample()]
    for s in no_category:
        s.gt_pts_seg = PointData(pts_semantic_mask=torch.zeros(40).long())
    with pytest.raises(ValueError, match='needs each sample'):
        model.loss(dict(points=points), no_category)
    model.eval()
    with pytest.raises(ValueError, match='category'):
        model.predict(dict(points=points), no_category)
    with pytest.raises(ValueError, match='sum to'):
        MODELS.build(
            dict(
                type='ACTSegmentor',
                backbone=dict(type='ACTPointTransformer', depth=1),
                decode_head=dict(type='ACTSegHead', num_classes=50),
                category_num_parts=(4, 2)))


def test_stage2_checkpoint_loads_into_the_partseg_backbone():
    """A Stage II backbone state dict loads; only the cls token is left."""
    student = MODELS.build(
        dict(type='ACTPointTransformer', embed_dims=32, depth=2, num_heads=2,
             num_groups=16, group_size=8))
    model = small_segmentor()
    result = model.backbone.load_state_dict(student.state_dict(),
                                            strict=False)
    assert result.missing_keys == []
    assert sorted(result.unexpected_keys) == ['cls_pos', 'cls_token']
    torch.testing.assert_close(model.backbone.blocks[1].mlp.fc2.weight,
                               student.blocks[1].mlp.fc2.weight)
