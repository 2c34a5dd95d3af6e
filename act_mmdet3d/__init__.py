"""ACT (Autoencoders as Cross-Modal Teachers) for MMDetection3D.

Importing the package registers every module of the project (and
mmdet3d's own) into mmdet3d's registries and changes nothing else: the
fixes to other libraries are in :mod:`act_mmdet3d.compat`, applied by the
tools and by configs' ``custom_imports``.
"""
from .version import __version__

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
