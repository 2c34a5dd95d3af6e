"""Pretrain section of benchmark.py: where a Stage II step's time goes.

Usage::

    python tools/analysis_tools/bench_pretrain.py [--batch-size 32]
        [--num-points 1024] [--repeat 3] [--threads N] [--config CFG]
        [--quick] [--out DIR]
    python tools/analysis_tools/benchmark.py --only pretrain  # as a section

Measured in one run, on CPU, on the full-size Stage II model of
``configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py`` (ViT-S student masking 80% of 64 groups
of 32, 2-block decoder, distillation head, the Stage I teacher with its
frozen ViT-B/16-384; random teacher weights via ``allow_random_teacher``,
which take the same time as trained ones) and its AdamW optim wrapper:

* the training step (``model.train_step``: data preprocessor, forward,
  loss, backward, AdamW step, zero_grad) and its breakdown into grouping
  (FPS + kNN) + tokenizer, teacher forward, student + decoder + head
  forward and backward, and the optimizer, as shares of the whole step;
* the "no waste" rule: step / (teacher forward alone + student fwd+bwd
  alone) <= 1.15, and the number of FPS / kNN calls in one step (the
  grouping must run once per batch and be handed to the teacher);
* the teacher in bfloat16 against float32 (``teacher_dtype``): speed-up,
  against the 1024^3 matmul bf16/fp32 ratio of the same run (the hardware
  ceiling), per teacher part and per op (torch.profiler), and the cosine
  similarity of bf16 targets to fp32 targets;
* the whole step under ``BF16AutocastOptimWrapper`` (``--amp``) against
  float32, with the teacher as configured (float32) and in bfloat16.

Each measurement: one warm-up run, then the median of ``--repeat`` runs; the
cases run round-robin (one run of each case per round), so load that drifts
during the run affects every case alike. ``--quick`` (batch 2, one timed
run) is the smoke run of the tests. ``--out DIR`` writes
``DIR/bench_pretrain.json`` and ``DIR/bench_pretrain.md``.
"""
import argparse
import functools
import os
import os.path as osp
import sys
import time
from collections import OrderedDict, defaultdict
from contextlib import contextmanager

import mmengine
import torch
import torch.nn.functional as F

from act_mmdet3d.utils.benchmark import (add_bench_args, format_table,
                                         machine_info, matmul_gflops,
                                         progress_logger)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(ROOT, 'configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py')
NO_WASTE_MAX = 1.15
BF16_SPEEDUP_MIN = 1.8
BF16_COSINE_MIN = 0.99
COLUMNS = ('table', 'part', 'ms', 'share', 'fp32 ms', 'speed-up',
           'value', 'target', 'verdict')

METHOD = """\
Method. Every part is timed inside real training steps (model.train_step
with the config's optim wrapper) by wall clock (time.perf_counter; CPU ops
are synchronous): wrappers around backbone.group (grouping), extract_targets
(teacher forward), model.loss (the whole forward), optim_wrapper.backward /
.step / .zero_grad, forward hooks on the student's mini-PointNet (tokenizer
forward) and, for the tokenizer backward, the span from the gradient reaching
its output (full backward pre-hook) to its last weight gradient (post-
accumulate-grad hooks). Student + decoder + head = forward - grouping -
teacher - tokenizer forward, plus backward - tokenizer backward; optimizer =
AdamW step + zero_grad; 'untimed' = the rest of the step (data preprocessor,
loss parsing, contexts). The breakdown is that of the run with the median
step time, so its shares sum to the timed fraction of that step. 'Alone'
times run the teacher (extract_targets) and the student + decoder + head
(forward + backward) on fixed groups and targets. FPS / kNN calls are counted
by wrapping act_mmdet3d.ops' functions in every act_mmdet3d module that
imported them, during one step. The per-op teacher split is torch.profiler's
self CPU time of one forward per dtype. Warm-up 1 run, then the median of
the timed runs; cases run round-robin."""


# ------------------------------------------------------------------ timing


