"""The ACT analysis as one table: teacher / target ablations over a grid.

For every cell of a grid (e.g. ``teacher=pretrained,random,none`` x
``target=act,mae``) and every seed, this runs

    Stage I    the teacher autoencoder      (skipped when the target
                                              needs no teacher)
    Stage II   masked modeling              (loads that teacher strictly;
                                              target=scratch skips Stage I
                                              and II: the random init)
    SVM probe  frozen Stage II student -> LinearSVC (svm_probe.py)
    fine-tune  the downstream config from the Stage II student

and writes one table of mean +- sample std over the seeds.

A *study config* (``configs/ablation/demo.py``, ``paper.py``) names the
three stage configs, the seeds, overrides common to every cell, the SVM
settings, the figures and the *axes* (``configs/ablation/_base_/axes.py``):
each axis value is a set of config keys, ``STAGE.dotted.key`` with STAGE
one of ``stage1``, ``stage2``, ``finetune`` or ``teacher`` (Stage I's
``model`` and Stage II's ``model.target_generator`` at once). ``--grid``
picks axes and values; ``STAGE:dotted.key=V1,V2`` is an ad-hoc axis.

Every stage config of every cell is resolved, written complete to
``WORK_DIR/configs/<stage>-<hash>.py`` (``python tools/train.py`` on it
reruns that stage) and trained with ``tools/train.py`` into
``WORK_DIR/runs/<stage>-<hash>/``. The hash covers the resolved config,
which names the checkpoints of the runs it reads, so cells that resolve to
the same run share it (every ``target=mae`` cell shares one Stage II
whatever its teacher axes say) and a run whose inputs changed is never
taken for a finished one. Resumable: a finished run (``done.json``) and a
finished cell (``WORK_DIR/cells/<cell>/seed<S>.json``) are not run again,
so an interrupted grid goes on where it stopped (``--force`` reruns all).
Cells run seed by seed: a grid stopped early still has whole tables for
its first seeds.

Out: ``results.md`` (the table), ``results.csv`` (mean, std, n of every
figure), ``runs.csv`` (one row per cell and seed with its run hashes).

Example::

    python tools/analysis_tools/ablate.py configs/ablation/demo.py
    python tools/analysis_tools/ablate.py configs/ablation/demo.py \
        --grid teacher=random,none prompts=deep,none --seeds 0 1 2
    python tools/analysis_tools/ablate.py configs/ablation/demo.py \
        --grid layer=output,block.-1,codebook \
        stage2:model.backbone.mask_ratio=0.6,0.8
"""
import argparse
import ast
import copy
import csv
import hashlib
import itertools
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

from act_mmdet3d.utils import last_val, run_stage, train_curve

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SVM_PROBE = osp.join(ROOT, 'tools', 'analysis_tools', 'svm_probe.py')

STAGES = ('stage1', 'stage2', 'finetune')
#: the pseudo-stage that writes the teacher of Stage I and Stage II at once:
#: stage -> the config key of the teacher model in it
TEACHER_TARGETS = {'stage1': 'model', 'stage2': 'model.target_generator'}


#: the Stage II override of an axis value that skips pretraining (Stage I
#: and II): the student is the fine-tune config's seeded random init
SKIP_PRETRAINING = '_skip_'


class StudyError(ValueError):
    """A study config, grid or variable is wrong (the message says which)."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Run the ACT analysis grid: Stage I -> Stage II -> SVM '
        'probe + fine-tune per cell and seed, one table')
    parser.add_argument('study', help='study config, e.g. '
                        'configs/ablation/demo.py')
    parser.add_argument(
        '--grid', nargs='+', metavar='AXIS=V1,V2',
        help='axes and their values (replaces the study\'s grid); AXIS is '
        'an axis of the study or STAGE:dotted.key')
    parser.add_argument('--seeds', nargs='+', type=int,
                        help='seeds (replaces the study\'s)')
    parser.add_argument('--set', nargs='+', default=[], metavar='NAME=VALUE',
                        dest='variables',
                        help='study variables, e.g. vit_weights=...')
    parser.add_argument('--work-dir', help='default: work_dirs/ablation/'
                        '<study name>')
    parser.add_argument('--force', action='store_true',
                        help='rerun finished runs and cells')
    parser.add_argument('--dry-run', action='store_true',
                        help='write the resolved configs and list the runs, '
                        'train nothing')
    return parser.parse_args(argv)


# ------------------------------------------------------------ the study
def parse_value(text: str):
    """A grid value: a Python literal when it reads as one, else the
    string (``0.6`` -> 0.6, ``None`` -> None, ``block.-1`` -> 'block.-1')."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_grid(items: List[str]) -> Dict[str, list]:
    grid = {}
    for item in items:
        name, sep, values = item.partition('=')
        if not sep or not name or not values:
            raise StudyError(f'--grid {item!r}: expected AXIS=V1,V2,...')
        grid[name] = [parse_value(v) for v in values.split(',')]
    return grid


