import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


@pytest.fixture(autouse=True, scope='session')
def _mmdet3d_default_scope():
    """Build from mmdet3d's registries, as configs do (default_scope)."""
    import act_mmdet3d  # noqa: F401
    from mmengine.registry import DefaultScope
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('act_mmdet3d_tests', scope_name='mmdet3d')
    yield