class Timers:
    """Named wall-clock accumulators for one run (seconds)."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self._open = {}
        self._last = {}

    def reset(self):
        self.seconds.clear()
        self._open.clear()
        self._last.clear()

    def start(self, name):
        self._open[name] = time.perf_counter()

    def stop(self, name):
        self.seconds[name] += time.perf_counter() - self._open.pop(name)

    def mark(self, name):
        """Latest time an open-ended span ``name`` reached (see ``close``)."""
        self._last[name] = time.perf_counter()

    def close(self, name):
        """Turn a span opened by ``start`` and extended by ``mark`` into
        seconds (its start to its last mark)."""
        if name in self._open and name in self._last:
            self.seconds[name] += self._last.pop(name) - self._open.pop(name)
        self._open.pop(name, None)

    def wrap(self, name, fn):

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start

        return timed


def round_robin(cases, repeat, warmup=1, progress=None):
    """Run each case ``warmup + repeat`` times, one run of each per round.

    Args:
        cases (dict): name -> ``fn()`` returning a dict of component seconds
            that holds at least ``'total'``.
        repeat (int): timed runs per case.
        warmup (int): untimed first rounds.

    Returns:
        dict: name -> ``dict(median=<the run with the median total>,
        totals=[seconds of every timed run])``.
    """
    runs = {name: [] for name in cases}
    for r in range(warmup + repeat):
        for name, fn in cases.items():
            parts = dict(fn())
            if r >= warmup:
                runs[name].append(parts)
            if progress is not None:
                tag = 'warm-up' if r < warmup else f'run {r - warmup + 1}/'\
                    f'{repeat}'
                progress(f'{name:34s} {tag:9s} {parts["total"]:7.2f} s')
    out = {}
    for name, parts in runs.items():
        ordered = sorted(parts, key=lambda p: p['total'])
        out[name] = dict(
            median=ordered[(len(ordered) - 1) // 2],
            totals=[p['total'] for p in parts])
    return out


# --------------------------------------------------------------- the model


@contextmanager
def _quiet_logger(level=30):
    """Silence mmengine's log lines below ``level`` (default WARNING: e.g.
    init_weights' per-tensor dump)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    old = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(old)


def build(config=DEFAULT_CONFIG):
    """The Stage II model of ``config`` with a random teacher, and the
    config's optim wrapper settings.

    The teacher's ``init_cfg`` (the Stage I checkpoint) is dropped and its
    ViT built with random weights (``allow_random_teacher``): the timing and
    the bf16 / fp32 agreement do not need trained weights.

    Returns:
        tuple: ``(model, optim_wrapper_cfg)``; the model is in train mode
        (see :func:`build_wrapper`).
    """
    from mmengine.config import Config
    from mmengine.registry import DefaultScope, init_default_scope
    from mmdet3d.registry import MODELS
    if DefaultScope.get_current_instance() is None:
        init_default_scope('mmdet3d')
    if not osp.isfile(config):
        raise FileNotFoundError(f'config {config} does not exist (--config)')
    cfg = Config.fromfile(config)
    if 'model' not in cfg or 'optim_wrapper' not in cfg:
        raise KeyError(f'config {config} needs model and optim_wrapper')
    model_cfg = cfg.model
    teacher = model_cfg.get('target_generator') if isinstance(
        model_cfg, dict) else None
    if teacher is None:
        raise KeyError(f'config {config}: model.target_generator is missing '
                       '(not a Stage II ACTPretrainer config?)')
    teacher.pop('init_cfg', None)
    teacher.update(vit_weights=None, allow_random_teacher=True)
    with _quiet_logger():
        model = MODELS.build(model_cfg)
        model.init_weights()
    model.train()
    return model, cfg.optim_wrapper.copy()


def build_wrapper(model, wrapper_cfg, amp=False):
    """The optim wrapper of ``wrapper_cfg`` (the config's AdamW), or
    ``BF16AutocastOptimWrapper`` with the same optimizer when ``amp``."""
    from mmengine.optim import build_optim_wrapper
    cfg = wrapper_cfg.copy()
    cfg['type'] = 'BF16AutocastOptimWrapper' if amp else \
        cfg.get('type', 'OptimWrapper')
    # no per-parameter lines (paramwise options; "skipped since its
    # requires_grad=False" for every frozen teacher parameter, as expected)
    with _quiet_logger(level=40):
        return build_optim_wrapper(model, cfg)


