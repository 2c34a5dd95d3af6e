"""How much the Stage II targets vary: is there anything to distil?

Runs a trained Stage I teacher over the first clouds of a config's training
set, with the grouping and the sampling Stage II uses, and measures the
targets at every teacher layer (``act_mmdet3d.evaluation.functional.
target_diversity``): the mean cosine of the targets to their mean, the
share of their energy a constant explains, the shares of the leading
principal components, the effective rank, and the share of the variance
between clouds. It also reports the codebook perplexity of the argmax codes
and of the Gumbel-sampled codes Stage II uses, and how often the two agree.

Example::

    python tools/analysis_tools/target_diversity.py \
        configs/demo/act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py \
        work_dirs/demo/autoencoder/epoch_2.pth --out diversity.json

CONFIG is a Stage I config (its ``model`` is the teacher) or a Stage II
config (its ``model.target_generator``); CHECKPOINT a Stage I checkpoint or a
Stage II checkpoint (``target_generator.*`` keys), loaded strictly.
"""
import argparse
import copy
import json
import os
import os.path as osp

import act_mmdet3d.compat.install  # noqa: F401  (registers, applies fixes)
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import CheckpointLoader
from mmengine.utils import ProgressBar
from terminaltables import AsciiTable

from act_mmdet3d.evaluation.functional import (code_perplexity,
                                               target_diversity)
from act_mmdet3d.models.data_preprocessors import stack_points
from act_mmdet3d.models.pretrainers.act_pretrainer import \
    load_teacher_checkpoint
from act_mmdet3d.utils import add_cfg_options, load_config
from mmdet3d.registry import DATASETS, MODELS

#: the columns of the table: (key, header, format)
COLUMNS = (('cos_to_mean', 'cos to mean', '{:.3f}'),
           ('constant_share', 'constant share', '{:.3f}'),
           ('pc_share_1', 'PC1 share', '{:.3f}'),
           ('effective_rank', 'eff. rank', '{:.1f}'),
           ('between_cloud_share', 'between clouds', '{:.3f}'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Diversity of the Stage II targets of a Stage I teacher')
    parser.add_argument('config', help='Stage I or Stage II config')
    parser.add_argument('checkpoint', help='Stage I or Stage II checkpoint')
    parser.add_argument('--num-clouds', type=int, default=64,
                        help='training clouds measured (default 64)')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--layers', nargs='+', default=None,
                        help='teacher layers (default: the layer Stage II '
                        "distils, target_kwargs.layer or 'output')")
    parser.add_argument('--all-layers', action='store_true',
                        help='every layer: encoder, codebook, each '
                        'transformer block, transformer, output')
    parser.add_argument('--mode', choices=('train', 'eval'), default=None,
                        help="teacher module mode (default: Stage II's, "
                        "train for teacher_mode='reference')")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='JSON file for the figures')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def teacher_config(cfg: Config):
    """(teacher model dict, Stage II ``target_kwargs``, teacher mode)."""
    model = cfg.get('model')
    if model is None:
        raise KeyError(f'{cfg.filename}: no model')
    if model.get('type') == 'ACTPretrainer':
        teacher = model.get('target_generator')
        if teacher is None:
            raise KeyError(f'{cfg.filename}: model.target_generator is not '
                           'set (a point-target head has no teacher)')
        kwargs = dict(model.get('target_kwargs') or {})
        mode = ('eval' if model.get('teacher_mode') == 'eval' else 'train')
    else:
        teacher, kwargs, mode = model, {}, 'train'
    teacher = copy.deepcopy(teacher)
    teacher.pop('init_cfg', None)
    teacher.pop('data_preprocessor', None)
    return teacher, kwargs, mode


def default_layers(teacher) -> list:
    layers = ['encoder', 'codebook']
    if teacher.transformer is not None:
        layers += [f'block.{i}' for i in range(teacher.transformer.depth)]
        layers.append('transformer')
    return layers + ['output']


