"""CPU fallbacks of mmcv 2.1's CUDA-only ops (act_mmdet3d.compat.mmcv_cpu_ops).

Each op, called the way mmdet3d calls it (``mmcv.ops.X`` after
``act_mmdet3d.compat.apply_all()``, which conftest.py calls), is compared on
CPU tensors with a brute-force loop that spells out the CUDA kernel's
definition (box overlaps with shapely); the installer is checked at every
documented look-up site, and the dispatch keeps mmcv's own kernel for
tensors on other devices.
"""
import importlib
import math

import numpy as np
import pytest
import torch
from shapely.geometry import Polygon

import mmcv.ops
from act_mmdet3d.compat import mmcv_cpu_ops
from act_mmdet3d.ops.box_iou import bev_corners


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _rand(*shape, seed=0, scale=1.0):
    return torch.rand(*shape, generator=_gen(seed)) * scale


def _sq(a, b):
    """(dx*dx + dy*dy) + dz*dz, the kernels' order of operations."""
    d = a - b
    return (d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]) + d[..., 2] * d[
        ..., 2]


# ------------------------------------------------------------- installer


def test_every_documented_site_is_rebound():
    names = set(mmcv_cpu_ops.DISPATCHERS)
    for name in names:
        assert getattr(mmcv.ops, name) is mmcv_cpu_ops.DISPATCHERS[name]
        defined_in = importlib.import_module(
            mmcv_cpu_ops._MMCV_DEFINED_IN[name])
        assert getattr(defined_in, name) is mmcv_cpu_ops.DISPATCHERS[name]
    for module_name, site_names in mmcv_cpu_ops.KNOWN_SITES:
        module = importlib.import_module(module_name)
        for name in site_names:
            assert getattr(module, name) is mmcv_cpu_ops.DISPATCHERS[name], (
                module_name, name)
    sites = set(mmcv_cpu_ops.installed_sites())
    assert ('mmdet3d.models.dense_heads.vote_head',
            'furthest_point_sample') in sites
    assert ('mmdet3d.structures.bbox_3d.base_box3d',
            'points_in_boxes_all') in sites
    assert mmcv_cpu_ops.install() == []  # idempotent


def test_non_cpu_tensors_keep_mmcv_kernel(monkeypatch):
    """Tensors on a device mmcv has kernels for go to mmcv's function (the
    'meta' device stands in for an accelerator here)."""
    calls = []

    def fake(*args):
        calls.append(args)
        return 'mmcv'

    monkeypatch.setitem(mmcv_cpu_ops.MMCV_ORIGINALS, 'gather_points', fake)
    feats = torch.empty(1, 4, 10, device='meta')
    idx = torch.empty(1, 3, dtype=torch.int32, device='meta')
    assert mmcv.ops.gather_points(feats, idx) == 'mmcv' and len(calls) == 1
    assert mmcv_cpu_ops.use_mmcv_kernel(feats)
    assert not mmcv_cpu_ops.use_mmcv_kernel(torch.zeros(1))
    out = mmcv.ops.gather_points(torch.ones(1, 4, 10),
                                 torch.zeros(1, 3, dtype=torch.int32))
    assert out.shape == (1, 4, 3) and len(calls) == 1


# ------------------------------------------------------------- sampling


def naive_fps(xyz, m):
    out = []
    for cloud in xyz:
        dist = torch.full((len(cloud), ), 1e10)
        far, picked = 0, []
        for _ in range(m):
            picked.append(far)
            dist = torch.minimum(dist, _sq(cloud, cloud[far]))
            far = int(torch.argmax(dist))
        out.append(picked)
    return torch.tensor(out, dtype=torch.int32)


def test_furthest_point_sample():
    xyz = _rand(2, 300, 3, seed=1)
    out = mmcv.ops.furthest_point_sample(xyz, 40)
    assert out.dtype == torch.int32 and out.shape == (2, 40)
    assert torch.equal(out, naive_fps(xyz, 40))


def test_furthest_point_sample_with_dist_and_points_sampler():
    xyz = _rand(2, 120, 3, seed=2)
    dist = _sq(xyz[:, :, None], xyz[:, None])  # (B, N, N)
    out = mmcv.ops.furthest_point_sample_with_dist(dist.contiguous(), 16)
    assert out.dtype == torch.int32
    assert torch.equal(out, naive_fps(xyz, 16))
    # mmcv's PointsSampler (used by mmdet3d's PointSAModule) through both
    feats = _rand(2, 5, 120, seed=3)
    sampler = mmcv.ops.PointsSampler([8, 8], ['D-FPS', 'F-FPS'], [-1, -1])
    idx = sampler(xyz, feats)
    assert idx.shape == (2, 16)
    assert torch.equal(idx[:, :8], naive_fps(xyz, 8))


