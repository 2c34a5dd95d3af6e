"""PointDataPreprocessor (one (B, N, C) batch) and the strict prefix loader
``load_prefixed_state_dict``."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint

import act_mmdet3d  # noqa: F401
from act_mmdet3d.engine.checkpoint import load_prefixed_state_dict
from act_mmdet3d.models.data_preprocessors import (PointDataPreprocessor,
                                                   build_data_preprocessor)
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample

TINY_CLS = osp.join(osp.dirname(__file__), 'data', 'tiny_cls.py')


def _batch(*sizes):
    return dict(inputs=dict(points=[torch.rand(n, 3) for n in sizes]),
                data_samples=[Det3DDataSample() for _ in sizes])


def _classifier(seed=0):
    torch.manual_seed(seed)
    return MODELS.build(Config.fromfile(TINY_CLS).model).eval()


def test_preprocessor_stacks_equal_clouds_and_keeps_a_ragged_batch():
    data = _batch(64, 64, 64)
    out = PointDataPreprocessor()(data)
    assert len(out['data_samples']) == 3
    torch.testing.assert_close(out['inputs']['points'],
                               torch.stack(data['inputs']['points']))
    # whole scenes of different sizes (mmdet3d's slide inference) stay a
    # list of (N_i, C) clouds
    ragged = PointDataPreprocessor()(_batch(64, 48))['inputs']['points']
    assert [tuple(p.shape) for p in ragged] == [(64, 3), (48, 3)]


def test_default_preprocessor_is_built_without_an_mmdet3d_scope():
    assert isinstance(build_data_preprocessor(), PointDataPreprocessor)
    det3d = build_data_preprocessor(dict(type='Det3DDataPreprocessor'))
    assert type(det3d).__name__ == 'Det3DDataPreprocessor'
    assert build_data_preprocessor(det3d) is det3d


def test_models_take_stacked_points_or_a_list_and_name_a_ragged_batch():
    model = _classifier()
    points = torch.rand(2, 64, 3)
    with torch.no_grad():
        stacked = model(dict(points=points))
        listed = model(dict(points=list(points)))
    torch.testing.assert_close(stacked, listed)
    assert stacked.shape == (2, 3)
    with pytest.raises(ValueError, match=r'same shape.*\(48, 3\), \(64, 3\)'):
        model(PointDataPreprocessor()(_batch(64, 48))['inputs'])
    with pytest.raises(ValueError, match=r'\(B, N, C\), got \(64, 3\)'):
        model(dict(points=torch.rand(64, 3)))


def test_prefixed_loader_strips_the_prefix_and_names_what_differs(tmp_path):
    model = _classifier()
    ckpt = str(tmp_path / 'cls.pth')
    save_checkpoint(dict(state_dict=model.state_dict(), meta={}), ckpt)
    other = _classifier(seed=1)
    state = load_prefixed_state_dict(other.backbone, ckpt, 'backbone.')
    assert set(state) == set(model.backbone.state_dict())
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(other.backbone.state_dict()[key], value), key
    # the whole state dict without a prefix
    assert len(load_prefixed_state_dict(other, ckpt, None)) == len(
        model.state_dict())

    with pytest.raises(FileNotFoundError, match='checkpoint not found: .*x'):
        load_prefixed_state_dict(other, str(tmp_path / 'x.pth'), None)
    with pytest.raises(KeyError, match=r"cls\.pth: no \"decoder\.\*\" keys "
                       r"\(top-level names: .*backbone.*head"):
        load_prefixed_state_dict(other, ckpt, 'decoder.')
    with pytest.raises(RuntimeError,
                       match=r'cls\.pth does not match the model \(ACTClsHead'
                       r'\): 2 missing keys \[mlp\.0\.bias, mlp\.0\.weight\], '
                       r'50 unexpected keys \[backbone\.\S+, '):
        load_prefixed_state_dict(other.head, ckpt, None)
    save_checkpoint(dict(state_dict={'fc.weight': torch.zeros(4, 32)}),
                    str(tmp_path / 'wide.pth'))
    narrow = torch.nn.Module()
    narrow.fc = torch.nn.Linear(32, 3, bias=False)
    with pytest.raises(RuntimeError, match=r'wide\.pth .*1 shape mismatches '
                       r'\[fc\.weight\]'):
        load_prefixed_state_dict(narrow, str(tmp_path / 'wide.pth'), None)
    # strict=False loads what fits (the backbone) and leaves the rest
    third = _classifier(seed=2)
    head = {k: v.clone() for k, v in third.head.state_dict().items()}
    backbone_only = str(tmp_path / 'backbone.pth')
    save_checkpoint(dict(state_dict={
        k: v for k, v in model.state_dict().items()
        if k.startswith('backbone.')}), backbone_only)
    load_prefixed_state_dict(third, backbone_only, None, strict=False)
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(third.backbone.state_dict()[key], value), key
    for key, value in head.items():
        assert torch.equal(third.head.state_dict()[key], value), key
