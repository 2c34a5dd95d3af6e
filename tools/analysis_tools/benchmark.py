"""Benchmarks of act_mmdet3d against peers measured in the same run.

Usage::

    python tools/analysis_tools/benchmark.py                # every section
    python tools/analysis_tools/benchmark.py --only ops     # one section
    python tools/analysis_tools/benchmark.py --only ops --out work_dirs/bench

``--out DIR`` writes ``DIR/benchmark.json`` (every row, plus the machine)
and ``DIR/benchmark.md`` (the tables and the summary).

Sections are functions ``fn(args, progress) -> list[dict]`` registered in
:data:`SECTIONS` with :func:`register`; every row is a flat dict, and rows of
one section share their keys. Timings are the median of
``act_mmdet3d.utils.benchmark.measure`` (torch.utils.benchmark's
``adaptive_autorange``; slow baselines stop after ``--budget`` seconds) with
``torch.get_num_threads()`` left as it is, so every implementation sees the
same threads. Absolute times drift from machine to machine: compare the
ratios, which come from one run.

Sections:

* ``ops``: FPS and kNN of :mod:`act_mmdet3d.ops` (each backend) against
  torch-quickfps, fpsample, pykdtree, scipy's cKDTree and cdist+topk, at the
  sizes of ``shared/PEER_FIGURES.md`` plus the largest ACT size; every result
  is checked against the project's pure-torch reference (``backend='torch'``,
  the textbook O(N*S) loop, timed as a row of its own) in the same run
  ('identical' indices; kNN 'same up to ties' when the sorted exact distances
  of the chosen neighbours are the exact k smallest; cdist+topk is not exact:
  torch.cdist uses the |x|^2 + |y|^2 - 2 x.y matrix-product form at these
  sizes, so nearly tied neighbours can swap). Chamfer forward+backward at the
  Stage I sizes against brute force, values against float64 cKDTree.
* ``detection``: a training step (batch 1, 40,000 points, forward + loss +
  backward + AdamW) of 3DETR, 3DETR-m and the 3DETR + ACT swap, as a ratio
  to VoteNet with the ACT backbone (``configs/act/votenet_act-vit-s_8xb8_scannet-3d.py``).
* ``backbone``: ``tools/analysis_tools/bench_backbone.py``, run in a
  subprocess.
* ``pretrain``: the Stage II training step,
  ``tools/analysis_tools/bench_pretrain.py``, run in a subprocess (B=32).
"""
import argparse
import importlib
import json
import os.path as osp
import subprocess
import sys
import tempfile
from collections import OrderedDict

import mmengine
import numpy as np
import torch

from act_mmdet3d.utils.benchmark import (format_table, machine_info, measure,
                                         progress_logger)

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
SECTIONS = OrderedDict()


def register(name):
    """Decorator: add a section ``fn(args, progress) -> rows``."""

    def wrap(fn):
        SECTIONS[name] = fn
        return fn

    return wrap


# ---------------------------------------------------------------- ops section

FPS_SIZES = [(32, 1024, 64), (32, 2048, 128), (8, 8192, 512),
             (128, 2048, 128)]
KNN_SIZES = [(32, 64, 1024, 32), (32, 128, 2048, 32), (8, 512, 8192, 32),
             (128, 128, 2048, 32)]
CHAMFER_SIZES = [(4096, 32, 32), (64, 2048, 2048)]


def _time_group(op, size, impls, call, check, budget, progress):
    """Time and check every implementation of one op at one size.

    Args:
        impls (list[tuple]): ``(name, kind, fn, how)``; ``kind`` is
            'project' or 'peer', ``how`` is handed to ``check``.
        call (callable): ``fn -> result``, one call at this size.
        check (callable): ``(result, how) -> str``, the verdict.

    Returns:
        list[dict]: one row per implementation, with ``x fastest peer``.
    """
    group = []
    for name, kind, fn, how in impls:
        last = []  # the result of the last timed call, checked afterwards

        def run(fn=fn):
            last[:] = [call(fn)]

        seconds = measure(run, max_run_time=budget)
        result = check(last[0], how)
        group.append(dict(op=op, size=size, impl=name, kind=kind,
                          ms=seconds * 1e3, result=result))
        progress(f'{op} {size}: {name:28s} {seconds * 1e3:8.2f} ms  {result}')
    fastest = min((r['ms'] for r in group if r['kind'] == 'peer'),
                  default=float('nan'))
    for r in group:
        r['x fastest peer'] = r['ms'] / fastest
    return group


def _chamfer_step(fn, a, c):
    """Chamfer loss ``fn`` forward and backward on fresh leaf copies."""
    x = a.clone().requires_grad_(True)
    y = c.clone().requires_grad_(True)
    loss = fn(x, y)
    loss.backward()
    return loss.item()