def random_points(batch, num_points, seed=0):
    """(B, N, 3) points uniform in the unit ball (as normalised clouds)."""
    gen = torch.Generator().manual_seed(seed)
    xyz = torch.randn(batch, num_points, 3, generator=gen)
    xyz = xyz / xyz.norm(dim=-1, keepdim=True)
    return xyz * torch.rand(batch, num_points, 1, generator=gen)**(1 / 3)


@contextmanager
def teacher_dtype(model, dtype):
    old = model.teacher_dtype
    model.teacher_dtype = dtype
    try:
        yield
    finally:
        model.teacher_dtype = old


# ---------------------------------------------------------- instrumenting


@contextmanager
def instrument_step(model, wrappers, timers):
    """Time the parts of ``model.train_step`` into ``timers`` (see
    :data:`METHOD`); everything is restored on exit."""
    patched = []

    def patch(obj, name, label):
        patched.append((obj, name, name in vars(obj)))
        setattr(obj, name, timers.wrap(label, getattr(obj, name)))

    patch(model.backbone, 'group', 'grouping')
    patch(model, 'extract_targets', 'teacher forward')
    patch(model, 'loss', 'forward')
    for wrapper in wrappers:
        patch(wrapper, 'backward', 'backward')
        patch(wrapper, 'step', 'optimizer step')
        patch(wrapper, 'zero_grad', 'zero_grad')
    enc = model.backbone.encoder
    handles = [
        enc.register_forward_pre_hook(
            lambda *a: timers.start('tokenizer forward')),
        enc.register_forward_hook(
            lambda *a: timers.stop('tokenizer forward')),
        enc.register_full_backward_pre_hook(
            lambda *a: timers.start('tokenizer backward')),
    ]
    handles += [
        p.register_post_accumulate_grad_hook(
            lambda p: timers.mark('tokenizer backward'))
        for p in enc.parameters() if p.requires_grad
    ]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
        for obj, name, had_own in reversed(patched):
            if had_own:  # it was patched twice: unwrap one level
                setattr(obj, name, getattr(obj, name).__wrapped__)
            else:
                delattr(obj, name)


def step_case(model, wrapper, points, timers):
    """A case for :func:`round_robin`: one instrumented ``train_step``."""
    data = dict(inputs=dict(points=list(points.unbind(0))))

    def run():
        timers.reset()
        start = time.perf_counter()
        model.train_step(data, wrapper)
        total = time.perf_counter() - start
        timers.close('tokenizer backward')
        parts = dict(timers.seconds)
        parts['total'] = total
        return parts

    return run


def breakdown(parts):
    """The step's four categories from one instrumented run.

    Returns:
        OrderedDict: category -> ``(seconds, [(sub-part, seconds), ...])``.
    """
    s = defaultdict(float, parts)
    student_fwd = (s['forward'] - s['grouping'] - s['teacher forward'] -
                   s['tokenizer forward'])
    student_bwd = s['backward'] - s['tokenizer backward']
    subs = OrderedDict([
        ('grouping + tokenizer', [
            ('grouping (FPS + kNN)', s['grouping']),
            ('tokenizer (mini-PointNet) forward', s['tokenizer forward']),
            ('tokenizer backward', s['tokenizer backward'])]),
        ('teacher forward (extract_targets)', []),
        ('student blocks + decoder + head fwd+bwd', [
            ('forward', student_fwd), ('backward', student_bwd)]),
        ('optimizer step (AdamW + zero_grad)', []),
    ])
    totals = [sum(v for _, v in subs['grouping + tokenizer']),
              s['teacher forward'], student_fwd + student_bwd,
              s['optimizer step'] + s['zero_grad']]
    return OrderedDict(
        (k, (t, sub)) for (k, sub), t in zip(subs.items(), totals))


def student_case(model, points):
    """Student + decoder + head forward and backward alone, on fixed groups
    and targets (the tokenizer included, grouping and teacher excluded)."""
    groups = model.backbone.group(points)
    target = model.extract_targets(groups)

    def run():
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        feats = model.backbone(points, groups=groups)
        mask = feats['mask']
        pred = model.neck(feats['tokens'][-1], feats['centers'], mask)
        tgt = target[mask].reshape(pred.size(0), pred.size(1), -1)
        loss, _ = model.parse_losses(model.head.loss(pred, tgt))
        loss.backward()
        return dict(total=time.perf_counter() - start)

    return run


