"""ACT (Autoencoders as Cross-Modal Teachers) for MMDetection3D.

Importing the package registers every module of the project into mmdet3d's
registries and applies the runtime compatibility fixes of
:mod:`act_mmdet3d.engine.compat`.
"""
from .version import __version__
from .engine.compat import apply_compat_patches

apply_compat_patches()

# mmdet3d's own modules (data preprocessors, transforms, metrics) must be in
# its registries before our configs refer to them.
from mmdet3d.utils import register_all_modules  # noqa: E402

register_all_modules(init_default_scope=False)

from . import ops  # noqa: E402,F401
from . import models  # noqa: E402,F401
from . import datasets  # noqa: E402,F401
from . import evaluation  # noqa: E402,F401
from . import engine  # noqa: E402,F401
from . import visualization  # noqa: E402,F401

__all__ = ['__version__']
