"""Benchmarks of act_mmdet3d against peers measured in the same run.

Usage::

    python tools/benchmark.py                       # every section
    python tools/benchmark.py --only ops            # one section
    python tools/benchmark.py --only ops --out work_dirs/benchmark

``--out DIR`` writes ``DIR/benchmark.json`` (every row, plus the machine)
and ``DIR/benchmark.md`` (the tables and the summary).

Sections are functions ``fn(args, progress) -> list[dict]`` registered in
:data:`SECTIONS` with :func:`register`; every row is a flat dict, and rows of
one section share their keys. Timings use :func:`best_time` (warm-up, then
the best of at least ``--repeat`` wall-clock runs and 0.2 s of runs; slow
baselines stop after ``--budget`` seconds); ``torch.set_num_threads`` is left
as it is, so every implementation sees the same threads. Absolute times drift
from machine to machine: compare the ratios, which come from one run.

Sections:

* ``ops``: FPS and kNN of :mod:`act_mmdet3d.ops` (each backend) against a
  naive torch loop, torch-quickfps, fpsample, pykdtree, scipy's cKDTree and
  cdist+topk, at the sizes of ``shared/PEER_FIGURES.md`` plus the largest
  ACT size; every result is checked against the project's in the same run
  ('identical' indices; kNN 'same up to ties' when the sorted exact distances
  of the chosen neighbours are the exact k smallest; cdist+topk is not exact:
  torch.cdist uses the |x|^2 + |y|^2 - 2 x.y matrix-product form at these
  sizes, so nearly tied neighbours can swap). Chamfer forward+backward at the
  Stage I sizes against brute force, values against float64 cKDTree.
* ``detection``: a training step (batch 1, 40,000 points, forward + loss +
  backward + AdamW) of 3DETR, 3DETR-m and the 3DETR + ACT swap, as a ratio
  to VoteNet with the ACT backbone (``configs/act/votenet_act-vit-s_8xb8_scannet-3d.py``).
* ``backbone``: see ``tools/bench_backbone.py`` (registered when present).
* ``pretrain``: the Stage II training step, see ``tools/bench_pretrain.py``
  (registered when present).
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import sys
import time
from collections import OrderedDict

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402

SECTIONS = OrderedDict()


def register(name):
    """Decorator: add a section ``fn(args, progress) -> rows``."""

    def wrap(fn):
        SECTIONS[name] = fn
        return fn

    return wrap


# ------------------------------------------------------------------ helpers


def best_time(fn, repeat=3, warmup=1, budget_s=None, min_time_s=0.0):
    """Best wall-clock time of ``fn()`` in seconds after ``warmup`` calls.

    Runs ``fn`` ``repeat`` times, or more while the timed runs together took
    less than ``min_time_s`` (fast functions get many samples, so one
    scheduling hiccup does not decide). With ``budget_s``, stops after the
    first timed run that ends past the budget (a slow baseline runs once).
    """
    for _ in range(warmup):
        fn()
    best = float('inf')
    spent = 0.0
    runs = 0
    while runs < repeat or spent < min_time_s:
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        best = min(best, seconds)
        spent += seconds
        runs += 1
        if budget_s is not None and spent > budget_s:
            break
    return best


class Progress:
    """One line per step on stderr, with the elapsed time."""

    def __init__(self, stream=sys.stderr):
        self.start = time.perf_counter()
        self.stream = stream

    def __call__(self, msg):
        elapsed = time.perf_counter() - self.start
        print(f'[{elapsed:6.1f}s] {msg}', file=self.stream, flush=True)


def _fmt(value):
    if isinstance(value, float):
        if value != value:  # NaN
            return '-'
        if abs(value) >= 100:
            return f'{value:.1f}'
        if abs(value) >= 1:
            return f'{value:.2f}'
        return f'{value:.3f}'
    return '-' if value is None else str(value)


def format_table(rows, columns=None, markdown=False):
    """Rows (dicts) as an aligned text table or a Markdown table."""
    if not rows:
        return '(no rows)'
    if columns is None:
        columns = []
        for row in rows:
            columns += [k for k in row if k not in columns]
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    if markdown:
        lines = ['| ' + ' | '.join(columns) + ' |',
                 '|' + '|'.join('---' for _ in columns) + '|']
        lines += ['| ' + ' | '.join(r) + ' |' for r in cells]
        return '\n'.join(lines)
    widths = [max(len(c), *(len(r[i]) for r in cells))
              for i, c in enumerate(columns)]
    line = '  '.join(c.ljust(w) for c, w in zip(columns, widths))
    out = [line, '  '.join('-' * w for w in widths)]
    out += ['  '.join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return '\n'.join(out)


def machine_info():
    return dict(
        date=datetime.datetime.now().isoformat(timespec='seconds'),
        python=platform.python_version(),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        cpu=platform.processor() or platform.machine(),
        cuda=torch.cuda.get_device_name() if torch.cuda.is_available() else
        None)


# ---------------------------------------------------------------- ops section

FPS_SIZES = [(32, 1024, 64), (32, 2048, 128), (8, 8192, 512),
             (128, 2048, 128)]
KNN_SIZES = [(32, 64, 1024, 32), (32, 128, 2048, 32), (8, 512, 8192, 32),
             (128, 128, 2048, 32)]
CHAMFER_SIZES = [(4096, 32, 32), (64, 2048, 2048)]


def _naive_fps(points, num_samples):
    """The textbook loop: vectorised over the batch, nothing else."""
    b, n, _ = points.shape
    idx = torch.zeros(b, num_samples, dtype=torch.long)
    dist = torch.full((b, n), float('inf'))
    far = torch.zeros(b, dtype=torch.long)
    batch = torch.arange(b)
    for i in range(num_samples):
        idx[:, i] = far
        centre = points[batch, far].unsqueeze(1)
        dist = torch.minimum(dist, ((points - centre)**2).sum(-1))
        far = dist.argmax(-1)
    return idx


def _optional(module):
    try:
        return __import__(module)
    except Exception:  # noqa: BLE001
        return None


def _fps_impls(ops):
    """(name, kind, fn(points, S) -> LongTensor (B, S), how to compare)."""
    impls = [
        ('act_mmdet3d auto (numba)', 'project',
         lambda p, s: ops.furthest_point_sample(p, s), 'exact'),
        ('act_mmdet3d backend=torch', 'project',
         lambda p, s: ops.furthest_point_sample(p, s, backend='torch'),
         'exact'),
        ('naive torch loop', 'peer', _naive_fps, 'exact'),
    ]
    quickfps = _optional('torch_quickfps')
    if quickfps is not None:
        impls.append(('torch-quickfps 2.1', 'peer',
                      lambda p, s: quickfps.sample_idx(p, s, start_idx=0),
                      'exact'))
    fpsample = _optional('fpsample')
    if fpsample is not None:

        def vanilla(p, s):
            pts = p.numpy()
            return torch.from_numpy(
                np.stack([fpsample.fps_sampling(c, s, start_idx=0)
                          for c in pts]).astype(np.int64))

        def bucket(p, s):
            pts = p.numpy()
            return torch.from_numpy(
                np.stack([
                    fpsample.bucket_fps_kdline_sampling(
                        c, s, h=5, start_idx=0) for c in pts
                ]).astype(np.int64))

        impls += [('fpsample vanilla', 'peer', vanilla, 'set'),
                  ('fpsample bucket h=5', 'peer', bucket, 'set')]
    return impls


def _compare_fps(got, want, how, points, ops):
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
    impls = [
        ('act_mmdet3d auto (numba)', 'project',
         lambda q, r, k: ops.knn(q, r, k)[1]),
        ('act_mmdet3d backend=torch', 'project',
         lambda q, r, k: ops.knn(q, r, k, backend='torch')[1]),
        ('cdist+topk', 'peer',
         lambda q, r, k: torch.cdist(q, r).topk(k, largest=False)[1]),
    ]
    pykdtree = _optional('pykdtree.kdtree')
    if pykdtree is not None:
        from pykdtree.kdtree import KDTree

        def pyk(q, r, k):
            qn, rn = q.numpy(), r.numpy()
            return torch.from_numpy(
                np.stack([KDTree(rn[i]).query(qn[i], k=k)[1]
                          for i in range(len(rn))]).astype(np.int64))

        impls.append(('pykdtree 1.4 (build+query)', 'peer', pyk))
    try:
        from scipy.spatial import cKDTree

        def ckd(q, r, k):
            qn, rn = q.numpy(), r.numpy()
            return torch.from_numpy(
                np.stack([cKDTree(rn[i]).query(qn[i], k=k)[1]
                          for i in range(len(rn))]).astype(np.int64))

        impls.append(('scipy cKDTree (build+query)', 'peer', ckd))
    except ImportError:
        pass
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


def _finish_group(rows, group):
    """Fill ``x fastest peer`` for the rows of one (op, size)."""
    peers = [r for r in group if r['kind'] == 'peer']
    fastest = min((r['ms'] for r in peers), default=float('nan'))
    for r in group:
        r['x fastest peer'] = r['ms'] / fastest
    rows += group


@register('ops')
def ops_section(args, progress):
    """FPS, kNN and Chamfer of act_mmdet3d.ops against their peers."""
    import act_mmdet3d.ops as ops
    rows = []
    repeat = args.repeat
    budget = args.budget
    gen = torch.Generator().manual_seed(0)

    # warm up the compiled kernels (numba compiles on first use, cached)
    warm = torch.rand(2, 64, 3)
    ops.knn(warm, warm, 4)
    ops.furthest_point_sample(warm, 8)

    for b, n, s in FPS_SIZES:
        points = torch.rand(b, n, 3, generator=gen)
        size = f'B={b} N={n} S={s}'
        want = ops.furthest_point_sample(points, s, backend='torch')
        group = []
        for name, kind, fn, how in _fps_impls(ops):
            got = fn(points, s)  # also the warm-up
            seconds = best_time(lambda: fn(points, s), repeat=repeat,
                                warmup=0, budget_s=budget,
                                min_time_s=0.2)
            result = _compare_fps(got, want, how, points, ops)
            group.append(
                dict(op='FPS', size=size, impl=name, kind=kind,
                     ms=seconds * 1e3, result=result))
            progress(f'FPS {size}: {name:28s} {seconds * 1e3:8.2f} ms  '
                     f'{result}')
        _finish_group(rows, group)

    for b, m, n, k in KNN_SIZES:
        ref = torch.rand(b, n, 3, generator=gen)
        centres = ops.furthest_point_sample(ref, m)  # queries as in ACT
        query = ops.gather(ref, centres)
        size = f'B={b} M={m} N={n} k={k}'
        want_d, want_i = ops.knn(query, ref, k, backend='torch')
        group = []
        for name, kind, fn in _knn_impls(ops):
            got = fn(query, ref, k)  # also the warm-up
            seconds = best_time(lambda: fn(query, ref, k), repeat=repeat,
                                warmup=0, budget_s=budget,
                                min_time_s=0.2)
            result = _compare_knn(query, ref, got, want_d, want_i)
            group.append(
                dict(op='kNN', size=size, impl=name, kind=kind,
                     ms=seconds * 1e3, result=result))
            progress(f'kNN {size}: {name:28s} {seconds * 1e3:8.2f} ms  '
                     f'{result}')
        _finish_group(rows, group)

    for b, n, m in CHAMFER_SIZES:
        a = torch.rand(b, n, 3, generator=gen)
        c = torch.rand(b, m, 3, generator=gen)
        for norm in (2, 1):
            size = f'B={b} N={n} M={m} L{norm} fwd+bwd'
            project = ops.chamfer_distance_l2 if norm == 2 else \
                ops.chamfer_distance_l1
            impls = [('act_mmdet3d chamfer_distance_l%d' % norm, 'project',
                      project),
                     ('brute torch (cdist^2, min)', 'peer',
                      lambda x, y, norm=norm: _brute_chamfer(x, y, norm))]
            ref_value = _kdtree_chamfer(a, c, norm)
            group = []
            for name, kind, fn in impls:

                def step(fn=fn):
                    x = a.clone().requires_grad_(True)
                    y = c.clone().requires_grad_(True)
                    loss = fn(x, y)
                    loss.backward()
                    return loss

                value = step().item()  # also the warm-up
                seconds = best_time(step, repeat=repeat, warmup=0,
                                    budget_s=budget, min_time_s=0.2)
                err = abs(value - ref_value) / ref_value
                result = f'rel. err {err:.1e} vs float64 cKDTree'
                group.append(
                    dict(op='Chamfer', size=size, impl=name, kind=kind,
                         ms=seconds * 1e3, result=result))
                progress(f'Chamfer {size}: {name:28s} '
                         f'{seconds * 1e3:8.2f} ms  {result}')
            _finish_group(rows, group)
    return rows


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


SUMMARIES = {'ops': ops_summary}

# ---------------------------------------------------------------- detection


def detection_step_time(config, points, boxes, labels, repeat, budget):
    """Best seconds of one training step (forward, loss, backward, AdamW
    step) of ``config``'s detector, from scratch, on one scene."""
    import act_mmdet3d  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData

    from mmdet3d.registry import MODELS
    from mmdet3d.structures import (Det3DDataSample, DepthInstance3DBoxes,
                                    PointData)
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

    return best_time(step, repeat=repeat, budget_s=budget)


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
                                      args.repeat, args.budget * 10)
        base = base or seconds
        rows.append(dict(model=name, points=40000, step_s=seconds,
                         ratio_to_votenet_act=seconds / base))
    return rows