TEACHER_PARTS = ('encoder', 'dgcnn_1', 'transformer', 'dgcnn_2')
TEACHER_PART_NAMES = dict(
    encoder='mini-PointNet', dgcnn_1='DGCNN 1 (-> 8192 logits)',
    transformer='prompted ViT-B (12 blocks)', dgcnn_2='DGCNN 2')


def teacher_case(model, groups, dtype, timers):
    """Teacher forward alone (``model.extract_targets``) in ``dtype``, with
    its parts timed by forward hooks."""
    teacher = model.target_generator

    def run():
        timers.reset()
        handles = []
        for name in TEACHER_PARTS:
            mod = getattr(teacher, name)
            handles += [
                mod.register_forward_pre_hook(
                    lambda *a, n=name: timers.start(n)),
                mod.register_forward_hook(lambda *a, n=name: timers.stop(n))
            ]
        try:
            with teacher_dtype(model, dtype):
                start = time.perf_counter()
                model.extract_targets(groups)
                total = time.perf_counter() - start
        finally:
            for h in handles:
                h.remove()
        parts = dict(timers.seconds)
        parts['total'] = total
        return parts

    return run


@contextmanager
def count_point_op_calls(num_points):
    """Count FPS and kNN calls made by act_mmdet3d modules.

    Yields a dict of counts, filled while the block runs (all three keys
    are present after it): ``fps``, ``knn_grouping`` (kNN of centres into
    the ``num_points`` input points) and ``knn_other`` (e.g. the teacher's
    DGCNN graph among the G centres). The functions are wrapped in every
    loaded ``act_mmdet3d`` module that imported them (not in the files that
    define them) and restored on exit.
    """
    import act_mmdet3d.ops as ops
    counts = defaultdict(int)
    orig_fps, orig_knn = ops.furthest_point_sample, ops.knn

    def fps(*args, **kwargs):
        counts['fps'] += 1
        return orig_fps(*args, **kwargs)

    def knn(query, ref, *args, **kwargs):
        key = 'knn_grouping' if ref.size(1) == num_points else 'knn_other'
        counts[key] += 1
        return orig_knn(query, ref, *args, **kwargs)

    replaced = []
    for name, mod in list(sys.modules.items()):
        # the consumers (and the package namespace), not the defining files
        if not name.startswith('act_mmdet3d') or mod is None or \
                (name.startswith('act_mmdet3d.ops.')):
            continue
        for attr, new, old in (('furthest_point_sample', fps, orig_fps),
                               ('knn', knn, orig_knn)):
            if getattr(mod, attr, None) is old:
                setattr(mod, attr, new)
                replaced.append((mod, attr, old))
    try:
        yield counts
    finally:
        for mod, attr, old in replaced:
            setattr(mod, attr, old)
        for key in ('fps', 'knn_grouping', 'knn_other'):
            counts[key] += 0


# --------------------------------------------------------------- bf16


def bf16_target_cosine(model, groups, seed=0):
    """Cosine similarity of bf16 teacher targets to fp32 ones.

    Both runs use the same groups, module mode and random seed (so the same
    Gumbel noise and prompt dropout).

    Returns:
        dict: ``mean``, ``min``, ``below_0.95`` (fraction of groups) of the
        per-group cosine, and ``identical`` (True would mean bf16 had no
        effect).
    """
    out = {}
    for dtype in ('float32', 'bfloat16'):
        with teacher_dtype(model, dtype):
            torch.manual_seed(seed)
            out[dtype] = model.extract_targets(groups)
    cos = F.cosine_similarity(out['bfloat16'], out['float32'], dim=-1)
    return {
        'mean': cos.mean().item(),
        'min': cos.min().item(),
        'below_0.95': (cos < 0.95).float().mean().item(),
        'identical': bool(torch.equal(out['bfloat16'], out['float32'])),
    }