@torch.no_grad()
def measure(teacher, dataset, num_clouds: int, batch_size: int,
            layers: list, target_kwargs: dict) -> dict:
    """Targets of the first ``num_clouds`` clouds at each layer -> figures.

    Returns:
        dict: ``layers`` (layer -> diversity dict), ``codes`` (perplexity
        of the argmax and of the Gumbel-sampled codes, their agreement),
        ``num_clouds``.
    """
    num_clouds = min(num_clouds, len(dataset))
    if num_clouds < 2:
        raise ValueError('target diversity needs at least 2 clouds, the '
                         f'dataset has {len(dataset)}')
    hard = target_kwargs.get('hard', True)
    tau = target_kwargs.get('tau', 1.0)
    noise = target_kwargs.get('noise', True)
    feats = {layer: [] for layer in layers}
    argmax_codes, sampled_codes = [], []
    bar = ProgressBar(num_clouds)
    for start in range(0, num_clouds, batch_size):
        batch = pseudo_collate(
            [dataset[i] for i in range(start,
                                       min(start + batch_size, num_clouds))])
        inputs = teacher.data_preprocessor(batch, False)['inputs']
        points = stack_points(inputs)[..., :3].contiguous()
        groups = teacher.grouper(points)
        logits = teacher.encode_logits(groups)
        argmax_codes.append(logits.argmax(-1))
        sampled_codes.append(
            torch.nn.functional.gumbel_softmax(
                logits.float(), tau=tau, hard=True).argmax(-1))
        for layer in layers:
            feats[layer].append(
                teacher.extract_targets(groups, hard=hard, tau=tau,
                                        layer=layer, noise=noise).float())
        for _ in range(points.size(0)):
            bar.update()
    print()
    argmax_codes = torch.cat(argmax_codes)
    sampled_codes = torch.cat(sampled_codes)
    result = dict(
        num_clouds=num_clouds,
        layers={layer: target_diversity(torch.cat(f))
                for layer, f in feats.items()},
        codes=dict(
            num_tokens=teacher.num_tokens,
            argmax_perplexity=code_perplexity(argmax_codes,
                                              teacher.num_tokens),
            sampled_perplexity=code_perplexity(sampled_codes,
                                               teacher.num_tokens),
            argmax_used=int(argmax_codes.unique().numel()),
            sampled_equals_argmax=(argmax_codes == sampled_codes).float()
            .mean().item()))
    return result


def table(result: dict) -> str:
    rows = [['layer'] + [c[1] for c in COLUMNS]]
    for layer, figures in result['layers'].items():
        rows.append([layer] + [fmt.format(figures[key])
                               for key, _, fmt in COLUMNS])
    codes = result['codes']
    return (AsciiTable(rows, f'Stage II targets of {result["num_clouds"]} '
                       'clouds').table +
            f'\ncodebook: argmax perplexity {codes["argmax_perplexity"]:.1f}'
            f' ({codes["argmax_used"]} of {codes["num_tokens"]} codes used),'
            f' Gumbel-sampled perplexity {codes["sampled_perplexity"]:.1f},'
            f' sampled == argmax for {100 * codes["sampled_equals_argmax"]:.1f}'
            '% of the groups')


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    torch.manual_seed(args.seed)
    model_cfg, target_kwargs, mode = teacher_config(cfg)
    teacher = MODELS.build(model_cfg)
    prefix = None
    ckpt = CheckpointLoader.load_checkpoint(args.checkpoint,
                                            map_location='cpu') \
        if osp.isfile(args.checkpoint) else {}
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    if any(k.startswith('target_generator.') for k in state):
        prefix = 'target_generator.'
    load_teacher_checkpoint(teacher, args.checkpoint, prefix)
    teacher.train((args.mode or mode) == 'train')
    if args.all_layers:
        layers = default_layers(teacher)
    else:
        layers = args.layers or [target_kwargs.get('layer', 'output')]
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    result = measure(teacher, dataset, args.num_clouds, args.batch_size,
                     layers, target_kwargs)
    result.update(config=args.config, checkpoint=args.checkpoint,
                  mode=args.mode or mode, target_kwargs=target_kwargs)
    print(table(result))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
        print(f'written: {args.out}')
    return result


if __name__ == '__main__':
    main()