# ------------------------------------------------------------- ball query


def naive_ball_query(min_r, max_r, k, xyz, centers):
    """The CUDA kernel, literally."""
    b, m = centers.shape[:2]
    out = torch.zeros(b, m, k, dtype=torch.int32)
    min2 = np.float32(min_r) * np.float32(min_r)
    max2 = np.float32(max_r) * np.float32(max_r)
    for i in range(b):
        for j in range(m):
            cnt = 0
            for p in range(xyz.size(1)):
                d2 = float(_sq(centers[i, j], xyz[i, p]))
                if d2 == 0 or (min2 <= d2 < max2):
                    if cnt == 0:
                        out[i, j, :] = p
                    out[i, j, cnt] = p
                    cnt += 1
                    if cnt >= k:
                        break
    return out


@pytest.mark.parametrize('min_r,max_r,k', [(0., 0.2, 8), (0.1, 0.35, 5),
                                           (0., 0.05, 4)])
def test_ball_query(min_r, max_r, k):
    xyz = _rand(2, 150, 3, seed=4)
    centers = torch.cat([xyz[:, :6], _rand(2, 6, 3, seed=5) * 1.5], 1)
    out = mmcv.ops.ball_query(min_r, max_r, k, xyz, centers.contiguous())
    assert out.dtype == torch.int32 and out.shape == (2, 12, k)
    assert torch.equal(out, naive_ball_query(min_r, max_r, k, xyz, centers))


def test_stacked_ball_query_and_grouping():
    xyz = _rand(70, 3, seed=6)
    centers = torch.cat([xyz[:3], _rand(2, 3, seed=7) + 3, xyz[40:44]])
    xyz_cnt = torch.tensor([40, 30], dtype=torch.int32)
    ctr_cnt = torch.tensor([5, 4], dtype=torch.int32)
    idx = mmcv.ops.ball_query(0, 0.3, 6, xyz, centers, xyz_cnt, ctr_cnt)
    assert idx.dtype == torch.int32 and idx.shape == (9, 6)
    r2 = np.float32(0.3) * np.float32(0.3)
    for j in range(9):
        lo, hi = (0, 40) if j < 5 else (40, 70)
        hits = [p - lo for p in range(lo, hi)
                if float(_sq(centers[j], xyz[p])) < r2][:6]
        if not hits:
            assert idx[j, 0] == -1 and (idx[j, 1:] == 0).all()
        else:
            want = hits + [hits[0]] * (6 - len(hits))
            assert idx[j].tolist() == want
    assert (idx[3:5, 0] == -1).all()  # the far centres found nothing
    feats = _rand(70, 4, seed=8)
    safe = idx.clamp(min=0)
    grouped = mmcv.ops.grouping_operation(feats, safe, xyz_cnt, ctr_cnt)
    assert grouped.shape == (9, 4, 6)
    for j in range(9):
        off = 0 if j < 5 else 40
        assert torch.equal(grouped[j], feats[safe[j].long() + off].t())


def test_query_and_group_matches_brute_force():
    xyz = _rand(1, 90, 3, seed=9)
    centers = xyz[:, :10].contiguous()
    feats = _rand(1, 3, 90, seed=10)
    grouped = mmcv.ops.QueryAndGroup(0.25, 8, use_xyz=True)(xyz, centers,
                                                           feats)
    idx = naive_ball_query(0, 0.25, 8, xyz, centers).long()[0]
    want_xyz = (xyz[0][idx] - centers[0][:, None]).permute(2, 0, 1)
    assert torch.allclose(grouped[0, :3], want_xyz)
    assert torch.equal(grouped[0, 3:], feats[0][:, idx])


# ------------------------------------------------------------- gathering


def test_grouping_and_gather_points_values_and_gradients():
    feats = _rand(2, 3, 20, seed=11).double().requires_grad_()
    idx = torch.randint(0, 20, (2, 5, 4), generator=_gen(12),
                        dtype=torch.int32)
    out = mmcv.ops.grouping_operation(feats, idx)
    want = torch.stack([feats[b][:, idx[b].long()] for b in range(2)])
    assert torch.equal(out, want)
    assert torch.autograd.gradcheck(
        lambda f: mmcv.ops.grouping_operation(f, idx), (feats, ))
    idx2 = idx[:, :, 0].contiguous()
    out2 = mmcv.ops.gather_points(feats, idx2)
    assert torch.equal(out2, want[..., 0])
    assert torch.autograd.gradcheck(
        lambda f: mmcv.ops.gather_points(f, idx2), (feats, ))