GEMM_OPS = ('addmm', 'mm', 'bmm', 'baddbmm', 'matmul', 'linear',
            'convolution', 'mkldnn_convolution', 'scaled_dot_product',
            'flash_attention')
CAST_OPS = ('aten::copy_', 'aten::_to_copy', 'aten::to')


def _op_kind(name):
    if name in CAST_OPS:
        return 'dtype casts (copy_ / to)'
    if any(k in name for k in GEMM_OPS):
        return 'GEMM (linear, conv 1x1, attention)'
    return 'other ops (elementwise, norms, softmax, cat, gather, max)'


def profile_teacher(model, groups, top=10):
    """Self CPU time per aten op of one teacher forward per dtype.

    Returns:
        tuple: ``(ops, kinds)``: lists of dicts with ``name``, ``calls``,
        ``fp32_ms``, ``bf16_ms``; ``kinds`` groups the ops into GEMM, casts
        and the rest, plus the time outside aten ops (Python, numba kNN).
    """
    from torch.profiler import ProfilerActivity, profile
    per = {}
    wall = {}
    for dtype in ('float32', 'bfloat16'):
        with teacher_dtype(model, dtype):
            model.extract_targets(groups)  # warm
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                start = time.perf_counter()
                model.extract_targets(groups)
                wall[dtype] = time.perf_counter() - start
        per[dtype] = {
            e.key: (e.count, e.self_cpu_time_total / 1e3)
            for e in prof.key_averages()
        }
    names = set()
    for dtype in per:
        ranked = sorted(per[dtype], key=lambda k: -per[dtype][k][1])
        names.update(ranked[:top])
    ops = []
    for name in names:
        c32, t32 = per['float32'].get(name, (0, 0.))
        c16, t16 = per['bfloat16'].get(name, (0, 0.))
        ops.append(dict(name=name, calls=max(c32, c16), fp32_ms=t32,
                        bf16_ms=t16))
    ops.sort(key=lambda r: -r['bf16_ms'])
    kinds = OrderedDict()
    for dtype, key in (('float32', 'fp32_ms'), ('bfloat16', 'bf16_ms')):
        for name, (_, ms) in per[dtype].items():
            kind = _op_kind(name)
            kinds.setdefault(kind, dict(name=kind, fp32_ms=0., bf16_ms=0.))
            kinds[kind][key] += ms
        outside = 'outside aten ops (Python, numba kNN, profiler)'
        kinds.setdefault(outside, dict(name=outside, fp32_ms=0., bf16_ms=0.))
        kinds[outside][key] = wall[dtype] * 1e3 - sum(
            ms for _, ms in per[dtype].values())
    return ops, list(kinds.values()), wall


# ------------------------------------------------------------------- run


def _row(table, part, ms=None, share=None, fp32_ms=None, speedup=None,
         value=None, target=None, verdict=None):
    return OrderedDict(
        zip(COLUMNS, (table, part, ms, share, fp32_ms, speedup, value,
                      target, verdict)))


