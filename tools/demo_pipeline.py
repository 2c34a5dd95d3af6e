"""The whole ACT pipeline on the embedded demo data, one stage after another.

    Stage I    configs/demo/autoencoder_shapenet_demo.py   teacher autoencoder
    Stage II   configs/demo/pretrain_shapenet_demo.py      masked distillation
    fine-tune  configs/demo/finetune_<task>_demo.py        from the Stage II
               student (``prefix='backbone.'``) and from scratch, same
               config, seed and budget

Every stage is a plain ``tools/train.py`` run (its mmengine log streams to
the terminal and lands in its work dir), chained by checkpoint paths given
as ``--cfg-options``. At the end the tool prints a summary table (time and
result of every stage, the last-epoch accuracy of the pretrained and the
from-scratch model side by side), and writes ``summary.json`` and
``summary.png`` (the curves) to the work dir, then a few pictures of what
the models do under ``<work dir>/pictures/`` (``tools/visualize.py``'s
modes, drawn in-process: the tokenizer groups, the Stage I reconstruction,
the Stage II mask, the curves of every fine-tune pretrained vs scratch and,
when that task ran, the part segmentation; ``--no-pictures`` skips them).

A finished stage (``done.json`` in its work dir) is skipped on the next run
unless ``--force``; ``--cfg-options`` entries are added to every stage (the
tests use them to shrink the runs).

Example::

    python tools/demo_pipeline.py                       # make demo
    python tools/demo_pipeline.py --tasks modelnet40 scanobjectnn
    python tools/demo_pipeline.py --tasks shapenetpart   # part segmentation
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
STAGE1_CONFIG = 'configs/demo/autoencoder_shapenet_demo.py'
STAGE2_CONFIG = 'configs/demo/pretrain_shapenet_demo.py'
TASK_CONFIGS = {
    'modelnet40': 'configs/demo/finetune_modelnet40_demo.py',
    'scanobjectnn': 'configs/demo/finetune_scanobjectnn_demo.py',
    'shapenetpart': 'configs/demo/partseg_shapenetpart_demo.py',
}
#: the two validation figures reported per task: (metric key, label)
TASK_METRICS = {
    'modelnet40': (('overall_acc', 'OA'), ('mean_acc', 'mAcc')),
    'scanobjectnn': (('overall_acc', 'OA'), ('mean_acc', 'mAcc')),
    'shapenetpart': (('instance_mIoU', 'ins. mIoU'), ('class_mIoU',
                                                      'cls. mIoU')),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Run Stage I -> Stage II -> fine-tune (pretrained vs '
        'scratch) on the demo data')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--tasks', nargs='+', default=['modelnet40'],
        choices=sorted(TASK_CONFIGS), help='downstream fine-tunes')
    parser.add_argument(
        '--force', action='store_true', help='rerun finished stages')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
        help='added to every stage (e.g. train_cfg.max_epochs=1)')
    parser.add_argument(
        '--no-pictures', action='store_true',
        help='do not draw the pictures under <work dir>/pictures')
    return parser.parse_args(argv)


# ------------------------------------------------------------- the runs
def read_scalars(work_dir):
    """The mmengine ``vis_data/scalars.json`` records of the newest run in
    ``work_dir``: a list of dicts (train records carry ``loss`` and
    ``iter``; validation records carry the metrics and ``step`` = epoch)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no mmengine log (*/vis_data/scalars.json) '
                                f'in {work_dir}')
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def last_checkpoint(work_dir):
    """The checkpoint mmengine saved last in ``work_dir``."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise FileNotFoundError(f'{marker} not found: the stage saved no '
                                'checkpoint')
    with open(marker) as f:
        path = f.read().strip()
    if not osp.isfile(path):
        raise FileNotFoundError(f'{marker} names {path}, which is missing')
    return path


def run_stage(name, config, work_dir, cfg_options, force):
    """Train ``config`` into ``work_dir`` with ``tools/train.py``.

    Skipped when ``done.json`` records the same config and options (unless
    ``force``). Returns ``dict(name, config, cfg_options, work_dir,
    checkpoint, seconds, ran, scalars)``.
    """
    done = osp.join(work_dir, 'done.json')
    if osp.isfile(done) and not force:
        with open(done) as f:
            record = json.load(f)
        if (record.get('config') == config
                and record.get('cfg_options') == list(cfg_options)):
            print(f'\n=== {name}: done before, skipped ({done}; --force '
                  'reruns)', flush=True)
            record.update(ran=False, scalars=read_scalars(work_dir))
            return record
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config,
           '--work-dir', work_dir]
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    print(f'\n=== {name}: {" ".join(cmd[1:])}', flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f'{name} failed (exit {proc.returncode}): see the '
                           f'log above and {work_dir}')
    record = dict(name=name, config=config, cfg_options=list(cfg_options),
                  work_dir=work_dir, checkpoint=last_checkpoint(work_dir),
                  seconds=seconds)
    with open(done, 'w') as f:
        json.dump(record, f, indent=1)
    record.update(ran=True, scalars=read_scalars(work_dir))
    return record


def train_curve(scalars, key):
    pairs = [(r['iter'], r[key]) for r in scalars if key in r and 'iter' in r]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def val_curve(scalars, key):
    pairs = [(r['step'], r[key]) for r in scalars
             if key in r and 'iter' not in r]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def last_val(scalars, key):
    _, values = val_curve(scalars, key)
    if not values:
        raise KeyError(f'no validation {key!r} in the log')
    return values[-1]


# --------------------------------------------------------------- report
def summarise(stages, results, work_dir):
    """Print the table, write summary.json / summary.png; returns the
    summary dict."""
    s1, s2 = stages['stage1'], stages['stage2']
    _, l1 = train_curve(s1['scalars'], 'loss')
    _, l2 = train_curve(s2['scalars'], 'loss')
    summary = dict(
        stage1=dict(seconds=s1['seconds'], checkpoint=s1['checkpoint'],
                    loss_first=l1[0], loss_last=l1[-1],
                    val_CDL1=last_val(s1['scalars'], 'CDL1')),
        stage2=dict(seconds=s2['seconds'], checkpoint=s2['checkpoint'],
                    loss_first=l2[0], loss_last=l2[-1]),
        finetune={})
    for task, runs in results.items():
        summary['finetune'][task] = {
            init: dict(seconds=r['seconds'], checkpoint=r['checkpoint'],
                       **{m: last_val(r['scalars'], m)
                          for m, _ in TASK_METRICS[task]})
            for init, r in runs.items()}
    summary['total_seconds'] = sum(
        r['seconds'] for r in [s1, s2] +
        [r for runs in results.values() for r in runs.values()])

    lines = ['', 'ACT demo pipeline (last-epoch figures, seed 0; '
             '* = finished by an earlier run, its minutes then)',
             f'{"stage":<38}{"minutes":>8}  result']

    def mark(record):
        return '' if record.get('ran', True) else '*'

    lines.append(f'{"Stage I  teacher autoencoder" + mark(s1):<38}'
                 f'{s1["seconds"] / 60:>8.1f}  loss {l1[0]:.3f} -> '
                 f'{l1[-1]:.3f}, val CD-L1 x1000 '
                 f'{summary["stage1"]["val_CDL1"]:.1f}')
    lines.append(f'{"Stage II masked distillation" + mark(s2):<38}'
                 f'{s2["seconds"] / 60:>8.1f}  loss {l2[0]:.4f} -> '
                 f'{l2[-1]:.4f}')
    for task, runs in summary['finetune'].items():
        for init, r in runs.items():
            name = f'fine-tune {task} ({init}){mark(results[task][init])}'
            figures = '  '.join(f'{label} {r[key]:.1f}%'
                                for key, label in TASK_METRICS[task])
            lines.append(f'{name:<38}{r["seconds"] / 60:>8.1f}  {figures}')
    lines.append(f'{"total":<38}{summary["total_seconds"] / 60:>8.1f}')
    print('\n'.join(lines), flush=True)

    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    plot(stages, results, osp.join(work_dir, 'summary.png'))
    print(f'\nwrote {osp.join(work_dir, "summary.json")} and summary.png',
          flush=True)
    return summary


def plot(stages, results, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    # one panel per kind of downstream figure (accuracy, part mIoU)
    panels = {}
    for task in results:
        key, label = TASK_METRICS[task][0]
        panels.setdefault(key, (label, []))[1].append(task)
    fig, axes = plt.subplots(
        1, 2 + len(panels), figsize=(5 * (2 + len(panels)), 4))
    axes[0].plot(*train_curve(stages['stage1']['scalars'], 'loss'))
    axes[0].set(title='Stage I: teacher autoencoder', xlabel='iteration',
                ylabel='loss (CD-L1 coarse + fine + KL)')
    axes[1].plot(*train_curve(stages['stage2']['scalars'], 'loss'))
    axes[1].set(title='Stage II: masked distillation', xlabel='iteration',
                ylabel='loss = 1 - mean cos')
    axes[1].set_yscale('log')
    for ax, (key, (label, tasks)) in zip(axes[2:], panels.items()):
        for task in tasks:
            for init, r in results[task].items():
                ax.plot(*val_curve(r['scalars'], key), marker='o',
                        linestyle='-' if init == 'pretrained' else '--',
                        label=f'{task}, {init}')
        ax.set(title=f'fine-tune: validation {label}', xlabel='epoch',
               ylabel=f'{label} (%)')
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------- pictures
#: (width, height) of the demo's pictures
PICTURE_SIZE = (720, 480)


def write_pictures(stages, results, work_dir):
    """Draw the demo's pictures under ``<work_dir>/pictures`` in-process
    (act_mmdet3d.visualization, as tools/visualize.py): sample 0 of each
    stage's first split (test; train for Stage II, which has none) with
    the stage's own config options. Returns the files."""
    from act_mmdet3d.visualization import render, render_curves
    out = osp.abspath(osp.join(work_dir, 'pictures'))
    s1, s2 = stages['stage1'], stages['stage2']
    size = dict(size=PICTURE_SIZE)
    cwd = os.getcwd()
    os.chdir(ROOT)  # configs name their data relative to the repository
    try:
        paths = render('groups', s1['config'], s1['checkpoint'], out_dir=out,
                       cfg_options=s1['cfg_options'], draw_kwargs=size)
        paths += render('reconstruction', s1['config'], s1['checkpoint'],
                        out_dir=out, cfg_options=s1['cfg_options'],
                        draw_kwargs=size)
        paths += render('mask', s2['config'], s2['checkpoint'], out_dir=out,
                        cfg_options=s2['cfg_options'], draw_kwargs=size)
        paths.append(render_curves(
            [s1['work_dir'], s2['work_dir']],
            osp.join(out, 'curves_pretraining.png'),
            labels=['Stage I', 'Stage II'],
            title='pretraining curves: Stage I teacher, Stage II student'))
        for task, runs in results.items():
            paths.append(render_curves(
                [runs['pretrained']['work_dir'], runs['scratch']['work_dir']],
                osp.join(out, f'curves_{task}.png'),
                labels=['pretrained', 'scratch'],
                title=f'fine-tune {task}: pretrained vs scratch'))
            if task == 'shapenetpart':
                run = runs['pretrained']
                paths += render('partseg', run['config'], run['checkpoint'],
                                out_dir=out, cfg_options=run['cfg_options'],
                                draw_kwargs=size)
    finally:
        os.chdir(cwd)
    print(f'wrote {len(paths)} pictures to {out}', flush=True)
    return paths


