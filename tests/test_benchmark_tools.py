"""The benchmark tools' old paths, their shared helpers
(act_mmdet3d.utils.benchmark) and the ops section's timing loop."""
import importlib.util
import os.path as osp
import subprocess
import sys
import time

import pytest
import torch

from act_mmdet3d.utils.benchmark import format_table, measure

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.mark.parametrize('name',
                         ['benchmark', 'bench_backbone', 'bench_pretrain'])
def test_old_path_says_where_it_moved(name):
    assert osp.isfile(osp.join(ROOT, 'tools', 'analysis_tools', f'{name}.py'))
    proc = subprocess.run(
        [sys.executable, f'tools/{name}.py', '--only', 'ops'], cwd=ROOT,
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ''
    assert proc.stderr == (f'tools/{name}.py moved to '
                           f'tools/analysis_tools/{name}.py\n')


def test_measure_is_seconds_per_call_and_keeps_threads():
    threads = torch.get_num_threads()
    seen = []

    def sleep():
        seen.append(torch.get_num_threads())
        time.sleep(0.02)

    seconds = measure(sleep, max_run_time=0.2)
    assert 0.02 <= seconds < 0.1
    assert set(seen) == {threads}  # Timer's own default would be 1 thread
    # a slow call runs once after its warm-up, past the budget
    seen.clear()
    assert measure(sleep, max_run_time=0.001) >= 0.02
    assert len(seen) == 2


def test_format_table_columns_and_cells():
    rows = [dict(a=1.0, b='x'), dict(a=float('nan'), c=None, b=123.456)]
    text = format_table(rows).splitlines()
    assert text[1].split() == ['|', 'a', '|', 'b', '|', 'c', '|']
    assert text[3].split() == ['|', '1.00', '|', 'x', '|', '-', '|']
    assert text[4].split() == ['|', '-', '|', '123.5', '|', '-', '|']
    md = format_table(rows, columns=['b', 'a'], markdown=True).splitlines()
    assert md[0].split() == ['|', 'b', '|', 'a', '|']
    assert set(md[1]) <= set('|-')
    assert len(md) == 4
    assert format_table([]) == '(no rows)'


def test_ops_group_checks_the_timed_result_and_ratios_to_fastest_peer():
    spec = importlib.util.spec_from_file_location(
        'act_tools_benchmark',
        osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py'))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    calls = []

    def slow(x):
        time.sleep(0.01)
        return x + 1

    impls = [('ours', 'project', lambda x: x + 1, None),
             ('slow peer', 'peer', slow, 'how'),
             ('wrong peer', 'peer', lambda x: x, None)]
    rows = bench._time_group(
        'op', 'x=1', impls, lambda fn: fn(1),
        lambda got, how: calls.append(how) or f'got {got}', budget=0.05,
        progress=lambda msg: None)
    assert calls == [None, 'how', None]  # checked once, after the timing
    assert [r['result'] for r in rows] == ['got 2', 'got 2', 'got 1']
    assert [r['impl'] for r in rows] == ['ours', 'slow peer', 'wrong peer']
    assert rows[1]['ms'] >= 10 and rows[0]['ms'] < 1
    fastest = min(rows[1]['ms'], rows[2]['ms'])
    assert all(r['x fastest peer'] == r['ms'] / fastest for r in rows)
    summary = bench.ops_summary(rows)
    assert len(summary) == 1 and summary[0]['project ms'] == rows[0]['ms']