@register('ops')
def ops_section(args, progress):
    """FPS, kNN and Chamfer of act_mmdet3d.ops against their peers."""
    import act_mmdet3d.ops as ops
    rows = []
    gen = torch.Generator().manual_seed(0)
    timed = dict(budget=args.budget, progress=progress)

    # warm up the compiled kernels (numba compiles on first use, cached)
    warm = torch.rand(2, 64, 3)
    ops.knn(warm, warm, 4)
    ops.furthest_point_sample(warm, 8)

    for b, n, s in FPS_SIZES:
        points = torch.rand(b, n, 3, generator=gen)
        want = ops.furthest_point_sample(points, s, backend='torch')
        rows += _time_group(
            'FPS', f'B={b} N={n} S={s}', _fps_impls(ops),
            lambda fn: fn(points, s),
            lambda got, how: _compare_fps(got, how, want, points, ops),
            **timed)

    for b, m, n, k in KNN_SIZES:
        ref = torch.rand(b, n, 3, generator=gen)
        query = ops.gather(ref, ops.furthest_point_sample(ref, m))  # as ACT
        want_d, want_i = ops.knn(query, ref, k, backend='torch')
        rows += _time_group(
            'kNN', f'B={b} M={m} N={n} k={k}', _knn_impls(ops),
            lambda fn: fn(query, ref, k),
            lambda got, how: _compare_knn(query, ref, got, want_d, want_i),
            **timed)

    for (b, n, m), norm in [(size, norm) for size in CHAMFER_SIZES
                            for norm in (2, 1)]:
        a = torch.rand(b, n, 3, generator=gen)
        c = torch.rand(b, m, 3, generator=gen)
        ref_value = _kdtree_chamfer(a, c, norm)
        impls = [(f'act_mmdet3d chamfer_distance_l{norm}', 'project',
                  getattr(ops, f'chamfer_distance_l{norm}'), None),
                 ('brute torch (cdist^2, min)', 'peer',
                  lambda x, y: _brute_chamfer(x, y, norm), None)]
        rows += _time_group(
            'Chamfer', f'B={b} N={n} M={m} L{norm} fwd+bwd', impls,
            lambda fn: _chamfer_step(fn, a, c),
            lambda value, how: 'rel. err {:.1e} vs float64 cKDTree'.format(
                abs(value - ref_value) / ref_value), **timed)
    return rows


def _optional(module):
    try:
        return importlib.import_module(module)
    except Exception:  # noqa: BLE001
        return None


def _per_cloud(fn):
    """A numpy peer that takes one cloud at a time as a batched op: the
    tensor arguments (B, ...) are split along B, the others passed as they
    are, and the B results stacked into an int64 tensor."""

    def batched(*args):
        clouds = zip(*(a.numpy() for a in args if torch.is_tensor(a)))
        rest = [a for a in args if not torch.is_tensor(a)]
        return torch.from_numpy(
            np.stack([fn(*c, *rest) for c in clouds]).astype(np.int64))

    return batched


def _fps_impls(ops):
    """(name, kind, fn(points, S) -> LongTensor (B, S), how to compare)."""
    impls = [
        ('act_mmdet3d auto (numba)', 'project',
         lambda p, s: ops.furthest_point_sample(p, s), 'exact'),
        ('act_mmdet3d backend=torch', 'project',
         lambda p, s: ops.furthest_point_sample(p, s, backend='torch'),
         'exact'),
    ]
    quickfps = _optional('torch_quickfps')
    if quickfps is not None:
        impls.append(('torch-quickfps 2.1', 'peer',
                      lambda p, s: quickfps.sample_idx(p, s, start_idx=0),
                      'exact'))
    fpsample = _optional('fpsample')
    if fpsample is not None:
        impls += [('fpsample vanilla', 'peer', _per_cloud(
            lambda c, s: fpsample.fps_sampling(c, s, start_idx=0)), 'set'),
                  ('fpsample bucket h=5', 'peer', _per_cloud(
                      lambda c, s: fpsample.bucket_fps_kdline_sampling(
                          c, s, h=5, start_idx=0)), 'set')]
    return impls


def _compare_fps(got, how, want, points, ops):
    if torch.equal(got, want):
        return 'identical'
    if how == 'set':
        same = sum(set(g.tolist()) == set(w.tolist())
                   for g, w in zip(got, want))
        if same == len(want):
            return 'same set'
        # fpsample's bucket variant ignores start_idx: compare with the exact
        # FPS started where it started
        restarted = torch.stack([
            ops.furthest_point_sample(p[None], want.size(1), int(g[0]))[0]
            for p, g in zip(points, got)
        ])
        if torch.equal(got, restarted):
            return 'identical from its own start (ignores start_idx)'
    rows = int((got != want).any(1).sum())
    return f'DIFFERS ({rows}/{len(want)} clouds)'


