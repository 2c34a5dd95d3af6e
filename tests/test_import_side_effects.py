"""``import act_mmdet3d`` registers modules and changes nothing else.

In a fresh process, every torch / mmengine / mmcv / mmdet / mmdet3d module
that importing act_mmdet3d loads is imported first; the id of every
attribute of those modules (and of the classes they define, and the
values of their dict attributes) is recorded; then act_mmdet3d is
imported and nothing recorded may have been rebound. Dicts and registries
may gain entries (registration); an existing entry may not change.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBS = ('torch', 'mmengine', 'mmcv', 'mmdet', 'mmdet3d')

_LIST_MODULES = f"""
import json, sys
import act_mmdet3d
libs = {LIBS!r}
print('MODULES', json.dumps([name for name in sys.modules
                             if name.split('.')[0] in libs]))
"""

_CHECK = r"""
import importlib, json, sys
names = json.loads(sys.argv[1])
for name in names:  # the order act_mmdet3d's import loaded them in
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a module only loadable in context
        pass


def state():
    out = {}
    for name in names:
        module = sys.modules.get(name)
        if module is None:
            continue
        for attr, value in list(vars(module).items()):
            out[f'{name}.{attr}'] = id(value)
            owners = [value] if isinstance(value, dict) else []
            if isinstance(value, type) and value.__module__ == name:
                for key, member in list(vars(value).items()):
                    out[f'{name}.{attr}.{key}'] = id(member)
                    if isinstance(member, dict):
                        owners.append(member)
            for owner in owners:
                for key, item in list(owner.items()):
                    if isinstance(key, (str, int)):
                        out[f'{name}.{attr}[{key!r}]'] = id(item)
    return out


before = state()
import act_mmdet3d  # noqa: E402,F401
after = state()
changed = sorted(key for key, value in before.items()
                 if after.get(key, value) != value)
print('CHANGED', json.dumps(changed))
"""


def _run(code, *args):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', code, *args], cwd=ROOT,
                          env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tag, payload = proc.stdout.strip().splitlines()[-1].split(' ', 1)
    return json.loads(payload)


def test_importing_act_mmdet3d_rebinds_nothing_upstream():
    modules = _run(_LIST_MODULES)
    assert 'mmcv.ops' in modules and 'mmengine.runner' in modules
    changed = _run(_CHECK, json.dumps(modules))
    assert changed == [], (
        f'import act_mmdet3d rebound {len(changed)} attributes of torch / '
        f'mmengine / mmcv / mmdet / mmdet3d, e.g. {changed[:20]}')