def test_three_nn_three_interpolate_and_knn():
    target = _rand(2, 50, 3, seed=13)
    source = _rand(2, 12, 3, seed=14)
    dist, idx = mmcv.ops.three_nn(target, source)
    assert idx.dtype == torch.int32 and dist.shape == (2, 50, 3)
    d2 = _sq(target[:, :, None], source[:, None])
    ref_d, ref_i = torch.sort(d2, dim=-1, stable=True)
    assert torch.equal(idx.long(), ref_i[..., :3])
    assert torch.allclose(dist, ref_d[..., :3].sqrt())
    feats = _rand(2, 4, 12, seed=15)
    w = torch.softmax(_rand(2, 50, 3, seed=16), -1)
    out = mmcv.ops.three_interpolate(feats, idx, w)
    want = torch.stack([(feats[b][:, idx[b].long()] * w[b]).sum(-1)
                        for b in range(2)])
    assert torch.allclose(out, want, atol=1e-6)
    knn_idx = mmcv.ops.knn(5, source, target)  # (B, k, npoint)
    assert knn_idx.dtype == torch.int32 and knn_idx.shape == (2, 5, 50)
    assert torch.equal(knn_idx.transpose(1, 2).long(), ref_i[..., :5])
    knn_t = mmcv.ops.knn(5, source.transpose(1, 2).contiguous(),
                         target.transpose(1, 2).contiguous(), True)
    assert torch.equal(knn_t, knn_idx)


# ------------------------------------------------------------- boxes


def _boxes(n, seed, centre_scale=3.0):
    g = _gen(seed)
    return torch.cat([
        torch.rand(n, 3, generator=g) * centre_scale,
        torch.rand(n, 3, generator=g) * 1.5 + 0.1,
        (torch.rand(n, 1, generator=g) - 0.5) * 2 * math.pi
    ], 1)


def naive_points_in_box(p, box):
    """The kernel's test: bottom-centre box, rotate by -yaw, strict x/y."""
    cx, cy, cz, dx, dy, dz, rz = [float(v) for v in box]
    x, y, z = [float(v) for v in p]
    cz += dz / 2
    if abs(z - cz) > dz / 2:
        return 0
    cos, sin = math.cos(-rz), math.sin(-rz)
    lx = (x - cx) * cos - (y - cy) * sin
    ly = (x - cx) * sin + (y - cy) * cos
    return int(-dx / 2 < lx < dx / 2 and -dy / 2 < ly < dy / 2)


def test_points_in_boxes_all_and_part():
    boxes = _boxes(6, seed=17)[None]
    points = _rand(1, 400, 3, seed=18, scale=3.5)
    points[0, :6] = boxes[0, :, :3] + torch.tensor([0, 0, 0.05])
    inside = mmcv.ops.points_in_boxes_all(points, boxes)
    assert inside.dtype == torch.int32 and inside.shape == (1, 400, 6)
    want = torch.tensor([[naive_points_in_box(p, b) for b in boxes[0]]
                         for p in points[0].double()])
    assert torch.equal(inside[0], want.int())
    assert inside[0, :6].diagonal().all()  # the points put inside
    assert 0 < int(want.sum()) < 400 * 6
    # mmcv's own CPU kernel agrees
    assert torch.equal(mmcv.ops.points_in_boxes_cpu(points, boxes), inside)
    part = mmcv.ops.points_in_boxes_part(points, boxes)
    first = torch.where(want.any(1), want.int().argmax(1),
                        torch.full((400, ), -1))
    assert part.dtype == torch.int32 and torch.equal(part[0], first.int())


def test_depth_boxes_points_in_boxes_on_cpu():
    from mmdet3d.structures import DepthInstance3DBoxes
    boxes = DepthInstance3DBoxes(_boxes(3, seed=19))
    points = _rand(200, 3, seed=20, scale=3.5)
    got = boxes.points_in_boxes_all(points)
    want = torch.tensor([[naive_points_in_box(p, b) for b in boxes.tensor]
                         for p in points.double()])
    assert torch.equal(got, want.int())


def _shapely_overlap(a, b):
    pa = Polygon(bev_corners(a[[0, 1, 3, 4, 6]].double()).numpy())
    pb = Polygon(bev_corners(b[[0, 1, 3, 4, 6]].double()).numpy())
    return pa.intersection(pb).area


