import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# the test suite is an entry point, as the tools are: it applies the fixes to
# other libraries (importing act_mmdet3d applies none)
from act_mmdet3d.compat import apply_all  # noqa: E402

apply_all()


@pytest.fixture(autouse=True, scope='session')
def _mmdet3d_default_scope():
    """Build from mmdet3d's registries, as configs do (default_scope)."""
    import act_mmdet3d  # noqa: F401
    from mmengine.registry import DefaultScope
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('act_mmdet3d_tests', scope_name='mmdet3d')
    yield


@pytest.fixture(autouse=True, scope='session')
def _demo_data():
    """Some tests train on the demo ShapeNet-55, ModelNet40, ScanObjectNN
    and ShapeNetPart data under data/demo (as the demo configs do): write
    them if missing (seconds; a no-op when complete)."""
    import subprocess
    proc = subprocess.run(
        [sys.executable, 'tools/dataset_converters/create_demo_data.py',
         '--only', 'shapenet55,modelnet40,scanobjectnn,shapenetpart'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    yield
