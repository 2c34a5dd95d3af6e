"""The package's structure, drawn from its imports (issue 23's targets).

Static (ast) checks, so they hold without importing anything:

* no import cycle between the modules of ``act_mmdet3d``;
* no module imports "up": the layers below do not import the layers above
  (``ops`` and ``compat`` import nothing of ``models`` / ``datasets`` /
  ``engine`` ...).

``tests/test_tools_layout.py`` checks the tools (no tool imports a tool).
"""
import ast
import os
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PKG = 'act_mmdet3d'

# subpackage -> the subpackages it may import (besides itself)
ALLOWED = {
    'ops': set(),
    'compat': {'ops'},
    'utils': set(),
    'engine': {'ops', 'utils'},
    'models': {'ops', 'engine', 'utils'},
    'datasets': {'ops', 'utils'},
    # a metric knows its dataset's label space (ShapeNetPart's parts)
    'evaluation': {'ops', 'utils', 'datasets'},
    'converters': {'ops', 'engine', 'models', 'utils'},
    'visualization': {'ops', 'engine', 'models', 'datasets', 'evaluation',
                      'utils'},
}


def _modules():
    """Map module name -> file for every module of the package."""
    found = {}
    for dirpath, _, files in os.walk(osp.join(ROOT, PKG)):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = osp.join(dirpath, name)
            rel = osp.relpath(path, ROOT)[:-3].replace(os.sep, '.')
            if rel.endswith('.__init__'):
                rel = rel[:-len('.__init__')]
            found[rel] = path
    return found


def _imports(module, path, is_pkg):
    """Absolute names of the act_mmdet3d modules ``module`` imports."""
    tree = ast.parse(open(path).read(), path)
    base = module if is_pkg else module.rpartition('.')[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split('.')
                parts = parts[:len(parts) - node.level + 1]
                target = '.'.join(parts + ([node.module] if node.module
                                           else []))
            else:
                target = node.module or ''
            names.append(target)
            names += [f'{target}.{a.name}' for a in node.names]
    return {n for n in names if n == PKG or n.startswith(PKG + '.')}


def _graph():
    mods = _modules()
    graph = {}
    for mod, path in mods.items():
        is_pkg = path.endswith('__init__.py')
        graph[mod] = {n for n in _imports(mod, path, is_pkg) if n in mods
                      and n != mod}
    return graph


def _top(mod):
    parts = mod.split('.')
    return parts[1] if len(parts) > 1 else ''


def test_no_import_cycle():
    graph = _graph()
    # a package's __init__ importing its own submodules is not a cycle of
    # jobs: drop the edges from a package to the modules below it
    edges = {m: {n for n in deps if not n.startswith(m + '.')}
             for m, deps in graph.items()}
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert not cycles, '\n'.join(' -> '.join(c) for c in cycles)


def test_no_module_imports_up():
    bad = []
    for mod, deps in _graph().items():
        top = _top(mod)
        if top not in ALLOWED:
            continue
        for dep in deps:
            other = _top(dep)
            if other and other != top and other not in ALLOWED[top]:
                bad.append(f'{mod} imports {dep}')
    assert not bad, '\n'.join(sorted(bad))
