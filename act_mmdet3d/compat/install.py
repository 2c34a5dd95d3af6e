"""Importing this module applies every fix of :mod:`act_mmdet3d.compat`
(for configs: ``custom_imports = dict(imports=['act_mmdet3d',
'act_mmdet3d.compat.install'])``)."""
from . import apply_all

apply_all()