def main(argv=None):
    args = parse_args(argv)
    work_dir = args.work_dir
    os.makedirs(work_dir, exist_ok=True)
    opts = list(args.cfg_options)
    stages = {}
    stages['stage1'] = run_stage('Stage I (teacher autoencoder)',
                                 STAGE1_CONFIG,
                                 osp.join(work_dir, 'autoencoder'), opts,
                                 args.force)
    # a stage that ran again makes every stage that reads it run again
    stages['stage2'] = run_stage(
        'Stage II (masked distillation)', STAGE2_CONFIG,
        osp.join(work_dir, 'pretrain'),
        opts + ['model.target_generator.init_cfg.checkpoint=' +
                stages['stage1']['checkpoint']],
        args.force or stages['stage1']['ran'])
    pretrained = stages['stage2']['checkpoint']
    results = {}
    for task in args.tasks:
        results[task] = {}
        for init in ('pretrained', 'scratch'):
            extra = []
            if init == 'pretrained':
                extra = ['model.backbone.init_cfg.type=Pretrained',
                         f'model.backbone.init_cfg.checkpoint={pretrained}',
                         'model.backbone.init_cfg.prefix=backbone.']
            results[task][init] = run_stage(
                f'fine-tune {task} ({init})', TASK_CONFIGS[task],
                osp.join(work_dir, f'finetune_{task}_{init}'), opts + extra,
                args.force or (init == 'pretrained'
                               and stages['stage2']['ran']))
    summary = summarise(stages, results, work_dir)
    if not args.no_pictures:
        summary['pictures'] = write_pictures(stages, results, work_dir)
    return summary


if __name__ == '__main__':
    main()