def _exact_sq(query, ref, idx):
    """Exact squared distances of ref[idx] to the queries (B, M, k)."""
    b, m, k = idx.shape
    nb = ref.gather(1, idx.reshape(b, m * k, 1).expand(-1, -1, 3)).view(
        b, m, k, 3)
    d = query.unsqueeze(2) - nb
    return (d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]) + d[..., 2] * d[
        ..., 2]


def _compare_knn(query, ref, idx, want_d, want_i):
    """'identical', or 'same up to ties' when the sorted exact distances of
    the chosen neighbours equal the exact k smallest."""
    if torch.equal(idx, want_i):
        return 'identical'
    d = _exact_sq(query, ref, idx).sort(-1)[0]
    if torch.equal(d, want_d):
        sets = sum(set(a.tolist()) == set(b.tolist()) for a, b in zip(
            idx.flatten(0, 1), want_i.flatten(0, 1)))
        return f'same up to ties ({sets}/{want_i.shape[0] * want_i.shape[1]}'\
               ' rows identical sets)'
    bad = int((d != want_d).any(-1).sum())
    return f'not exact ({bad} rows differ)'


def _knn_impls(ops):
    """(name, kind, fn(query, ref, k) -> LongTensor (B, M, k), None)."""
    impls = [
        ('act_mmdet3d auto (numba)', 'project',
         lambda q, r, k: ops.knn(q, r, k)[1], None),
        ('act_mmdet3d backend=torch', 'project',
         lambda q, r, k: ops.knn(q, r, k, backend='torch')[1], None),
        ('cdist+topk', 'peer',
         lambda q, r, k: torch.cdist(q, r).topk(k, largest=False)[1], None),
    ]
    for name, module, tree in (('pykdtree 1.4', 'pykdtree.kdtree', 'KDTree'),
                               ('scipy cKDTree', 'scipy.spatial', 'cKDTree')):
        tree = getattr(_optional(module), tree, None)
        if tree is not None:  # per cloud: build on ref, query the centres
            impls.append((f'{name} (build+query)', 'peer', _per_cloud(
                lambda q, r, k, tree=tree: tree(r).query(q, k=k)[1]), None))
    return impls


