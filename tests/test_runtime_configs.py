"""Runtime choices live in the configs: every training config names the
atomic checkpoint hook, the RNG-state hook and the exact-resume loop, and
applies the compat fixes through custom_imports; tools/train.py trains a
config as written."""
import glob
import os.path as osp
import sys

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(path, ROOT)
    for folder in ('act', 'demo', '3detr')
    for path in glob.glob(osp.join(ROOT, 'configs', folder, '*.py')))


@pytest.mark.parametrize('config', CONFIGS)
def test_config_names_the_reliable_runtime(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.custom_imports.imports[:2] == [
        'act_mmdet3d', 'act_mmdet3d.compat.install'
    ]
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.default_hooks.rng_state.type == 'RNGStateHook'
    assert cfg.train_cfg.type == 'ExactResumeEpochBasedTrainLoop'


def test_train_tool_trains_the_config_as_written(tmp_path):
    path = tmp_path / 'plain_runtime.py'
    path.write_text(
        f"_base_ = ['{ROOT}/configs/demo/vit-s_1xb16-coslr-6e_modelnet40-demo.py']\n"
        "default_hooks = dict(checkpoint=dict(type='CheckpointHook'))\n"
        "train_cfg = dict(type='EpochBasedTrainLoop')\n")
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        import train
    finally:
        sys.path.pop(0)
    cfg = train.build_config(
        train.parse_args([str(path), '--work-dir', str(tmp_path / 'w')]))
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop'