def _load():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run(batch_size=32, num_points=1024, repeat=3, warmup=1,
        config=DEFAULT_CONFIG, threads=None, seed=0, progress=print):
    """Measure everything; return ``dict(summary, rows, method, settings)``.

    ``rows`` share the keys :data:`COLUMNS` (``table`` names the part of the
    report they belong to); ``summary`` holds the headline figures.
    """
    if threads:
        torch.set_num_threads(threads)
    settings = dict(
        config=osp.relpath(config, ROOT) if osp.isabs(config) else config,
        batch_size=batch_size, num_points=num_points, repeat=repeat,
        warmup=warmup, threads=torch.get_num_threads(), seed=seed,
        cpu_count=os.cpu_count(), load_before=_load())
    progress(f'Stage II benchmark: B={batch_size}, N={num_points}, '
             f'{settings["threads"]} threads, load {settings["load_before"]}')
    torch.manual_seed(seed)
    mm32 = matmul_gflops()
    mm16 = matmul_gflops(dtype=torch.bfloat16)
    progress(f'matmul 1024^3: fp32 {mm32:.1f}, bf16 {mm16:.1f} GFLOP/s')

    model, wrapper_cfg = build(config)
    progress(f'built {type(model).__name__} from {settings["config"]} '
             f'(teacher_mode={model.teacher_mode}, teacher_dtype='
             f'{model.teacher_dtype}, random teacher weights)')
    fp32_wrapper = build_wrapper(model, wrapper_cfg)
    amp_wrapper = build_wrapper(model, wrapper_cfg, amp=True)
    points = random_points(batch_size, num_points, seed)
    groups = model.backbone.group(points)
    timers = Timers()

    # one counted step (also a warm-up of everything)
    with count_point_op_calls(num_points) as calls:
        model.train_step(dict(inputs=dict(points=list(points.unbind(0)))),
                         fp32_wrapper)
    calls = dict(calls)
    progress(f'one step: {calls["fps"]} FPS, {calls["knn_grouping"]} '
             f'grouping kNN, {calls["knn_other"]} other kNN calls')

    step = functools.partial(step_case, model, points=points, timers=timers)

    def with_bf16_teacher(fn):

        def run_case():
            with teacher_dtype(model, 'bfloat16'):
                return fn()

        return run_case

    cases = OrderedDict([
        ('step fp32', step(fp32_wrapper)),
        ('step amp (teacher fp32)', step(amp_wrapper)),
        ('step amp + teacher bf16', with_bf16_teacher(step(amp_wrapper))),
        ('teacher forward alone, fp32',
         teacher_case(model, groups, 'float32', timers)),
        ('teacher forward alone, bf16',
         teacher_case(model, groups, 'bfloat16', timers)),
        ('student fwd+bwd alone', student_case(model, points)),
    ])
    with instrument_step(model, (fp32_wrapper, amp_wrapper), timers):
        res = round_robin(cases, repeat, warmup, progress)
    med = {k: v['median'] for k, v in res.items()}

    ops, kinds, prof_wall = profile_teacher(model, groups)
    progress('profiled the teacher (fp32 '
             f'{prof_wall["float32"]:.2f} s, bf16 {prof_wall["bfloat16"]:.2f}'
             ' s)')
    cosine = bf16_target_cosine(model, groups, seed)
    progress(f'bf16 targets: mean cosine {cosine["mean"]:.4f} to fp32')
    settings['load_after'] = _load()
    summary, rows = summarize(
        med, res['step fp32']['totals'], calls, (mm32, mm16), cosine,
        (ops, kinds, prof_wall))
    return dict(summary=summary, rows=rows, method=METHOD,
                settings=settings)