def axis_overrides(axes: dict, name: str, value) -> Dict[str, object]:
    """The ``STAGE.key -> value`` overrides of one axis value."""
    if ':' in name:  # ad-hoc axis STAGE:dotted.key
        stage, _, key = name.partition(':')
        if stage not in STAGES + ('teacher', ):
            raise StudyError(f'grid axis {name!r}: stage must be one of '
                             f'{STAGES + ("teacher", )}')
        return {f'{stage}.{key}': value}
    if name not in axes:
        raise StudyError(f'grid axis {name!r} is not an axis of the study '
                         f'({sorted(axes)}) nor STAGE:dotted.key')
    axis = axes[name]
    if 'key' in axis:  # key axis
        return {axis['key']: value, **dict(axis.get('also', {}))}
    if str(value) not in axis:
        raise StudyError(f'grid axis {name!r} has no value {value!r} '
                         f'(values: {sorted(axis)})')
    return dict(axis[str(value)])


def substitute(value, variables: dict, where: str):
    """Replace ``'{name}'`` strings by study variables (recursively)."""
    if isinstance(value, str) and value.startswith('{') \
            and value.endswith('}'):
        name = value[1:-1]
        if variables.get(name) is None:
            raise StudyError(f'{where} needs the study variable {name!r}: '
                             f'pass --set {name}=VALUE')
        return variables[name]
    if isinstance(value, dict):
        return {k: substitute(v, variables, where) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables, where) for v in value]
    return value


def split_stages(overrides: Dict[str, object]) -> Dict[str, dict]:
    """``STAGE.dotted.key`` overrides -> ``{stage: {dotted.key: value}}``,
    with ``teacher.*`` written into both teacher models."""
    out = {stage: {} for stage in STAGES}
    for full_key, value in overrides.items():
        stage, _, key = full_key.partition('.')
        if stage == 'teacher':
            for st, prefix in TEACHER_TARGETS.items():
                out[st][f'{prefix}.{key}'] = copy.deepcopy(value)
        elif stage in STAGES and key:
            out[stage][key] = copy.deepcopy(value)
        else:
            raise StudyError(f'override {full_key!r}: keys are '
                             f'STAGE.dotted.key with STAGE in '
                             f'{STAGES + ("teacher", )}')
    return out


def cell_name(assignment: Dict[str, object]) -> str:
    return ' '.join(f'{k}={v}' for k, v in assignment.items())


def cell_dirname(assignment: Dict[str, object]) -> str:
    safe = ''.join(c if c.isalnum() or c in '.-' else '_'
                   for c in '__'.join(f'{k}-{v}'
                                      for k, v in assignment.items()))
    return safe or 'base'


def expand_cells(study, grid: Dict[str, list], variables: dict) -> List[dict]:
    """Every cell of the grid with its per-stage overrides (variables
    substituted), checked before anything runs."""
    cells = []
    names = list(grid)
    for values in itertools.product(*(grid[n] for n in names)):
        assignment = dict(zip(names, values))
        overrides = dict(study.get('common', {}))
        for name, value in assignment.items():
            overrides.update(axis_overrides(study.axes, name, value))
        where = f'cell {cell_name(assignment)!r}'
        overrides = substitute(overrides, variables, where)
        cells.append(dict(assignment=assignment, name=cell_name(assignment),
                          dirname=cell_dirname(assignment),
                          stages=split_stages(overrides)))
    return cells


