"""Pictures of what an ACT model does, as PNG files (headless matplotlib).

Usage::

    python tools/analysis_tools/visualize.py MODE CONFIG [CHECKPOINT]
        [--index N ...] [--split test|val|train] [--out DIR] [--size W H]
        [--dpi D]
    python tools/analysis_tools/visualize.py curves WORK_DIR [WORK_DIR ...]
        [--labels ...]

Modes:

- ``groups``: a cloud with its FPS centres and kNN groups, as the
  tokenizer sees it (any ACT config; CHECKPOINT optional);
- ``mask``: Stage II masking, visible vs masked groups (a Stage II or
  backbone config; ``--mask-ratio`` overrides the config's);
- ``reconstruction``: the Stage I teacher, input vs coarse vs fine, with
  the sample's CD-L1 (a Stage I or Stage II config + checkpoint);
- ``partseg``: ShapeNetPart prediction vs ground truth, coloured by part,
  with the shape's mIoU (a part-segmentation config + checkpoint);
- ``detection``: a scene from above and in 3D, predicted vs ground-truth
  boxes with scores (any mmdet3d detector config + checkpoint);
- ``curves``: loss, lr, Gumbel temperature, KL weight, accuracy over
  iterations from the ``vis_data/scalars.json`` of work dirs, overlaid;
- ``tsne``: frozen-encoder features of a split, t-SNE, coloured by class
  (a classification config; CHECKPOINT: Stage II or fine-tuned, optional).

Examples::

    python tools/analysis_tools/visualize.py reconstruction \\
        configs/demo/act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py \\
        work_dirs/demo/autoencoder/epoch_2.pth --index 0 3 --out work_dirs/vis
    python tools/analysis_tools/visualize.py mask \\
        configs/demo/act_vit-s_1xb16-coslr-3e_shapenet55-demo.py \\
        work_dirs/demo/pretrain/epoch_6.pth --mask-ratio 0.8
    python tools/analysis_tools/visualize.py curves \\
        work_dirs/demo/finetune_modelnet40_* \\
        --labels pretrained scratch
    python tools/analysis_tools/visualize.py tsne \\
        configs/demo/vit-s_1xb16-coslr-6e_modelnet40-demo.py \\
        work_dirs/demo/pretrain/epoch_6.pth --max-samples 100

Files: ``<out>/<mode>_<config name>_<split><index>.png``,
``<out>/tsne_<config name>_<split>.png``, ``<out>/curves.png`` (or
``--name``).
"""
import argparse
import os.path as osp

import act_mmdet3d.compat.install  # noqa: F401  (registers, applies fixes)

from act_mmdet3d.utils import add_cfg_options
from act_mmdet3d.visualization import MODES, render, render_curves


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw what an ACT model does into PNG files',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='modes: ' + ', '.join(MODES))
    parser.add_argument('mode', choices=MODES, help='what to draw')
    parser.add_argument(
        'inputs', nargs='+', metavar='CONFIG [CHECKPOINT] | WORK_DIR',
        help='CONFIG and CHECKPOINT; for curves, work dirs (or '
        'scalars.json files)')
    parser.add_argument('--index', type=int, nargs='+', default=[0],
                        help='samples of the split (default: 0)')
    parser.add_argument('--split', choices=('test', 'val', 'train'),
                        help='dataset split (default: the first of test, '
                        'val, train the config has)')
    parser.add_argument('--out', default='work_dirs/vis',
                        help='output folder (default: work_dirs/vis)')
    parser.add_argument('--size', type=int, nargs=2, metavar=('W', 'H'),
                        help='picture size in pixels (default per mode)')
    parser.add_argument('--dpi', type=int, default=100,
                        help='dots per inch: text and marker scale')
    parser.add_argument('--up', choices=('y', 'z', '-y'),
                        help='up axis of the clouds (default: y for '
                        'objects; from the box type for detection)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of random init, pipeline, mask, noise')
    parser.add_argument('--mask-ratio', type=float,
                        help='mask: override the config\'s mask ratio')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detection: lowest score drawn (0.3)')
    parser.add_argument('--max-samples', type=int,
                        help='tsne: embed N clouds evenly spaced over the '
                        'split (default all)')
    parser.add_argument('--palette', action='store_true',
                        help='8-bit palette PNGs, ~3x smaller (for docs)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    add_cfg_options(parser)
    curves = parser.add_argument_group('curves (WORK_DIR ...)')
    curves.add_argument('--labels', nargs='+', help='one label per work dir')
    curves.add_argument(
        '--keys', nargs='+', help='scalars to draw (default: loss, lr, '
        'temperature, kl_weight, accuracy, ... as logged)')
    curves.add_argument('--name', default='curves.png',
                        help='output file name (curves.png)')
    args = parser.parse_args(argv)
    if args.mode == 'curves':
        if args.cfg_options:
            parser.error('curves reads work dirs: --cfg-options does not '
                         'apply')
    elif len(args.inputs) > 2:
        parser.error(f'{args.mode} takes CONFIG [CHECKPOINT], got '
                     f'{len(args.inputs)} paths: {args.inputs}')
    return args


def main(argv=None):
    args = parse_args(argv)
    draw_kwargs = dict(dpi=args.dpi)
    if args.size:
        draw_kwargs['size'] = tuple(args.size)
    if args.mode == 'curves':
        return [render_curves(args.inputs, osp.join(args.out, args.name),
                              labels=args.labels, keys=args.keys,
                              draw_kwargs=draw_kwargs,
                              palette=args.palette)]
    if args.up and args.mode != 'tsne':
        draw_kwargs['up'] = args.up
    if args.mode == 'detection':
        draw_kwargs['score_thr'] = args.score_thr
    config, checkpoint = (args.inputs + [None])[:2]
    return render(args.mode, config, checkpoint, indices=args.index,
                  out_dir=args.out, split=args.split,
                  cfg_options=args.cfg_options, seed=args.seed,
                  mask_ratio=args.mask_ratio, max_samples=args.max_samples,
                  device=args.device, draw_kwargs=draw_kwargs,
                  palette=args.palette)


if __name__ == '__main__':
    main()