def _brute_chamfer(a, b, norm):
    """Chamfer by full distance matrices (cdist), ~2**24 distances a time."""
    d1, d2 = [], []
    step = max(1, 2**24 // (a.size(1) * b.size(1)))
    for i in range(0, a.size(0), step):
        d = torch.cdist(a[i:i + step], b[i:i + step])**2
        d1.append(d.min(2)[0])
        d2.append(d.min(1)[0])
    d1, d2 = torch.cat(d1), torch.cat(d2)
    if norm == 1:
        return (d1.clamp_min(1e-12).sqrt().mean() +
                d2.clamp_min(1e-12).sqrt().mean()) / 2
    return d1.mean() + d2.mean()


def _kdtree_chamfer(a, b, norm):
    """Reference value: float64 nearest neighbours by scipy's cKDTree."""
    from scipy.spatial import cKDTree
    a, b = a.double().numpy(), b.double().numpy()
    d1 = np.stack([cKDTree(y).query(x, k=1)[0] for x, y in zip(a, b)])
    d2 = np.stack([cKDTree(x).query(y, k=1)[0] for x, y in zip(a, b)])
    if norm == 1:  # cKDTree returns Euclidean distances
        return (d1.mean() + d2.mean()) / 2
    return (d1**2).mean() + (d2**2).mean()


def ops_summary(rows):
    """Per (op, size): the project's default vs the fastest peer."""
    out = []
    keys = OrderedDict()
    for r in rows:
        keys.setdefault((r['op'], r['size']), []).append(r)
    for (op, size), group in keys.items():
        project = group[0]
        peers = [r for r in group if r['kind'] == 'peer']
        if not peers:
            continue
        best = min(peers, key=lambda r: r['ms'])
        out.append(
            OrderedDict([('op', op), ('size', size),
                         ('project ms', project['ms']),
                         ('fastest peer', best['impl']),
                         ('peer ms', best['ms']),
                         ('speed-up', best['ms'] / project['ms']),
                         ('project result', project['result'])]))
    return out


# ---------------------------------------------------------------- detection


def detection_step_time(config, points, boxes, labels, budget):
    """Median seconds of one training step (forward, loss, backward, AdamW
    step) of ``config``'s detector, from scratch, on one scene."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData

    from mmdet3d.registry import MODELS
    from mmdet3d.structures import (Det3DDataSample, DepthInstance3DBoxes,
                                    PointData)
    from act_mmdet3d.compat import apply_all
    apply_all()  # mmcv's CUDA-only point ops on CPU tensors, among others
    init_default_scope('mmdet3d')
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).train()
    in_channels = 4 if 'votenet' in config else 3
    inputs = points[:, :in_channels]
    sample = Det3DDataSample()
    sample.gt_instances_3d = InstanceData(
        bboxes_3d=DepthInstance3DBoxes(
            boxes, box_dim=6, with_yaw=False, origin=(0.5, 0.5, 0.5)),
        labels_3d=labels)
    if 'votenet' in config:  # VoteHead reads per-point masks
        sample.gt_pts_seg = PointData(
            pts_semantic_mask=torch.zeros(len(points), dtype=torch.long),
            pts_instance_mask=torch.zeros(len(points), dtype=torch.long))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        optimizer.zero_grad()
        losses = model.loss(dict(points=[inputs]), [sample])
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optimizer.step()

    return measure(step, max_run_time=budget)


@register('detection')
def detection_section(args, progress):
    """A training step of 3DETR (and its ACT swap) on a 40,000-point scene
    (batch 1, 8 boxes), against VoteNet with the ACT backbone, same run."""
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(40000, 4, generator=gen) * torch.tensor(
        [6., 5., 2.5, 2.5])
    centers = torch.rand(8, 3, generator=gen) * torch.tensor([5., 4., 1.])
    boxes = torch.cat([centers + 0.5, torch.full((8, 3), 0.8)], 1)
    labels = torch.arange(8) % 18
    rows = []
    base = None
    for name, config in (
            ('VoteNet + ACT (baseline)', 'configs/act/votenet_act-vit-s_8xb8_scannet-3d.py'),
            ('3DETR', 'configs/3detr/3detr_1xb8_scannet-3d.py'),
            ('3DETR-m', 'configs/3detr/3detr-m_1xb8_scannet-3d.py'),
            ('3DETR + ACT', 'configs/act/3detr_act-vit-s_1xb8_scannet-3d.py')):
        progress(f'detection: {name}')
        seconds = detection_step_time(config, points, boxes, labels,
                                      args.budget * 10)
        base = base or seconds
        rows.append(dict(model=name, points=40000, step_s=seconds,
                         ratio_to_votenet_act=seconds / base))
    return rows

# --------------------------------------------------- backbone and pretrain


def _tool_rows(tool, *tool_args):
    """Rows of ``tools/analysis_tools/<tool>.py --out TMP`` run in a
    subprocess (its log and report go to stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, osp.join(HERE, f'{tool}.py'), '--out',
                        tmp, *tool_args], check=True, stdout=sys.stderr)
        with open(osp.join(tmp, f'{tool}.json')) as f:
            return json.load(f)['rows']


@register('backbone')
def backbone_section(args, progress):
    """Where the ACT backbone's training step goes: bench_backbone.py."""
    return _tool_rows('bench_backbone')


@register('pretrain')
def pretrain_section(args, progress):
    """The Stage II training step (B=32): bench_pretrain.py."""
    return _tool_rows('bench_pretrain')


# --------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--only', nargs='+', choices=list(SECTIONS), default=None,
        help='sections to run (default: all)')
    parser.add_argument('--out', default=None,
                        help='folder for benchmark.json and benchmark.md')
    parser.add_argument(
        '--budget', type=float, default=1.0,
        help='most seconds of timed runs per measurement (ten times that '
        'for a detection step); a slow baseline runs once after its warm-up')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = args.only or list(SECTIONS)
    progress = progress_logger()
    info = machine_info()
    progress(f'torch {info["torch"]}, {info["threads"]} threads; sections: '
             f'{", ".join(names)}')
    results = OrderedDict()
    for name in names:
        progress(f'section {name}')
        results[name] = SECTIONS[name](args, progress)
    text, md = [], [f'# Benchmark ({info["date"]}, torch {info["torch"]}, '
                    f'{info["threads"]} threads, {info["cpu"]})']
    for name, rows in results.items():
        text += [f'\n== {name} ==', format_table(rows)]
        md += [f'\n## {name}\n', format_table(rows, markdown=True)]
        if name == 'ops':
            summary = ops_summary(rows)
            text += [f'\n== {name}: summary (speed-up = fastest peer ms / '
                     'project ms, same run) ==', format_table(summary)]
            md += [f'\n### {name}: summary\n',
                   'speed-up = fastest peer ms / project ms, same run.\n',
                   format_table(summary, markdown=True)]
    print('\n'.join(text))
    if args.out:
        mmengine.dump(dict(machine=info, sections=results),
                      osp.join(args.out, 'benchmark.json'), indent=1)
        mmengine.put_text('\n'.join(md) + '\n',
                          osp.join(args.out, 'benchmark.md'))
        progress(f'wrote {args.out}/benchmark.json and benchmark.md')
    progress('done')


if __name__ == '__main__':
    main()
