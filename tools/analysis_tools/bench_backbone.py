"""Backbone section of benchmark.py: where a training step's time goes.

Usage::

    python tools/analysis_tools/bench_backbone.py [--batch-size 32]
        [--num-points 1024] [--budget 10] [--out DIR]

``--out DIR`` writes ``DIR/bench_backbone.json`` (the rows and the machine).

Measured in one run, as ratios against baselines from the same run:
* the machine's dense float32 matmul rate (1024^3 GEMM), the ceiling;
* the ACT backbone forward+backward at B=32, N=1024 (G=64, K=32): shares of
  grouping (FPS + kNN), the mini-PointNet and the transformer blocks, and
  achieved GFLOP/s as a fraction of the matmul rate;
* the mini-PointNet against its literal Conv1d formulation, at the
  straightforward FLOP count (6 x 0.49M multiply-adds x grouped points);
* the 12 blocks against a stack of timm ``Block`` s of the same shape;
* bfloat16 autocast against float32.
"""
import argparse
import functools
import os.path as osp

import mmengine
import torch
import torch.nn as nn
from timm.models.vision_transformer import Block

from act_mmdet3d.models.layers import MiniPointNetReference
from act_mmdet3d.utils.benchmark import (add_bench_args, format_table,
                                         machine_info, matmul_gflops, measure,
                                         progress_logger)
from mmdet3d.registry import MODELS


def _row(part, ms=None, share=None, gflops=None, peak=None, ratio=None,
         baseline=''):
    return {
        'part': part,
        'ms': ms,
        'share of step': share,
        'GFLOP/s': gflops,
        'x matmul rate': None if gflops is None else gflops / peak,
        'x baseline': ratio,
        'baseline': baseline,
    }


def mini_pointnet_flops(embed_dims, grouped_points):
    """Straightforward fwd+bwd FLOPs of the mini-PointNet (Conv1d form)."""
    macs = 3 * 128 + 128 * 256 + 512 * 512 + 512 * embed_dims
    return 6 * macs * grouped_points


def blocks_flops(batch, tokens, dims, depth, mlp_ratio=4):
    """fwd+bwd FLOPs of ``depth`` ViT blocks on (batch, tokens, dims)."""
    per_token = (4 + 2 * mlp_ratio) * dims * dims + 2 * tokens * dims
    return 6 * per_token * tokens * batch * depth


def _fwd_bwd(module, *inputs):

    def step():
        out = module(*inputs)
        if isinstance(out, dict):
            out = out['tokens'][-1]
        out.float().sum().backward()

    return step


def run(batch=32, num_points=1024, budget=10.0, progress=print):
    """Result rows (dicts) of the backbone section; each time is the median
    of :func:`measure` with at most ``budget`` seconds of timed runs."""
    torch.manual_seed(0)
    time = functools.partial(measure, max_run_time=budget)  # seconds
    peak = matmul_gflops()
    progress(f'matmul: {peak:.1f} GFLOP/s')

    backbone = MODELS.build(dict(type='ACTPointTransformer')).train()
    points = torch.rand(batch, num_points, 3)
    groups = backbone.group(points)
    g, k = backbone.num_groups, backbone.group_size
    grouped = batch * g * k

    t_group = time(lambda: backbone.group(points))
    progress(f'grouping: {t_group * 1e3:.1f} ms')

    fast = backbone.encoder
    ref = MiniPointNetReference(fast.embed_dims)
    ref.load_state_dict(fast.state_dict())
    nb = groups.neighborhood
    t_pn = time(_fwd_bwd(fast, nb))
    t_pn_ref = time(_fwd_bwd(ref, nb))
    pn_flops = mini_pointnet_flops(fast.embed_dims, grouped)
    progress(f'mini-PointNet: {t_pn * 1e3:.0f} ms (Conv1d form '
             f'{t_pn_ref * 1e3:.0f} ms)')

    tokens = torch.randn(batch, g + 1, backbone.embed_dims)
    pos = torch.randn(batch, g + 1, backbone.embed_dims)

    def act_blocks():
        x = tokens
        for block in backbone.blocks:
            x = block(x + pos)
        return x

    timm_stack = nn.Sequential(*[
        Block(backbone.embed_dims, 6, 4., qkv_bias=False,
              drop_path=0.1 * i / 11, norm_layer=nn.LayerNorm)
        for i in range(12)
    ]).train()
    t_blocks = time(_fwd_bwd(lambda: act_blocks()))
    t_timm = time(_fwd_bwd(timm_stack, tokens))
    bl_flops = blocks_flops(batch, g + 1, backbone.embed_dims, 12)
    progress(f'blocks: {t_blocks * 1e3:.0f} ms (timm stack '
             f'{t_timm * 1e3:.0f} ms)')

    t_step = time(_fwd_bwd(backbone, points))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        t_bf16 = time(_fwd_bwd(backbone, points))
    progress(f'full step: {t_step * 1e3:.0f} ms fp32, '
             f'{t_bf16 * 1e3:.0f} ms bf16')
    step_flops = pn_flops + bl_flops

    gf = lambda flops, t: flops / t / 1e9  # noqa: E731
    rows = [
        _row('dense matmul 1024^3', gflops=peak, peak=peak),
        _row('backbone fwd+bwd, fp32', t_step * 1e3, 1.0,
             gf(step_flops, t_step), peak),
        _row('  grouping (FPS + kNN)', t_group * 1e3, t_group / t_step),
        _row('  mini-PointNet', t_pn * 1e3, t_pn / t_step,
             gf(pn_flops, t_pn), peak, t_pn_ref / t_pn,
             'Conv1d form (speed-up)'),
        _row('  mini-PointNet, Conv1d form', t_pn_ref * 1e3, None,
             gf(pn_flops, t_pn_ref), peak),
        _row('  12 transformer blocks', t_blocks * 1e3, t_blocks / t_step,
             gf(bl_flops, t_blocks), peak, t_timm / t_blocks,
             'timm Block stack (throughput ratio)'),
        _row('  timm Block stack', t_timm * 1e3, None, gf(bl_flops, t_timm),
             peak),
        _row('backbone fwd+bwd, bf16 autocast', t_bf16 * 1e3, None, None,
             peak, t_step / t_bf16, 'fp32 step (speed-up)'),
    ]
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_bench_args(parser, 'bench_backbone.json')
    parser.add_argument('--budget', type=float, default=10.0,
                        help='most seconds of timed runs per measurement')
    args = parser.parse_args(argv)
    rows = run(args.batch_size, args.num_points, args.budget,
               progress=progress_logger())
    print(format_table(rows))
    if args.out:
        mmengine.dump(dict(machine=machine_info(), rows=rows),
                      osp.join(args.out, 'bench_backbone.json'), indent=1)
    return rows


if __name__ == '__main__':
    main()
