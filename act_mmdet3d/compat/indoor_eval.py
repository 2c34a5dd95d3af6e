"""mmdet3d 1.4's ``indoor_eval`` (hence ``IndoorMetric``) under numpy >= 2.4.

``indoor_eval`` keeps every per-class AP as a 1-element array and converts
the list of them with ``map(float, ...)``; numpy 2.4 made ``float()`` of a
1-d array an error ("only 0-dimensional arrays can be converted to Python
scalars"), so every ScanNet / SUN RGB-D evaluation fails after the
predictions are made. It also indexes the same values (``ap[label][0]``),
so they must stay 1-d: :func:`patch_indoor_eval` wraps ``eval_map_recall``
(looked up through the module's globals) so that its AP arrays are a 1-d
ndarray subclass that ``float()`` accepts. Values and keys are unchanged;
nothing on disk is edited. Idempotent.
"""
import functools
import importlib

import numpy as np


class _FloatableArray(np.ndarray):
    """A 1-element 1-d array that ``float()`` accepts (numpy >= 2.4)."""

    def __float__(self):
        return float(np.asarray(self).reshape(-1)[0])


def _floatable(value):
    arr = np.asarray(value)
    return arr.view(_FloatableArray) if arr.size == 1 else value


def patch_indoor_eval() -> bool:
    """Install the wrapper; returns True when it is in place."""
    try:
        # the package re-exports the function under the module's name
        module = importlib.import_module(
            'mmdet3d.evaluation.functional.indoor_eval')
    except Exception:  # noqa: BLE001 - mmdet3d without its evaluation deps
        return False
    original = module.eval_map_recall
    if getattr(original, '__act_mmdet3d_patched__', False):
        return True

    @functools.wraps(original)
    def eval_map_recall(pred, gt, ovthresh=None):
        recall, precision, ap = original(pred, gt, ovthresh)
        ap = [{k: _floatable(v) for k, v in per_thr.items()} for per_thr in ap]
        return recall, precision, ap

    eval_map_recall.__act_mmdet3d_patched__ = True
    module.eval_map_recall = eval_map_recall
    return True
