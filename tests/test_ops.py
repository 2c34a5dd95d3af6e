"""Exactness of act_mmdet3d.ops against brute-force definitions.

FPS and kNN are compared index for index (ties included) with naive loops
that spell out the definitions; Chamfer / three-NN values with brute-force
formulas; gradients with finite differences (gradcheck, float64).
"""
import importlib
import math

import pytest
import torch

from act_mmdet3d.ops import (chamfer_distance, chamfer_distance_l1,
                             chamfer_distance_l2)
from act_mmdet3d.ops import fps as fps_module
from act_mmdet3d.ops import (furthest_point_sample, gather, knn,
                             three_interpolate, three_nn)

# the module, not the function the package exports under the same name
knn_module = importlib.import_module('act_mmdet3d.ops.knn')

CPU_BACKENDS = ['numba', 'torch']
CUDA = torch.cuda.is_available()


def _rng(seed):
    return torch.Generator().manual_seed(seed)


def _cloud(b, n, seed=0, dtype=torch.float32):
    return torch.rand(b, n, 3, generator=_rng(seed), dtype=torch.float64).to(
        dtype)


def _grid(b, n, seed=0, side=4):
    """Integer grid points: many duplicates and exactly tied distances."""
    return torch.randint(0, side, (b, n, 3), generator=_rng(seed)).float()


def _sq(a, b):
    """(dx*dx + dy*dy) + dz*dz, the package's definition, broadcasting."""
    d = a[..., 0] - b[..., 0]
    e = a[..., 1] - b[..., 1]
    f = a[..., 2] - b[..., 2]
    return (d * d + e * e) + f * f


def naive_fps(points, num_samples, start_idx=0, skip_near_origin=False):
    """The O(N*S) definition, one cloud at a time.

    ``skip_near_origin``: the pointnet2_ops kernel's loop: a point with
    ``mag <= 1e-3`` (float ``mag``, double 1e-3) is skipped; the others
    compete with ``best = -1, besti = 0``, so no candidate gives index 0.
    """
    pts = points.double() if points.dtype == torch.float64 else points.float()
    out = []
    for cloud in pts:
        dist = torch.full((cloud.size(0), ), float('inf'), dtype=pts.dtype)
        near = _sq(cloud, torch.zeros_like(cloud)).double() <= 1e-3
        near &= skip_near_origin
        far = start_idx % cloud.size(0)
        picked = []
        for _ in range(num_samples):
            picked.append(far)
            dist = torch.minimum(dist, _sq(cloud, cloud[far]))
            # first maximum = lowest index; all -1 -> 0, the kernel's besti
            far = int(torch.argmax(dist.masked_fill(near, -1.)))
        out.append(picked)
    return torch.tensor(out, dtype=torch.long)


def _disc(b, n, seed):
    """Uniform points on the unit disc z = 0 (some near its centre)."""
    r = torch.rand(b, n, generator=_rng(seed)).sqrt()
    t = torch.rand(b, n, generator=_rng(seed + 1)) * (2 * math.pi)
    return torch.stack([r * t.cos(), r * t.sin(), torch.zeros(b, n)], -1)


def _gauss(b, n, seed):
    """Gaussian clouds, centred and scaled into the unit sphere."""
    p = torch.randn(b, n, 3, generator=_rng(seed))
    p = p - p.mean(1, keepdim=True)
    return p / p.norm(dim=-1).amax(1)[:, None, None]


def brute_knn(query, ref, k):
    """All distances, stable sort: neighbours by (distance, index)."""
    dtype = torch.float64 if torch.float64 in (query.dtype,
                                               ref.dtype) else torch.float32
    d = _sq(query.to(dtype)[:, :, None, :], ref.to(dtype)[:, None, :, :])
    dist, idx = torch.sort(d, dim=-1, stable=True)
    return dist[..., :k], idx[..., :k]


# ------------------------------------------------------------------- FPS