# ------------------------------------------------------------ backbone hook

if osp.exists(osp.join(osp.dirname(osp.abspath(__file__)),
                       'bench_backbone.py')):

    @register('backbone')
    def backbone_section(args, progress):
        """Delegates to tools/bench_backbone.py's ``run``."""
        sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
        import bench_backbone
        return bench_backbone.run(progress=progress)


# ------------------------------------------------------------ pretrain hook

if osp.exists(osp.join(osp.dirname(osp.abspath(__file__)),
                       'bench_pretrain.py')):

    @register('pretrain')
    def pretrain_section(args, progress):
        """Delegates to tools/bench_pretrain.py's ``run`` (B=32)."""
        sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
        import bench_pretrain
        return bench_pretrain.run(progress=progress)['rows']


# --------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--only', nargs='+', choices=list(SECTIONS), default=None,
        help='sections to run (default: all)')
    parser.add_argument('--out', default=None,
                        help='folder for benchmark.json and benchmark.md')
    parser.add_argument('--repeat', type=int, default=5,
                        help='timed runs per measurement (best is kept)')
    parser.add_argument(
        '--budget', type=float, default=1.0,
        help='seconds of timed runs per measurement: slow baselines stop '
        'repeating once past it (always at least one run)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = args.only or list(SECTIONS)
    progress = Progress()
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
        if name in SUMMARIES:
            summary = SUMMARIES[name](rows)
            text += [f'\n== {name}: summary (speed-up = fastest peer ms / '
                     'project ms, same run) ==', format_table(summary)]
            md += [f'\n### {name}: summary\n',
                   'speed-up = fastest peer ms / project ms, same run.\n',
                   format_table(summary, markdown=True)]
    print('\n'.join(text))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(osp.join(args.out, 'benchmark.json'), 'w') as f:
            json.dump(dict(machine=info, sections=results), f, indent=1)
        with open(osp.join(args.out, 'benchmark.md'), 'w') as f:
            f.write('\n'.join(md) + '\n')
        progress(f'wrote {args.out}/benchmark.json and benchmark.md')
    progress('done')


if __name__ == '__main__':
    main()
