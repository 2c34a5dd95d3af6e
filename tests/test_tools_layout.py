"""tools/ laid out as mmdet3d's: an old tool path says where the tool moved
(one line, exit 2); no tool imports another tool or edits sys.path (the
shared helpers come from the installed package)."""
import ast
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(ROOT, 'tools')
#: old path under tools/ -> new path under tools/
MOVED = {
    'svm_probe.py': 'analysis_tools/svm_probe.py',
    'fewshot.py': 'analysis_tools/fewshot.py',
    'multi_seed.py': 'analysis_tools/multi_seed.py',
    'ablate.py': 'analysis_tools/ablate.py',
    'visualize.py': 'analysis_tools/visualize.py',
    'create_demo_data.py': 'dataset_converters/create_demo_data.py',
}
#: calls that load a file as a module (a tool importing a tool by path)
LOAD_BY_PATH = {'spec_from_file_location', 'run_path', 'SourceFileLoader'}


@pytest.mark.parametrize('old', sorted(MOVED))
def test_old_tool_path_says_where_it_moved(old):
    new = MOVED[old]
    assert osp.isfile(osp.join(TOOLS, new))
    proc = subprocess.run(
        [sys.executable, f'tools/{old}', '--help'], cwd=ROOT,
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ''
    assert proc.stderr == f'tools/{old} moved to tools/{new}\n'


def tool_modules():
    """Names a tool could import another tool by: every .py file's stem
    and every folder under tools/."""
    names = set()
    for base, dirs, files in os.walk(TOOLS):
        names.update(dirs)
        names.update(osp.splitext(f)[0] for f in files if f.endswith('.py'))
    return names - {'__pycache__'}


def violations(source: str, tools: set) -> list:
    """``(line, what)`` of every import of a tool, load of a file as a
    module and use of ``sys.path`` in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f'imports {a.name}') for a in node.names
                      if a.name.split('.')[0] in tools]
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module or '').split('.')[0] in tools:
                found.append((node.lineno, f'imports from {node.module}'))
            if node.module == 'sys' and any(a.name == 'path'
                                            for a in node.names):
                found.append((node.lineno, 'imports sys.path'))
        elif isinstance(node, ast.Attribute):
            if (node.attr == 'path' and isinstance(node.value, ast.Name)
                    and node.value.id == 'sys'):
                found.append((node.lineno, 'uses sys.path'))
            elif node.attr in LOAD_BY_PATH | {'addsitedir'}:
                found.append((node.lineno, f'calls {node.attr}'))
        elif isinstance(node, ast.Name) and node.id in LOAD_BY_PATH:
            found.append((node.lineno, f'calls {node.id}'))
    return sorted(found)


def test_the_check_finds_each_kind_of_violation():
    source = '\n'.join([
        'import sys', 'import os.path as osp',
        "sys.path.insert(0, 'tools')", 'from demo_pipeline import run_stage',
        'import train', 'from . import x', 'from sys import path',
        'import importlib.util as u', "u.spec_from_file_location('a', 'b')",
        'import act_mmdet3d.utils', 'from mmengine.config import Config',
        'print(osp.join(sys.prefix, "x"))'
    ])
    assert violations(source, {'demo_pipeline', 'train'}) == [
        (3, 'uses sys.path'), (4, 'imports from demo_pipeline'),
        (5, 'imports train'), (6, 'imports from None'),
        (7, 'imports sys.path'), (9, 'calls spec_from_file_location')
    ]


@pytest.mark.parametrize(
    'path', sorted(
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(TOOLS, '**', '*.py'), recursive=True)))
def test_no_tool_imports_a_tool_or_edits_sys_path(path):
    with open(osp.join(ROOT, path)) as f:
        source = f.read()
    assert violations(source, tool_modules()) == []