# ------------------------------------------------------- stage configs
def resolve_config(path: str, overrides: dict, seed: int):
    """The stage config with the overrides and the seed merged in."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, path))
    cfg.merge_from_dict(copy.deepcopy(overrides))
    cfg.merge_from_dict({'randomness.seed': seed})
    return cfg


def target_kind(cfg) -> str:
    """'points' when the Stage II head reconstructs points (no teacher),
    else 'features' (``ACTPretrainer``'s own rule)."""
    from act_mmdet3d.models.pretrainers.act_pretrainer import head_target
    try:
        return head_target(cfg.model.head)
    except KeyError as e:
        raise StudyError(f'stage2 model.head: {e.args[0]}') from None


def write_config(cfg, stage: str, work_dir: str) -> Dict[str, str]:
    """Dump ``cfg`` to ``configs/<stage>-<hash>.py``; returns its paths."""
    text = cfg.pretty_text
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    name = f'{stage}-{digest}'
    path = osp.join(work_dir, 'configs', name + '.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not osp.isfile(path):
        cfg.dump(path)
    return dict(name=name, config=path,
                run_dir=osp.join(work_dir, 'runs', name))


def plan_cell(study, cell: dict, seed: int, work_dir: str) -> dict:
    """Resolve and write the stage configs of one cell and seed.

    Stage II reads the Stage I checkpoint and the fine-tune the Stage II
    one through files named by the upstream run's hash, so a hash changes
    whenever anything upstream does. Returns ``{stage: run}``.
    """
    stages = copy.deepcopy(cell['stages'])
    plan = {}
    finetune = resolve_config(study.stages['finetune'], stages['finetune'],
                              seed)
    svm = dict(study.get('svm', {}))
    if stages['stage2'].pop(SKIP_PRETRAINING, False):
        # the from-scratch student: no Stage I / II, the seeded random init
        plan['finetune'] = write_config(finetune, 'finetune', work_dir)
        probe_cfg = copy.deepcopy(finetune)
        probe_cfg.merge_from_dict({'ablation_svm': dict(svm, checkpoint=None)})
        plan['svm'] = write_config(probe_cfg, 'svm', work_dir)
        plan['svm'].update(options=svm, checkpoint=None)
        return plan
    stage2 = resolve_config(study.stages['stage2'], stages['stage2'], seed)
    if target_kind(stage2) == 'points':
        stage2.model.target_generator = None  # no teacher, no Stage I
    else:
        stage1 = resolve_config(study.stages['stage1'], stages['stage1'],
                                seed)
        plan['stage1'] = write_config(stage1, 'stage1', work_dir)
        stage2.model.target_generator.init_cfg = dict(
            type='Pretrained',
            checkpoint=osp.join(plan['stage1']['run_dir'], 'final.pth'))
    plan['stage2'] = write_config(stage2, 'stage2', work_dir)
    student = osp.join(plan['stage2']['run_dir'], 'final.pth')
    probe_cfg = copy.deepcopy(finetune)
    finetune.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=student, prefix='backbone.')
    plan['finetune'] = write_config(finetune, 'finetune', work_dir)
    probe_cfg.merge_from_dict({'ablation_svm': dict(svm, checkpoint=student)})
    plan['svm'] = write_config(probe_cfg, 'svm', work_dir)
    plan['svm']['options'] = svm
    plan['svm']['checkpoint'] = student
    return plan


# ----------------------------------------------------------------- runs
def train(run: dict, label: str, force: bool) -> dict:
    """Train one stage run (skipped when finished); links its last
    checkpoint as ``final.pth`` for the runs that read it."""
    record = run_stage(label, run['config'], run['run_dir'], [], force)
    final = osp.join(run['run_dir'], 'final.pth')
    if osp.realpath(final) != osp.realpath(record['checkpoint']):
        tmp = final + '.tmp'
        if osp.lexists(tmp):
            os.remove(tmp)
        os.symlink(osp.relpath(record['checkpoint'], run['run_dir']), tmp)
        os.replace(tmp, final)
    return record


def svm_probe(run: dict, label: str, seed: int, force: bool) -> dict:
    out = osp.join(run['run_dir'], 'svm.json')
    if osp.isfile(out) and not force:
        print(f'\n=== {label}: done before, skipped ({out})', flush=True)
        with open(out) as f:
            return json.load(f)
    options = run['options']
    cmd = [sys.executable, SVM_PROBE,
           run['config'], *([run['checkpoint']] if run['checkpoint'] else []),
           '--out', out + '.tmp', '--seed', str(seed)]
    for key in ('C', 'max_iter', 'batch_size'):
        if key in options:
            cmd += [f'--{key.replace("_", "-")}', str(options[key])]
    if options.get('standardize'):
        cmd.append('--standardize')
    print(f'\n=== {label}: {" ".join(cmd[1:])}', flush=True)
    if subprocess.run(cmd, cwd=ROOT).returncode != 0:
        raise RuntimeError(f'{label} failed: see the log above')
    os.replace(out + '.tmp', out)
    with open(out) as f:
        return json.load(f)


def figure_value(records: dict, stage: str, key: str) -> Optional[float]:
    """One figure of a cell: the last validation value of ``key`` in the
    stage's log (the last training value for ``loss``), or the SVM
    result's ``key``; None when the stage did not run (no teacher)."""
    record = records.get(stage)
    if record is None:
        return None
    if stage == 'svm':
        return float(record[key])
    scalars = record['scalars']
    if key == 'loss':
        _, values = train_curve(scalars, 'loss')
        return float(values[-1]) if values else None
    try:
        return float(last_val(scalars, key))
    except KeyError:
        print(f'warning: {record["work_dir"]} logged no validation {key!r} '
              '(is train_cfg.val_interval above max_epochs?)', flush=True)
        return None


def run_cell(study, cell: dict, seed: int, plan: dict, work_dir: str,
             force: bool, progress: str) -> dict:
    out = osp.join(work_dir, 'cells', cell['dirname'], f'seed{seed}.json')
    if osp.isfile(out) and not force:
        with open(out) as f:
            result = json.load(f)
        if result.get('runs') == {k: v['name'] for k, v in plan.items()}:
            print(f'\n=== {progress} {cell["name"]} seed {seed}: done '
                  f'before, skipped ({out})', flush=True)
            return result
    start = time.perf_counter()
    records = {}
    for stage in ('stage1', 'stage2', 'finetune'):
        if stage in plan:
            records[stage] = train(
                plan[stage], f'{progress} {cell["name"]} seed {seed}: '
                f'{stage} ({plan[stage]["name"]})', force)
    records['svm'] = svm_probe(
        plan['svm'], f'{progress} {cell["name"]} seed {seed}: SVM probe '
        f'({plan["svm"]["name"]})', seed, force)
    result = dict(
        cell=cell['name'], assignment=cell['assignment'], seed=seed,
        runs={k: v['name'] for k, v in plan.items()},
        figures={name: figure_value(records, stage, key)
                 for name, stage, key in study.figures},
        seconds=round(time.perf_counter() - start, 1))
    os.makedirs(osp.dirname(out), exist_ok=True)
    with open(out + '.tmp', 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(out + '.tmp', out)
    return result


# --------------------------------------------------------------- report
def mean_std(values: List[float]):
    """(mean, sample std or None, n) of the values that exist."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None, 0
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None, len(values)
    var = sum((v - mean)**2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var), len(values)


def fmt(mean, std):
    if mean is None:
        return '-'
    digits = 3 if abs(mean) < 1 else 2 if abs(mean) < 10 else 1
    text = f'{mean:.{digits}f}'
    if std is not None:
        text += f' +- {std:.{digits}f}'
    return text


def report(study, cells: List[dict], results: Dict[str, List[dict]],
           plans: Dict[str, List[dict]], work_dir: str) -> str:
    """Write results.md / results.csv / runs.csv; returns the markdown."""
    names = [name for name, _, _ in study.figures]
    axes = list(cells[0]['assignment']) if cells else []
    head = axes + names + ['seeds']
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + '---|' * len(head)]
    rows = []
    for cell in cells:
        done = results.get(cell['name'], [])
        stats = {n: mean_std([r['figures'][n] for r in done]) for n in names}
        lines.append('| ' + ' | '.join(
            [str(v) for v in cell['assignment'].values()] +
            [fmt(*stats[n][:2]) for n in names] +
            [str(len(done))]) + ' |')
        row = dict(cell['assignment'])
        for n in names:
            mean, std, count = stats[n]
            row.update({f'{n} mean': mean, f'{n} std': std, f'{n} n': count})
        rows.append(row)
    # runs shared by several cells (e.g. one Stage II for every mae cell)
    users = {}
    for cell in cells:
        for plan in plans.get(cell['name'], []):
            for stage, run in plan.items():
                users.setdefault(run['name'], set()).add(cell['name'])
    shared = sorted(n for n, u in users.items()
                    if len(u) > 1 and not n.startswith('svm'))
    seeds = sorted({r['seed'] for rs in results.values() for r in rs})
    notes = [f'Mean +- sample std over seeds {seeds} (last-epoch figures; '
             'one run per cell and seed); "-" = the stage has no such '
             'figure (no teacher, no Stage I).']
    if shared:
        notes.append('Runs shared by cells that resolve to the same config: '
                     + ', '.join(f'{n} ({"; ".join(sorted(users[n]))})'
                                 for n in shared) + '.')
    md = '\n'.join(lines) + '\n\n' + '\n'.join(notes) + '\n'
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(md)
    with open(osp.join(work_dir, 'results.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
    with open(osp.join(work_dir, 'runs.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['cell', 'seed', *STAGES, 'svm', *names, 'seconds'])
        for cell in cells:
            for r in results.get(cell['name'], []):
                writer.writerow([cell['name'], r['seed']] + [
                    r['runs'].get(s, '') for s in STAGES + ('svm', )
                ] + [r['figures'][n] for n in names] + [r['seconds']])
    return md


def load_study(path: str, args):
    from mmengine.config import Config
    if not osp.isfile(path):
        raise FileNotFoundError(f'study config not found: {path}')
    study = Config.fromfile(path)
    for key in ('stages', 'axes', 'grid', 'seeds', 'figures'):
        if key not in study:
            raise StudyError(f'study config {path} has no {key!r}')
    missing = [s for s in STAGES if s not in study.stages]
    if missing:
        raise StudyError(f'study config {path}: stages lacks {missing}')
    variables = dict(study.get('variables', {}))
    for item in args.variables:
        name, sep, value = item.partition('=')
        if not sep or not name:
            raise StudyError(f'--set {item!r}: expected NAME=VALUE')
        variables[name] = value
    grid = parse_grid(args.grid) if args.grid else dict(study.grid)
    seeds = args.seeds if args.seeds else list(study.seeds)
    return study, grid, seeds, variables


def main(argv=None) -> dict:
    args = parse_args(argv)
    study, grid, seeds, variables = load_study(args.study, args)
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'ablation', osp.splitext(osp.basename(args.study))[0])
    work_dir = osp.abspath(work_dir)
    cells = expand_cells(study, grid, variables)  # errors before any run
    os.makedirs(work_dir, exist_ok=True)
    plans = {c['name']: [plan_cell(study, c, s, work_dir) for s in seeds]
             for c in cells}
    total = len(cells) * len(seeds)
    runs = sorted({run['name'] for ps in plans.values() for p in ps
                   for run in p.values()})
    print(f'ablation {args.study}: {len(cells)} cells x {len(seeds)} seeds '
          f'= {total}, {len(runs)} distinct runs, work dir {work_dir}',
          flush=True)
    if args.dry_run:
        for cell in cells:
            for seed, plan in zip(seeds, plans[cell['name']]):
                print(f'  {cell["name"]} seed {seed}: ' + ', '.join(
                    f'{stage} {run["config"]}'
                    for stage, run in plan.items()))
        return dict(cells=cells, plans=plans, runs=runs, work_dir=work_dir)
    results: Dict[str, List[dict]] = {c['name']: [] for c in cells}
    start = time.perf_counter()
    step = 0
    for i, seed in enumerate(seeds):
        for cell in cells:
            step += 1
            result = run_cell(study, cell, seed, plans[cell['name']][i],
                              work_dir, args.force, f'[{step}/{total}]')
            results[cell['name']].append(result)
            report(study, cells, results, plans, work_dir)
    md = report(study, cells, results, plans, work_dir)
    minutes = (time.perf_counter() - start) / 60
    print(f'\nACT ablation ({args.study}, {total} cell runs, {minutes:.1f} '
          f'min)\n\n{md}\nwritten to {work_dir}/results.md, results.csv, '
          'runs.csv', flush=True)
    return dict(cells=cells, plans=plans, results=results, runs=runs,
                work_dir=work_dir, markdown=md)


if __name__ == '__main__':
    try:
        main()
    except StudyError as e:
        sys.exit(f'error: {e}')