def summarize(med, step_totals, calls, matmul, cosine, profile):
    """Headline figures and report rows from :func:`run`'s measurements.

    Args:
        med (dict): case name -> parts (seconds) of its median run.
        step_totals (list[float]): seconds of every timed fp32 step.
        calls (dict): FPS / kNN call counts of one step.
        matmul (tuple): fp32 and bf16 GFLOP/s of the 1024^3 matmul.
        cosine (dict): :func:`bf16_target_cosine`'s result.
        profile (tuple): :func:`profile_teacher`'s result.

    Returns:
        tuple: ``(summary, rows)``.
    """
    mm32, mm16 = matmul
    ops, kinds, prof_wall = profile
    step32 = med['step fp32']
    t_step = step32['total']
    cats = breakdown(step32)
    shares = OrderedDict((k, v / t_step) for k, (v, _) in cats.items())
    share_sum = sum(shares.values())
    t_teacher = med['teacher forward alone, fp32']['total']
    t_teacher16 = med['teacher forward alone, bf16']['total']
    t_student = med['student fwd+bwd alone']['total']
    no_waste = t_step / (t_teacher + t_student)
    speedup16 = t_teacher / t_teacher16
    amp = t_step / med['step amp (teacher fp32)']['total']
    amp16 = t_step / med['step amp + teacher bf16']['total']
    ceiling = mm16 / mm32
    grouping_ok = calls['fps'] == 1 and calls['knn_grouping'] == 1

    def verdict(ok):
        return 'PASS' if ok else 'FAIL'

    rows = [_row('step', 'whole step, fp32', t_step * 1e3, 1.0)]
    for k, (v, sub) in cats.items():
        rows.append(_row('step', k, v * 1e3, v / t_step))
        rows += [_row('step', '  ' + sk, sv * 1e3, sv / t_step)
                 for sk, sv in sub]
    rows.append(_row('step', 'untimed (preprocessor, loss parsing, ...)',
                     t_step * (1 - share_sum) * 1e3, 1 - share_sum))
    rows += [
        _row('checks', 'no waste: step / (teacher alone + student alone)',
             value=no_waste, target=f'<= {NO_WASTE_MAX}',
             verdict=verdict(no_waste <= NO_WASTE_MAX)),
        _row('checks', '  teacher forward alone, fp32', t_teacher * 1e3),
        _row('checks', '  student + decoder + head fwd+bwd alone',
             t_student * 1e3),
        _row('checks', 'FPS / grouping kNN calls per step',
             value=f'{calls["fps"]} / {calls["knn_grouping"]} (+'
             f'{calls["knn_other"]} DGCNN kNN among centres)',
             target='1 / 1', verdict=verdict(grouping_ok)),
        _row('checks', 'matmul 1024^3 GFLOP/s fp32 -> bf16 (ceiling)',
             value=f'{mm32:.1f} -> {mm16:.1f}', speedup=ceiling),
        _row('checks', 'teacher forward bf16 vs fp32', t_teacher16 * 1e3,
             fp32_ms=t_teacher * 1e3, speedup=speedup16,
             target=f'>= {BF16_SPEEDUP_MIN}x',
             verdict=verdict(speedup16 >= BF16_SPEEDUP_MIN)),
        _row('checks', 'bf16 targets: mean cosine to fp32',
             value=cosine['mean'], target=f'>= {BF16_COSINE_MIN}',
             verdict=verdict(cosine['mean'] >= BF16_COSINE_MIN)),
        _row('checks', '  min cosine / groups below 0.95',
             value=f'{cosine["min"]:.3f} / {cosine["below_0.95"]:.1%}'),
        _row('checks', 'step amp (teacher fp32) vs fp32',
             med['step amp (teacher fp32)']['total'] * 1e3,
             fp32_ms=t_step * 1e3, speedup=amp),
        _row('checks', 'step amp + teacher bf16 vs fp32',
             med['step amp + teacher bf16']['total'] * 1e3,
             fp32_ms=t_step * 1e3, speedup=amp16),
    ]
    p32 = med['teacher forward alone, fp32']
    p16 = med['teacher forward alone, bf16']
    for name in TEACHER_PARTS + ('rest',):
        if name == 'rest':
            a = p32['total'] - sum(p32.get(n, 0.) for n in TEACHER_PARTS)
            b = p16['total'] - sum(p16.get(n, 0.) for n in TEACHER_PARTS)
            label = 'Gumbel + codebook + rest'
        else:
            a, b = p32.get(name, 0.), p16.get(name, 0.)
            label = TEACHER_PART_NAMES[name]
        rows.append(_row('teacher parts', label, b * 1e3, b / p16['total'],
                         a * 1e3, a / b if b > 0 else None))
    for kind in kinds:
        rows.append(_row('teacher op kinds', kind['name'], kind['bf16_ms'],
                         kind['bf16_ms'] / 1e3 / prof_wall['bfloat16'],
                         kind['fp32_ms'], kind['fp32_ms'] / kind['bf16_ms']
                         if kind['bf16_ms'] > 0 else None))
    for op in ops:
        rows.append(_row('teacher ops', f'{op["name"]} (x{op["calls"]})',
                         op['bf16_ms'],
                         op['bf16_ms'] / 1e3 / prof_wall['bfloat16'],
                         op['fp32_ms'], op['fp32_ms'] / op['bf16_ms']
                         if op['bf16_ms'] > 0 and op['fp32_ms'] > 0 else
                         None))

    summary = OrderedDict(
        step_ms=t_step * 1e3,
        step_runs_ms=[t * 1e3 for t in step_totals],
        shares=shares,
        share_sum=share_sum,
        grouping_calls=dict(fps=calls['fps'],
                            knn=calls['knn_grouping'],
                            knn_dgcnn=calls['knn_other']),
        no_waste_ratio=no_waste,
        no_waste_pass=no_waste <= NO_WASTE_MAX,
        teacher_fp32_ms=t_teacher * 1e3,
        teacher_bf16_ms=t_teacher16 * 1e3,
        student_alone_ms=t_student * 1e3,
        teacher_bf16_speedup=speedup16,
        matmul_fp32_gflops=mm32,
        matmul_bf16_gflops=mm16,
        matmul_bf16_ratio=ceiling,
        bf16_cosine=cosine,
        amp_speedup=amp,
        amp_bf16_teacher_speedup=amp16,
    )
    return summary, rows