FPS_CASES = [(1, 1, 1), (1, 5, 5), (2, 64, 64), (3, 200, 17), (2, 1000, 64),
             (2, 3000, 128)]


@pytest.mark.parametrize('backend', CPU_BACKENDS)
@pytest.mark.parametrize('b,n,s', FPS_CASES)
def test_fps_matches_naive_every_start(backend, b, n, s):
    points = _cloud(b, n, seed=n)
    for start in sorted({0, 1 % n, n // 2, n - 1, -1}):
        got = furthest_point_sample(points, s, start_idx=start,
                                    backend=backend)
        assert got.dtype == torch.long and got.shape == (b, s)
        assert torch.equal(got, naive_fps(points, s, start)), start
        assert (got[:, 0] == start % n).all()


@pytest.mark.parametrize('backend', CPU_BACKENDS)
def test_fps_ties_lowest_index(backend):
    points = _grid(3, 300, seed=1)  # 64 distinct positions, many duplicates
    for start in (0, 7, 299):
        want = naive_fps(points, 150, start)  # beyond the distinct points
        got = furthest_point_sample(points, 150, start, backend=backend)
        assert torch.equal(got, want)


@pytest.mark.parametrize('backend', CPU_BACKENDS)
def test_fps_degenerate_clouds(backend):
    same = torch.full((2, 40, 3), 0.25)  # all distances zero
    flat = _cloud(2, 300, seed=3)
    flat[..., 2] = 1.0  # zero extent along z
    line = torch.zeros(1, 50, 3)
    line[0, :, 0] = torch.arange(50.) % 7  # a line with duplicates
    huge = _cloud(1, 100, seed=4) * 1e20  # squared distances overflow to inf
    for points in (same, flat, line, huge):
        n = points.size(1)
        for start in (0, n - 1):
            got = furthest_point_sample(points, n, start, backend=backend)
            assert torch.equal(got, naive_fps(points, n, start))


def test_fps_quickfps_backend_matches_without_ties():
    pytest.importorskip('torch_quickfps')
    points = _cloud(4, 2048, seed=5)
    for start in (0, 100):
        got = furthest_point_sample(points, 128, start, backend='quickfps')
        assert torch.equal(got, naive_fps(points, 128, start))


def test_fps_backends_identical_and_auto():
    points = _cloud(8, 1024, seed=6)
    numba = furthest_point_sample(points, 64, 3, backend='numba')
    assert torch.equal(numba, furthest_point_sample(points, 64, 3,
                                                    backend='torch'))
    assert torch.equal(numba, furthest_point_sample(points, 64, 3))


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_fps_half_inputs_computed_in_float32(dtype):
    points = _cloud(2, 500, seed=7).to(dtype)
    want = naive_fps(points.float(), 50, 2)
    for backend in CPU_BACKENDS:
        got = furthest_point_sample(points, 50, 2, backend=backend)
        assert torch.equal(got, want)


def test_fps_float64_uses_float64():
    points = _cloud(2, 400, seed=8, dtype=torch.float64)
    assert torch.equal(furthest_point_sample(points, 40, 5),
                       naive_fps(points, 40, 5))


def test_fps_parallel_split_is_identical(monkeypatch):
    points = _cloud(7, 700, seed=9)
    monkeypatch.setattr(fps_module, 'num_workers', lambda work, *a: 1)
    one = furthest_point_sample(points, 70, backend='numba')
    monkeypatch.setattr(fps_module, 'num_workers', lambda work, *a: 3)
    assert torch.equal(one,
                       furthest_point_sample(points, 70, backend='numba'))


@pytest.mark.parametrize('backend', CPU_BACKENDS)
@pytest.mark.parametrize('make', [_disc, _gauss])
def test_fps_skip_near_origin_is_the_reference_kernel(backend, make):
    points = make(100, 1024, seed=40)
    near = (points * points).sum(-1) <= 1e-3
    assert near.any(1).sum() > 20  # many clouds have such a point
    got = furthest_point_sample(
        points, 64, backend=backend, skip_near_origin=True)
    assert torch.equal(got, naive_fps(points, 64, skip_near_origin=True))
    assert not near.gather(1, got[:, 1:]).any()
    plain = furthest_point_sample(points, 64, backend=backend)
    # the rule matters (with the reference: 7 / 100 discs, 2 / 100 Gaussian)
    assert 0 < (got != plain).any(1).sum() < 20


@pytest.mark.parametrize('backend', CPU_BACKENDS)
def test_fps_skip_near_origin_edge_cases(backend):
    points = _cloud(3, 200, seed=41) - 0.5
    points[:, :10] *= 0.01  # ten points near the origin
    points[1, 10:] *= 0.01  # cloud 1: all of them
    points[2, 10:20] = 0.6  # cloud 2: few distinct far points, duplicated
    points[2, 20:] *= 0.01
    for start in (0, 5, 150):  # a start near the origin is still taken
        got = furthest_point_sample(
            points, 30, start, backend=backend, skip_near_origin=True)
        assert torch.equal(got, naive_fps(points, 30, start, True))
        assert (got[:, 0] == start).all()
        assert (got[1, 1:] == 0).all()  # no candidate: the kernel's index 0
    half = points.half()
    assert torch.equal(
        furthest_point_sample(half, 30, 3, backend=backend,
                              skip_near_origin=True),
        naive_fps(half.float(), 30, 3, True))


def test_fps_skip_near_origin_threshold_and_dtypes():
    # float32: x*x + y*y is the last float32 <= 1e-3 (skipped), then
    # float32(1e-3), which is above 1e-3 as the kernel compares (kept)
    ring = [[0.5, 0.5, 0.5], [-0.5, -0.5, -0.5]]
    for y, kept in ((0., False), (9e-6, True)):
        p = torch.tensor([[ring[0], [0.031622775, y, 0.], ring[1]]])
        mag = _sq(p[0, 1], torch.zeros(3))
        assert (mag == torch.tensor(1e-3)) == kept and mag <= 1e-3 * 1.01
        for backend in CPU_BACKENDS:
            got = furthest_point_sample(
                p, 3, backend=backend, skip_near_origin=True)
            assert got.tolist() == [[0, 2, 1 if kept else 0]], backend
    # float64: the bound is 1e-3 itself
    for scale, kept in ((1., False), (1 + 1e-9, True)):
        p = torch.tensor([[ring[0], [math.sqrt(1e-3) * scale, 0, 0],
                           ring[1]]], dtype=torch.float64)
        got = furthest_point_sample(p, 3, skip_near_origin=True)
        assert got.tolist() == [[0, 2, 1 if kept else 0]]
    cloud = _cloud(1, 50, seed=42)
    with pytest.raises(ValueError, match='skip_near_origin'):
        furthest_point_sample(cloud, 8, backend='quickfps',
                              skip_near_origin=True)
    with pytest.raises(ValueError, match='skip_near_origin'):
        furthest_point_sample(cloud, 8, backend='mmcv', skip_near_origin=True)


# ------------------------------------------------------------------- kNN

KNN_CASES = [(1, 1, 1, 1), (2, 5, 32, 32), (3, 17, 100, 7), (2, 64, 1024, 32),
             (2, 128, 2048, 32), (1, 40, 5000, 16)]


@pytest.mark.parametrize('backend', CPU_BACKENDS)
@pytest.mark.parametrize('b,m,n,k', KNN_CASES)
def test_knn_matches_brute_force(backend, b, m, n, k):
    ref = _cloud(b, n, seed=n)
    query = torch.cat([ref[:, :m // 2], _cloud(b, m - m // 2, seed=m)], 1)
    dist, idx = knn(query, ref, k, backend=backend)
    want_d, want_i = brute_knn(query, ref, k)
    assert dist.shape == idx.shape == (b, m, k)
    assert dist.dtype == torch.float32 and idx.dtype == torch.long
    assert torch.equal(dist, want_d)  # exact squared distances, sorted
    assert torch.equal(idx, want_i)  # (distance, index) order


@pytest.mark.parametrize('backend', CPU_BACKENDS)
def test_knn_ties_by_lowest_index(backend):
    ref = _grid(3, 400, seed=11)
    query = torch.cat([_grid(3, 30, seed=12), ref[:, :10] + 0.5], 1)
    for k in (1, 8, 33, 400):
        dist, idx = knn(query, ref, k, backend=backend)
        want_d, want_i = brute_knn(query, ref, k)
        assert torch.equal(dist, want_d)
        assert torch.equal(idx, want_i)


@pytest.mark.parametrize('backend', CPU_BACKENDS)
def test_knn_far_and_degenerate_queries(backend):
    ref = _cloud(2, 600, seed=13)
    ref[1, :, 1] = 0.5  # zero extent along y
    far = _cloud(2, 20, seed=14) * 10 - 20  # outside every cell
    dups = torch.full((1, 60, 3), 2.0)  # all reference points identical
    for q, r in ((far, ref), (ref[:, :50], ref), (dups[:, :5] + 1, dups)):
        for k in (1, 10, r.size(1)):
            dist, idx = knn(q, r, k, backend=backend)
            want_d, want_i = brute_knn(q, r, k)
            assert torch.equal(dist, want_d) and torch.equal(idx, want_i)


def test_knn_chunked_identical_and_bounded(monkeypatch):
    query, ref = _cloud(3, 50, seed=15), _cloud(3, 300, seed=16)
    full = knn(query, ref, 9, backend='torch')
    sizes = []
    select = knn_module._select

    def spy(d, k):
        sizes.append(d.numel())
        return select(d, k)

    monkeypatch.setattr(knn_module, '_select', spy)
    budget = 20 * 300 * 4  # room for 4 query rows at a time
    chunked = knn(query, ref, 9, backend='torch', chunk_bytes=budget)
    assert max(sizes) <= 4 * 300 and len(sizes) == 3 * 13
    tiny = knn(query, ref, 9, backend='torch', chunk_bytes=1)  # 1 row
    for got in (chunked, tiny):
        assert torch.equal(got[0], full[0]) and torch.equal(got[1], full[1])


def test_knn_chunks_over_batch_when_rows_fit():
    query, ref = _cloud(5, 8, seed=17), _cloud(5, 64, seed=18)
    want = brute_knn(query, ref, 5)
    for budget in (20 * 64 * 8 * 2, 20 * 64 * 3, 10**9):
        got = knn(query, ref, 5, backend='torch', chunk_bytes=budget)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_knn_float64_and_half_inputs():
    query, ref = _cloud(2, 30, seed=19), _cloud(2, 200, seed=20)
    d64, i64 = knn(query.double(), ref.double(), 6)
    want = brute_knn(query.double(), ref.double(), 6)
    assert d64.dtype == torch.float64
    assert torch.equal(d64, want[0]) and torch.equal(i64, want[1])
    for dtype in (torch.float16, torch.bfloat16):
        q, r = query.to(dtype), ref.to(dtype)
        want = brute_knn(q.float(), r.float(), 6)
        for backend in CPU_BACKENDS:
            d, i = knn(q, r, 6, backend=backend)
            assert d.dtype == torch.float32
            assert torch.equal(d, want[0]) and torch.equal(i, want[1])


def test_knn_parallel_over_queries_is_identical(monkeypatch):
    query, ref = _cloud(1, 300, seed=21), _cloud(1, 2000, seed=22)
    monkeypatch.setattr(knn_module, 'num_workers', lambda work, *a: 1)
    one = knn(query, ref, 12, backend='numba')
    monkeypatch.setattr(knn_module, 'num_workers', lambda work, *a: 3)
    got = knn(query, ref, 12, backend='numba')
    assert torch.equal(one[0], got[0]) and torch.equal(one[1], got[1])


# ---------------------------------------------------------------- gather


def test_gather_values_and_gradient():
    points = torch.randn(2, 10, 4, dtype=torch.float64, requires_grad=True)
    idx2 = torch.tensor([[0, 9, 9, 3], [1, 1, 2, 5]])
    idx3 = torch.randint(0, 10, (2, 3, 5), generator=_rng(23))
    for idx in (idx2, idx3):
        out = gather(points, idx)
        assert out.shape == (*idx.shape, 4)
        for b in range(2):
            assert torch.equal(out[b], points[b][idx[b]])
    torch.autograd.gradcheck(lambda p: gather(p, idx2), (points, ))
    gather(points, idx2).sum().backward()  # repeated indices accumulate
    assert points.grad[0, 9].tolist() == [2.0] * 4


# --------------------------------------------------------------- chamfer


def _brute_chamfer(a, b):
    d = _sq(a.double()[:, :, None], b.double()[:, None])
    return d.min(2)[0], d.min(1)[0]  # (B, N), (B, M)


def test_chamfer_values_match_reference_formulas():
    a, b = _cloud(3, 100, seed=24), _cloud(3, 80, seed=25)
    d1, d2 = _brute_chamfer(a, b)
    none2 = chamfer_distance(a, b, norm=2, reduction='none')
    none1 = chamfer_distance(a, b, norm=1, reduction='none')
    assert none2[0].shape == (3, 100) and none2[1].shape == (3, 80)
    torch.testing.assert_close(none2[0].double(), d1, rtol=1e-6, atol=0)
    torch.testing.assert_close(none2[1].double(), d2, rtol=1e-6, atol=0)
    torch.testing.assert_close(none1[0].double(), d1.sqrt(), rtol=1e-6,
                               atol=0)
    for red, fn in (('mean', torch.mean), ('sum', torch.sum)):
        got = chamfer_distance(a, b, norm=2, reduction=red)
        torch.testing.assert_close(got[0].double(), fn(d1), rtol=1e-5, atol=0)
        torch.testing.assert_close(got[1].double(), fn(d2), rtol=1e-5, atol=0)
    # ChamferDistanceL2 / L1 of the reference code
    l2 = torch.mean(d1) + torch.mean(d2)
    l1 = (torch.mean(torch.sqrt(d1)) + torch.mean(torch.sqrt(d2))) / 2
    torch.testing.assert_close(chamfer_distance_l2(a, b).double(), l2,
                               rtol=1e-5, atol=0)
    torch.testing.assert_close(chamfer_distance_l1(a, b).double(), l1,
                               rtol=1e-5, atol=0)
    # float64 is exact against the brute-force float64 formula
    a64, b64 = a.double(), b.double()
    assert chamfer_distance_l2(a64, b64).item() == l2.item()


@pytest.mark.parametrize('norm', [1, 2])
def test_chamfer_gradients_match_finite_differences(norm):
    a = torch.rand(2, 7, 3, generator=_rng(26), dtype=torch.float64)
    b = torch.rand(2, 9, 3, generator=_rng(27), dtype=torch.float64)
    a.requires_grad_(True)
    b.requires_grad_(True)
    for red in ('mean', 'sum', 'none'):
        torch.autograd.gradcheck(
            lambda x, y: chamfer_distance(x, y, norm=norm, reduction=red),
            (a, b))
    torch.autograd.gradcheck(chamfer_distance_l1, (a, b))
    torch.autograd.gradcheck(chamfer_distance_l2, (a, b))


def test_chamfer_sqrt_at_zero_has_finite_gradient():
    a = _cloud(2, 16, seed=28).requires_grad_(True)
    b = a.detach().clone().requires_grad_(True)  # every distance is 0
    loss = chamfer_distance_l1(a, b)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()


def test_chamfer_half_input_and_grad_dtype():
    a = _cloud(2, 50, seed=29).half().requires_grad_(True)
    b = _cloud(2, 40, seed=30).half()
    loss = chamfer_distance_l2(a, b)
    assert loss.dtype == torch.float32
    loss.backward()
    assert a.grad.dtype == torch.float16
    want = chamfer_distance_l2(a.detach().float(), b.float())
    assert loss.item() == want.item()


# -------------------------------------------------------------- three-NN


def test_three_nn_and_interpolate():
    unknown, known = _cloud(2, 40, seed=31), _cloud(2, 25, seed=32)
    dist, idx = three_nn(unknown, known)
    want_d, want_i = brute_knn(unknown, known, 3)
    assert torch.equal(idx, want_i)
    assert torch.equal(dist, want_d.sqrt())
    feats = torch.randn(2, 6, 25, dtype=torch.float64, requires_grad=True)
    w = 1.0 / (dist.double() + 1e-8)
    w = (w / w.sum(-1, keepdim=True)).requires_grad_(True)
    out = three_interpolate(feats, idx, w)
    assert out.shape == (2, 6, 40)
    loop = torch.zeros(2, 6, 40, dtype=torch.float64)
    for b in range(2):
        for n in range(40):
            for j in range(3):
                loop[b, :, n] += w[b, n, j] * feats[b, :, idx[b, n, j]]
    torch.testing.assert_close(out, loop)
    torch.autograd.gradcheck(three_interpolate, (feats, idx, w))


# ------------------------------------------------------------ bad inputs

P = _cloud(2, 20, seed=33)
BAD_CALLS = [
    (lambda: furthest_point_sample(P[0], 4), 'points'),
    (lambda: furthest_point_sample(torch.rand(2, 20, 2), 4), 'points'),
    (lambda: furthest_point_sample(P.long(), 4), 'points'),
    (lambda: furthest_point_sample(P, 0), 'num_samples'),
    (lambda: furthest_point_sample(P, -3), 'num_samples'),
    (lambda: furthest_point_sample(P, 21), 'num_samples'),
    (lambda: furthest_point_sample(P, 2.5), 'num_samples'),
    (lambda: furthest_point_sample(P, 4, start_idx=20), 'start_idx'),
    (lambda: furthest_point_sample(P, 4, backend='cuda'), 'backend'),
    (lambda: furthest_point_sample(P.double(), 4, backend='numba'),
     'backend'),
    (lambda: knn(P, P[:, :5], 6), 'k'),
    (lambda: knn(P, P, 0), 'k'),
    (lambda: knn(P[:1], P, 3), 'batch size'),
    (lambda: knn(P, P[..., :2], 3), 'ref'),
    (lambda: knn(P[0], P, 3), 'query'),
    (lambda: knn(P, P, 3, chunk_bytes=0), 'chunk_bytes'),
    (lambda: knn(P, P.to('meta'), 3), 'device'),
    (lambda: gather(P, torch.zeros(2, 3)), 'idx'),
    (lambda: gather(P, torch.full((2, 3), 20)), 'idx'),
    (lambda: gather(P, torch.full((2, 3), -1)), 'idx'),
    (lambda: gather(P, torch.zeros(3, 3, dtype=torch.long)), 'batch size'),
    (lambda: gather(P[0], torch.zeros(2, 3, dtype=torch.long)), 'points'),
    (lambda: chamfer_distance(P, P[:1]), 'batch size'),
    (lambda: chamfer_distance(P, P, norm=3), 'norm'),
    (lambda: chamfer_distance(P, P, reduction='max'), 'reduction'),
    (lambda: chamfer_distance(P, torch.rand(2, 5, 4)), 'b must have shape'),
    (lambda: three_nn(P, P[:, :2]), 'known'),
    (lambda: three_interpolate(P.transpose(1, 2), torch.zeros(
        2, 4, 3, dtype=torch.long), torch.ones(2, 4, 2)), 'weight'),
    (lambda: three_interpolate(P.transpose(1, 2), torch.full(
        (2, 4, 3), 20), torch.ones(2, 4, 3)), 'idx'),
]


@pytest.mark.parametrize('call,name', BAD_CALLS)
def test_bad_inputs_raise_value_error_naming_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_inputs_are_rejected(bad):
    x = P.clone()
    x[1, 3, 2] = bad
    for call, name in ((lambda: furthest_point_sample(x, 4), 'points'),
                       (lambda: knn(x, P, 3), 'query'),
                       (lambda: knn(P, x, 3), 'ref'),
                       (lambda: chamfer_distance(P, x), 'b'),
                       (lambda: three_nn(x, P), 'unknown')):
        with pytest.raises(ValueError, match=f'{name} contains NaN or inf'):
            call()


# ------------------------------------------------------------------ CUDA


def _assert_valid_fps(points, idx, rtol=1e-5):
    """Each sample is (within rtol) a farthest point from the previous ones:
    the exact claim for kernels that round with FMA / break ties their way.
    """
    for cloud, picked in zip(points.double(), idx):
        dist = torch.full((cloud.size(0), ), float('inf'), dtype=cloud.dtype)
        for s, i in enumerate(picked.tolist()):
            if s:
                assert dist[i] >= dist.max() * (1 - rtol), (s, i)
            dist = torch.minimum(dist, _sq(cloud, cloud[i]))


@pytest.mark.skipif(not CUDA, reason='needs a CUDA device')
def test_cuda_matches_cpu():
    points = _cloud(4, 2048, seed=34)
    cuda = points.cuda()
    # the torch path is bit-exact on CUDA too
    for start in (0, 5):
        got = furthest_point_sample(cuda, 128, start, backend='torch')
        assert torch.equal(got.cpu(), naive_fps(points, 128, start))
    # auto: mmcv's kernel (start 0) -- exact up to FMA rounding and ties
    got = furthest_point_sample(cuda, 128).cpu()
    assert (got[:, 0] == 0).all()
    _assert_valid_fps(points, got)
    assert torch.equal(
        furthest_point_sample(cuda, 128, start_idx=5).cpu(),
        naive_fps(points, 128, 5))  # start != 0: the torch path
    disc = _disc(8, 1024, seed=43)  # the reference rule: the torch path
    assert torch.equal(
        furthest_point_sample(disc.cuda(), 64, skip_near_origin=True).cpu(),
        naive_fps(disc, 64, skip_near_origin=True))
    query = points[:, :64]
    want_d, want_i = brute_knn(query, points, 32)
    d, i = knn(query.cuda(), cuda, 32, backend='torch')
    assert torch.equal(d.cpu(), want_d) and torch.equal(i.cpu(), want_i)
    d, i = knn(query.cuda(), cuda, 32)  # mmcv where available
    torch.testing.assert_close(d.cpu(), want_d)  # same up to (near) ties
    exact = _sq(query.unsqueeze(2), _common_gather(points, i.cpu()))
    assert torch.equal(exact, d.cpu())  # distances recomputed exactly
    a, b = points[:, :300], points[:, 300:700]
    torch.testing.assert_close(
        chamfer_distance_l1(a.cuda(), b.cuda()).cpu(),
        chamfer_distance_l1(a, b))
    dist, idx = three_nn(a.cuda(), b.cuda())
    torch.testing.assert_close(dist.cpu(), three_nn(a, b)[0])
    feats = torch.randn(4, 5, 400)
    w = torch.rand(4, 300, 3)
    torch.testing.assert_close(
        three_interpolate(feats.cuda(), idx, w.cuda()).cpu(),
        three_interpolate(feats, idx.cpu(), w))


def _common_gather(points, idx):
    return torch.stack([p[i] for p, i in zip(points, idx)])
