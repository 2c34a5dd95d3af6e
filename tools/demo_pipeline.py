"""ACT's question on the demo: does a pretrained teacher make a better 3D
student than the same teacher with random weights, or no pretraining?

Three students, same seed, data, budget and schedule:

    (a) pretrained teacher   Stage I configs/demo/act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py
                             (all-MiniLM-L6-v2, prompt-tuned), then Stage II
                             configs/demo/act_vit-s_1xb16-coslr-3e_shapenet55-demo.py
    (b) random teacher       the same with MiniLM's architecture and RANDOM
                             weights (*_demo_random.py)
    (c) from scratch         no pretraining

Each student is probed frozen by a linear SVM
(``tools/analysis_tools/svm_probe.py`` on z-scored features, C chosen by
5-fold CV on the training split; (c) is the seeded random init) and
fine-tuned with the ``TASK_CONFIGS`` demo configs (last epoch
reported). Before Stage II the teacher's targets are measured
(``tools/analysis_tools/target_diversity.py``: mean cosine to their mean,
the share a constant explains, the codebook perplexity): targets a constant
explains teach nothing.

Data: the real shapes of ``data/real`` (Sweet Home 3D's furniture
catalogue, ``tools/dataset_converters/sweethome3d.py``; ``make demo``
fetches and converts it) when they are there, else the procedural demo
clouds of ``data/demo`` (said in one line). ``--data`` forces one.

Every training is a plain ``tools/train.py`` run (its mmengine log streams
to the terminal and lands in its work dir), chained by checkpoint paths
given as ``--cfg-options``. The tool prints one table and writes
``summary.json`` and ``summary.png`` (the curves) to the work dir, then a
few pictures of what the models do under ``<work dir>/pictures/``
(``--no-pictures`` skips them).

A finished training (``done.json`` in its work dir) is skipped on the next
run unless ``--force``; ``--cfg-options`` entries are added to every
training (the tests use them to shrink the runs).

Example::

    python tools/demo_pipeline.py --amp                 # make demo
    python tools/demo_pipeline.py --tasks modelnet40 scanobjectnn
    python tools/demo_pipeline.py --data procedural
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

from act_mmdet3d.utils import last_val, run_stage, train_curve, val_curve

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: teacher -> (Stage I config, Stage II config)
TEACHERS = {
    'pretrained': ('configs/demo/act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py',
                   'configs/demo/act_vit-s_1xb16-coslr-3e_shapenet55-demo.py'),
    'random': ('configs/demo/act-autoencoder_minilm-l6-random_1xb8-coslr-2e_shapenet55-demo.py',
               'configs/demo/act_vit-s_1xb16-coslr-3e_shapenet55-demo-random-teacher.py'),
}
#: the three students of the question, in table order
STUDENTS = {
    'pretrained': '(a) pretrained teacher (MiniLM)',
    'random': '(b) random-weight teacher',
    'scratch': '(c) from scratch',
}
STAGE1_CONFIG, STAGE2_CONFIG = TEACHERS['pretrained']
#: the converted real shapes (tools/dataset_converters/sweethome3d.py)
REAL_ROOT = 'data/real'
TASK_CONFIGS = {
    'modelnet40': 'configs/demo/vit-s_1xb16-coslr-6e_modelnet40-demo.py',
    'scanobjectnn': 'configs/demo/vit-s_1xb8-coslr-4e_scanobjectnn-objbg-demo.py',
    'shapenetpart': 'configs/demo/vit-s_1xb16-coslr-4e_shapenetpart-demo.py',
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
        '--data', choices=('auto', 'real', 'procedural'), default='auto',
        help=f'real: the converted shapes of {REAL_ROOT}; procedural: '
        'data/demo; auto (default): real when converted')
    parser.add_argument(
        '--svm-c', default='cv',
        help="the linear SVM's C: a number, or cv (default: 5-fold CV on "
        "the training features; ACT's own probe is LinearSVC(), C=1)")
    parser.add_argument(
        '--svm-raw', action='store_true',
        help='probe the raw features (ACT\'s probe) instead of z-scored '
        'ones (the default: a short Stage II leaves features with a large '
        'shared offset, on which liblinear stops unconverged)')
    parser.add_argument(
        '--svm-cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
        help='added to the SVM probes only (e.g. a subset of the splits: '
        'train_dataloader.dataset.indices=[0,15,30])')
    parser.add_argument(
        '--amp', action='store_true',
        help='bfloat16 autocast in every training (BF16AutocastOptimWrapper, '
        'as tools/train.py --amp on a CPU) and the frozen Stage II teacher '
        'in bfloat16 (model.teacher_dtype): 1.5-1.7x faster steps on CPUs '
        'with AMX; make demo uses it (the README\'s 3-seed study compares '
        'it with float32)')
    parser.add_argument(
        '--no-pictures', action='store_true',
        help='do not draw the pictures under <work dir>/pictures')
    return parser.parse_args(argv)


# ------------------------------------------------------------- the data
def data_options(data: str) -> dict:
    """Per-stage ``--cfg-options`` that point the demo configs at the
    chosen data: ``{'stage1': [...], 'stage2': [...], 'modelnet40': [...]}``
    (Stage II has no validation loader to point anywhere; empty for
    the procedural data the configs name), and a one-line description."""
    summary = osp.join(ROOT, REAL_ROOT, 'summary.json')
    real = osp.isfile(summary)
    if data == 'real' and not real:
        raise FileNotFoundError(
            f'{summary} not found: fetch and convert the real shapes first '
            '(make demo-data)')
    if data == 'procedural' or not real:
        note = ('data: the procedural demo clouds (data/demo)' +
                ('' if data == 'procedural' else
                 f'; the real shapes are not converted ({REAL_ROOT} '
                 'missing: make demo-data fetches them)'))
        return dict(stage1=[], stage2=[], modelnet40=[]), note
    with open(summary) as f:
        meta = json.load(f)
    sn = f'{REAL_ROOT}/ShapeNet55-34'
    mn = f'{REAL_ROOT}/ModelNet/modelnet40_normal_resampled'
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    note = (f'data: {meta["models"]} real shapes of {meta["source"]} '
            f'({REAL_ROOT}): pretraining on {meta["pretrain"]["train"]}, '
            f'{len(meta["classes"])} classes with '
            f'{meta["classification"]["train"]} train / '
            f'{meta["classification"]["test"]} held-out test shapes')
    # pretraining never sees the held-out classification shapes: their
    # clouds are the ShapeNet-55 'test' list, so Stage II (the paper's
    # split='whole') reads 'train' only
    train = [f'train_dataloader.dataset.data_root={sn}',
             'train_dataloader.dataset.split=train']
    return dict(
        stage1=train + [f'{k}.dataset.data_root={sn}' for k in loaders[1:]],
        stage2=train,
        modelnet40=[f'{k}.dataset.data_root={mn}' for k in loaders] +
        [f'model.head.num_classes={len(meta["classes"])}']), note


def run_tool(name, cmd, out_json):
    """Run a tool that writes ``out_json``; returns what it wrote."""
    print(f'\n=== {name}: {" ".join(cmd[1:])}', flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0 or not osp.isfile(out_json):
        raise RuntimeError(f'{name} failed (exit {proc.returncode}): see the '
                           'log above')
    with open(out_json) as f:
        return json.load(f)


# --------------------------------------------------------------- report
def summarise(teachers, students, note, work_dir):
    """Print the table, write summary.json / summary.png; returns the
    summary dict."""
    summary = dict(data=note, teachers={}, students={})
    seconds = 0.
    for name, t in teachers.items():
        s1, s2 = t['stage1'], t['stage2']
        _, l1 = train_curve(s1['scalars'], 'loss')
        _, l2 = train_curve(s2['scalars'], 'loss')
        _, c2 = train_curve(s2['scalars'], 'cos_sim')
        div = t['targets']
        layer = next(iter(div['layers']))
        summary['teachers'][name] = dict(
            stage1=dict(seconds=s1['seconds'], checkpoint=s1['checkpoint'],
                        loss_first=l1[0], loss_last=l1[-1],
                        val_CDL1=last_val(s1['scalars'], 'CDL1')),
            stage2=dict(seconds=s2['seconds'], checkpoint=s2['checkpoint'],
                        loss_first=l2[0], loss_last=l2[-1],
                        cos_last=c2[-1] if c2 else None),
            targets=dict(layer=layer, **div['layers'][layer],
                         **div['codes']))
        seconds += s1['seconds'] + s2['seconds']
    for name, st in students.items():
        entry = dict(svm_accuracy=st['svm']['accuracy'],
                     svm_mean_class_accuracy=st['svm'][
                         'mean_class_accuracy'],
                     finetune={})
        for task, r in st['finetune'].items():
            entry['finetune'][task] = dict(
                seconds=r['seconds'], checkpoint=r['checkpoint'],
                **{m: last_val(r['scalars'], m)
                   for m, _ in TASK_METRICS[task]})
            seconds += r['seconds']
        summary['students'][name] = entry
    summary['total_seconds'] = seconds

    def mark(record):
        return '' if record.get('ran', True) else '*'

    lines = ['', 'ACT demo: does a pretrained teacher make a better student? '
             '(seed 0, last epoch; * = finished by an earlier run)', note, '']
    tasks = list(next(iter(students.values()))['finetune'])
    head = f'{"student":<34}{"SVM acc":>9}' + ''.join(
        f'{TASK_METRICS[t][0][1] + " " + t:>22}' for t in tasks)
    lines += [head, '-' * len(head)]
    for name, entry in summary['students'].items():
        tuned = entry['finetune']
        lines.append(f'{STUDENTS[name]:<34}{entry["svm_accuracy"]:>8.1f}%' +
                     ''.join(f'{tuned[t][TASK_METRICS[t][0][0]]:>21.1f}%'
                             for t in tasks))
    lines += ['', f'{"teacher":<12}{"Stage I":>9}{"CD-L1x1000":>11}'
              f'{"Stage II":>10}{"last cos":>9}   Stage II targets '
              '(cos to mean / constant share / eff. rank / codes ppl)']
    for name, t in summary['teachers'].items():
        rec = teachers[name]
        tg = t['targets']
        cos = t['stage2']['cos_last']
        lines.append(
            f'{name:<12}{t["stage1"]["seconds"] / 60:>7.1f}m'
            f'{mark(rec["stage1"]):1}{t["stage1"]["val_CDL1"]:>10.1f}'
            f'{t["stage2"]["seconds"] / 60:>9.1f}m{mark(rec["stage2"]):1}'
            f'{cos if cos is not None else float("nan"):>8.3f}   '
            f'{tg["cos_to_mean"]:.3f} / {tg["constant_share"]:.3f} / '
            f'{tg["effective_rank"]:.1f} / {tg["sampled_perplexity"]:.0f} '
            f'of {tg["num_tokens"]}')
    lines.append(f'training time in all: {seconds / 60:.1f} min')
    print('\n'.join(lines), flush=True)

    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    plot(teachers, students, osp.join(work_dir, 'summary.png'))
    print(f'\nwrote {osp.join(work_dir, "summary.json")} and summary.png',
          flush=True)
    return summary


def plot(teachers, students, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    tasks = list(next(iter(students.values()))['finetune'])
    fig, axes = plt.subplots(1, 2 + len(tasks),
                             figsize=(5 * (2 + len(tasks)), 4))
    for name, t in teachers.items():
        axes[0].plot(*train_curve(t['stage1']['scalars'], 'loss'),
                     label=f'{name} teacher')
        axes[1].plot(*train_curve(t['stage2']['scalars'], 'loss'),
                     label=f'from the {name} teacher')
    axes[0].set(title='Stage I: teacher autoencoder', xlabel='iteration',
                ylabel='loss (CD-L1 coarse + fine + KL)')
    axes[1].set(title='Stage II: masked distillation', xlabel='iteration',
                ylabel='loss = 1 - mean cos')
    axes[1].set_yscale('log')
    for ax in axes[:2]:
        ax.legend()
    styles = dict(pretrained='-', random='--', scratch=':')
    for ax, task in zip(axes[2:], tasks):
        key, label = TASK_METRICS[task][0]
        for name, st in students.items():
            ax.plot(*val_curve(st['finetune'][task]['scalars'], key),
                    marker='o', linestyle=styles[name], label=STUDENTS[name])
        ax.set(title=f'fine-tune {task}: validation {label}',
               xlabel='epoch', ylabel=f'{label} (%)')
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------- pictures
#: (width, height) of the demo's pictures
PICTURE_SIZE = (720, 480)


def write_pictures(teachers, students, work_dir):
    """Draw the demo's pictures under ``<work_dir>/pictures`` in-process
    (act_mmdet3d.visualization, as tools/analysis_tools/visualize.py):
    sample 0 of each stage's first split (test; train for Stage II, which
    has none) of the pretrained teacher's run, with the stage's own config
    options, and the fine-tune curves of the three students. Returns the
    files."""
    import act_mmdet3d.compat.install  # noqa: F401  (checkpoint loading)
    from act_mmdet3d.visualization import render, render_curves
    out = osp.abspath(osp.join(work_dir, 'pictures'))
    s1 = teachers['pretrained']['stage1']
    s2 = teachers['pretrained']['stage2']
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
        for task in next(iter(students.values()))['finetune']:
            paths.append(render_curves(
                [st['finetune'][task]['work_dir']
                 for st in students.values()],
                osp.join(out, f'curves_{task}.png'),
                labels=[STUDENTS[n] for n in students],
                title=f'fine-tune {task}: the three students'))
            if task == 'shapenetpart':
                run = students['pretrained']['finetune'][task]
                paths += render('partseg', run['config'], run['checkpoint'],
                                out_dir=out, cfg_options=run['cfg_options'],
                                draw_kwargs=size)
    finally:
        os.chdir(cwd)
    print(f'wrote {len(paths)} pictures to {out}', flush=True)
    return paths


def bf16_options():
    """``{'stage1' | 'stage2' | 'finetune': ['key=value', ...]}``: the one
    bfloat16 definition, ``configs/_base_/bf16.py``, as --cfg-options."""
    bf16 = Config.fromfile(osp.join(ROOT, 'configs/_base_/bf16.py')).bf16
    stages = {'stage1': [], 'stage2': [], 'finetune': []}
    for key, value in bf16.items():
        stage, option = key.split('.', 1)
        stages[stage].append(f'{option}={value}')
    if stages['stage1'] != stages['finetune'] or \
            not set(stages['stage1']) <= set(stages['stage2']):
        raise ValueError('configs/_base_/bf16.py: --amp applies the Stage I '
                         'options to every stage; keep them in all three')
    return stages


def main(argv=None):
    args = parse_args(argv)
    work_dir = args.work_dir
    os.makedirs(work_dir, exist_ok=True)
    opts = list(args.cfg_options)
    teacher_opts = []
    if args.amp:
        # config options, not a train.py flag: done.json records them, so a
        # change of precision reruns the stage
        bf16 = bf16_options()
        opts += bf16['stage1']
        teacher_opts = [o for o in bf16['stage2'] if o not in opts]
    data_opts, note = data_options(args.data)
    print(note, flush=True)
    teachers = {}
    for name, (stage1_cfg, stage2_cfg) in TEACHERS.items():
        sub = '' if name == 'pretrained' else f'_{name}'
        s1 = run_stage(f'Stage I ({name} teacher autoencoder)', stage1_cfg,
                       osp.join(work_dir, f'autoencoder{sub}'),
                       data_opts['stage1'] + opts, args.force)
        # a stage that ran again makes every stage that reads it run again
        s2_opts = data_opts['stage2'] + opts + teacher_opts + [
            'model.target_generator.init_cfg.checkpoint=' + s1['checkpoint']
        ]
        targets_json = osp.join(work_dir, f'targets{sub}.json')
        targets = run_tool(
            f'Stage II targets of the {name} teacher',
            [sys.executable,
             osp.join(ROOT, 'tools/analysis_tools/target_diversity.py'),
             stage2_cfg, s1['checkpoint'], '--out', targets_json,
             '--cfg-options', *s2_opts], targets_json)
        s2 = run_stage(f'Stage II (distilled from the {name} teacher)',
                       stage2_cfg, osp.join(work_dir, f'pretrain{sub}'),
                       s2_opts, args.force or s1['ran'])
        teachers[name] = dict(stage1=s1, stage2=s2, targets=targets)
    students = {}
    for name in STUDENTS:
        checkpoint = teachers[name]['stage2']['checkpoint'] \
            if name in teachers else None
        fresh = name in teachers and teachers[name]['stage2']['ran']
        students[name] = dict(finetune={})
        for task in args.tasks:
            task_opts = data_opts.get(task, []) + opts
            extra = []
            if checkpoint:
                extra = ['model.backbone.init_cfg.type=Pretrained',
                         f'model.backbone.init_cfg.checkpoint={checkpoint}',
                         'model.backbone.init_cfg.prefix=backbone.']
            students[name]['finetune'][task] = run_stage(
                f'fine-tune {task} ({STUDENTS[name]})', TASK_CONFIGS[task],
                osp.join(work_dir, f'finetune_{task}_{name}'),
                task_opts + extra, args.force or fresh)
        svm_json = osp.join(work_dir, f'svm_{name}.json')
        cmd = [sys.executable,
               osp.join(ROOT, 'tools/analysis_tools/svm_probe.py'),
               TASK_CONFIGS['modelnet40']]
        if checkpoint:
            cmd.append(checkpoint)
        cmd += ['--C', str(args.svm_c), '--max-iter', '10000',
                '--out', svm_json]
        if not args.svm_raw:
            cmd.append('--standardize')
        # the training options (epochs, batch, subsets) are not the probe's
        svm_opts = data_opts['modelnet40'] + list(args.svm_cfg_options)
        if svm_opts:
            cmd += ['--cfg-options', *svm_opts]
        students[name]['svm'] = run_tool(
            f'linear SVM probe ({STUDENTS[name]})', cmd, svm_json)
    summary = summarise(teachers, students, note, work_dir)
    if not args.no_pictures:
        summary['pictures'] = write_pictures(teachers, students, work_dir)
    return summary


if __name__ == '__main__':
    main()