def test_bev_overlap_and_iou3d_against_shapely():
    a, b = _boxes(25, seed=21), _boxes(20, seed=22)
    b[:4] = a[:4]  # identical
    b[4:8] = a[4:8]
    b[4:8, 6] += math.pi / 2  # rotated by 90 degrees about the centre
    b[8, :] = a[8]
    b[8, 0] += 10  # disjoint
    overlap = mmcv.ops.boxes_overlap_bev(a, b)
    want = torch.tensor([[_shapely_overlap(x, y) for y in b] for x in a],
                        dtype=torch.float64)
    assert torch.allclose(overlap.double(), want, atol=1e-5)
    assert (want > 0).float().mean() > 0.2
    iou = mmcv.ops.boxes_iou3d(a, b)
    h = (torch.min(a[:, None, 2] + a[:, None, 5] / 2,
                   b[None, :, 2] + b[None, :, 5] / 2) -
         torch.max(a[:, None, 2] - a[:, None, 5] / 2,
                   b[None, :, 2] - b[None, :, 5] / 2)).clamp(min=0)
    vol_a = a[:, 3:6].prod(1)[:, None]
    vol_b = b[:, 3:6].prod(1)[None]
    inter = want.float() * h
    assert torch.allclose(iou, inter / (vol_a + vol_b - inter), atol=1e-5)
    assert torch.allclose(iou[:4, :4].diagonal(), torch.ones(4), atol=1e-5)


def naive_nms(boxes, scores, thr, iou_fn):
    order = scores.sort(0, descending=True)[1].tolist()
    keep = []
    for i in order:
        if all(iou_fn(boxes[i], boxes[j]) <= thr for j in keep):
            keep.append(i)
    return keep


def test_nms3d_and_nms3d_normal():
    boxes = _boxes(40, seed=23, centre_scale=2.0)
    scores = _rand(40, seed=24)

    def rotated_iou(x, y):
        inter = _shapely_overlap(x, y)
        return inter / max(float(x[3] * x[4] + y[3] * y[4]) - inter, 1e-8)

    def aligned_iou(x, y):
        lo = torch.max(x[:2] - x[3:5] / 2, y[:2] - y[3:5] / 2)
        hi = torch.min(x[:2] + x[3:5] / 2, y[:2] + y[3:5] / 2)
        inter = float((hi - lo).clamp(min=0).prod())
        return inter / max(float(x[3] * x[4] + y[3] * y[4]) - inter, 1e-8)

    keep = mmcv.ops.nms3d(boxes, scores, 0.2)
    assert keep.dtype == torch.long
    assert keep.tolist() == naive_nms(boxes, scores, 0.2, rotated_iou)
    keep = mmcv.ops.nms3d_normal(boxes, scores, 0.2)
    assert keep.tolist() == naive_nms(boxes, scores, 0.2, aligned_iou)
    assert 1 < len(keep) < 40


# ------------------------------------------------------------- metric


def test_indoor_metric_on_cpu_numpy2():
    """mmdet3d's indoor_eval (IndoorMetric) runs under numpy >= 2.4 and
    scores a perfect prediction 1.0 and a displaced one 0."""
    from mmdet3d.evaluation.functional import indoor_eval
    from mmdet3d.structures import Box3DMode, DepthInstance3DBoxes
    gt = torch.tensor([[0., 0, 0, 1, 1, 1, 0], [3, 3, 0, 2, 1, 1, 0]])
    ann = dict(gt_bboxes_3d=DepthInstance3DBoxes(gt),
               gt_labels_3d=np.array([0, 1]))
    shifted = gt.clone()
    shifted[1, 0] += 5

    def pred(boxes):
        return dict(bboxes_3d=DepthInstance3DBoxes(boxes),
                    labels_3d=torch.tensor([0, 1]),
                    scores_3d=torch.tensor([0.9, 0.8]))

    res = indoor_eval([ann], [pred(gt)], [0.25, 0.5], ('a', 'b'),
                      box_mode_3d=Box3DMode.DEPTH)
    assert res['mAP_0.25'] == pytest.approx(1.0)
    assert res['mAP_0.50'] == pytest.approx(1.0)
    res = indoor_eval([ann], [pred(shifted)], [0.25, 0.5], ('a', 'b'),
                      box_mode_3d=Box3DMode.DEPTH)
    assert res['a_AP_0.25'] == pytest.approx(1.0)
    assert res['b_AP_0.25'] == pytest.approx(0.0)
    assert res['mAP_0.25'] == pytest.approx(0.5)