# ----------------------------------------------------------------- report

TABLES = OrderedDict([
    ('step', ('Stage II step breakdown (the run with the median step '
              'time; share = of the whole step)', ('part', 'ms', 'share'))),
    ('checks', ('Checks and ratios (same run)',
                ('part', 'ms', 'fp32 ms', 'speed-up', 'value', 'target',
                 'verdict'))),
    ('teacher parts', ('Teacher forward by part, bf16 vs fp32 (forward '
                       'hooks; share = of the bf16 forward)',
                       ('part', 'ms', 'share', 'fp32 ms',
                        'speed-up'))),
    ('teacher op kinds', ('Teacher forward by op kind, bf16 vs fp32 '
                          '(torch.profiler self CPU time; share = of the '
                          'bf16 forward)',
                          ('part', 'ms', 'share', 'fp32 ms',
                           'speed-up'))),
    ('teacher ops', ('Teacher forward, top ops (self CPU time; ms and '
                     'share: bf16)',
                     ('part', 'ms', 'share', 'fp32 ms',
                      'speed-up'))),
])


def report(result, markdown=False):
    """The tables of a :func:`run` result as text (or Markdown)."""
    s = result['settings']
    head = (f'Stage II step benchmark: {s["config"]}, B={s["batch_size"]}, '
            f'N={s["num_points"]}, {s["threads"]} threads, median of '
            f'{s["repeat"]} after {s["warmup"]} warm-up; load average '
            f'{s["load_before"]} before, {s["load_after"]} after '
            f'({s["cpu_count"]} CPUs)')
    out = [('# ' if markdown else '') + head]
    busy = max((s['load_before'] or [0])[:1] + (s['load_after'] or [0])[:1])
    if busy > 0.5 * (s['cpu_count'] or 1):
        out.append('WARNING: the machine was busy (load average above half '
                   'the CPUs): absolute times and ratios are unreliable; '
                   're-measure on an idle machine.')
    for key, (title, cols) in TABLES.items():
        rows = [r for r in result['rows'] if r['table'] == key]
        out.append(('\n## ' if markdown else '\n== ') + title +
                   ('' if markdown else ' =='))
        out.append(format_table(rows, columns=cols, markdown=markdown))
    out.append('\n' + result['method'])
    return '\n'.join(out)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_bench_args(parser, 'bench_pretrain.json / .md')
    parser.add_argument('--repeat', type=int, default=3,
                        help='timed runs per case (median is kept)')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='Stage II config (model + optim_wrapper)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (default: as is)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: batch 2, one timed run')
    args = parser.parse_args(argv)
    for key in ('batch_size', 'num_points', 'repeat'):
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be >= 1')
    if args.quick:
        args.batch_size, args.repeat = 2, 1
    return args


def main(argv=None):
    args = parse_args(argv)
    progress = progress_logger()
    result = run(batch_size=args.batch_size, num_points=args.num_points,
                 repeat=args.repeat, config=args.config,
                 threads=args.threads, seed=args.seed, progress=progress)
    result['machine'] = machine_info()
    result['command'] = ' '.join(['python', osp.relpath(__file__, ROOT)] +
                                 list(sys.argv[1:] if argv is None else argv))
    print(report(result))
    if args.out:
        mmengine.dump(result, osp.join(args.out, 'bench_pretrain.json'),
                      indent=1)
        mmengine.put_text(report(result, markdown=True) + '\n',
                          osp.join(args.out, 'bench_pretrain.md'))
        progress(f'wrote {args.out}/bench_pretrain.json and '
                 'bench_pretrain.md')
    progress('done')
    return result


if __name__ == '__main__':
    main()
