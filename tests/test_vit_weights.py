"""Pretrained ViT teacher weights from the files people have: a Hugging Face
hub cache (what ``timm.create_model(name, pretrained=True)`` downloads:
``models--timm--<name>.<tag>/snapshots/<hash>/model.safetensors`` or
``pytorch_model.bin``, links into ``blobs/``), located from the cache root,
the repo folder or the snapshot folder (``resolve_vit_weights``), and loaded
through the teacher's ``vit_weights`` (the ``.npz`` / ``.pth`` /
``.safetensors`` files themselves: tests/test_teacher.py)."""
import hashlib
import os
import os.path as osp

import pytest
import timm
import torch
from mmengine.registry import init_default_scope
from safetensors.torch import save_file

import act_mmdet3d  # noqa: F401
from act_mmdet3d.models.layers.prompted_transformer import (
    PromptedTransformer, load_vit_weights, resolve_vit_weights)

NAME = 'vit_tiny_patch16_224'
REPO = 'models--timm--vit_tiny_patch16_224.augreg_in21k_ft_in1k'


@pytest.fixture(autouse=True)
def mmdet3d_scope():
    init_default_scope('mmdet3d')


@pytest.fixture(scope='module')
def source_vit():
    torch.manual_seed(3)
    vit = timm.create_model(NAME, pretrained=False, num_classes=1000)
    with torch.no_grad():
        for p in vit.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    return vit.eval()


def hub_cache(root, vit, repo=REPO, fmt='safetensors', commit='a1b2c3'):
    """Write ``vit`` as huggingface_hub lays out a download: the file in
    ``blobs/<sha256>``, a relative link to it in ``snapshots/<commit>/``
    and the commit in ``refs/main``."""
    repo_dir = osp.join(root, repo)
    os.makedirs(osp.join(repo_dir, 'blobs'), exist_ok=True)
    os.makedirs(osp.join(repo_dir, 'refs'), exist_ok=True)
    snap = osp.join(repo_dir, 'snapshots', commit)
    os.makedirs(snap, exist_ok=True)
    tmp = osp.join(repo_dir, 'blobs', 'tmp')
    if fmt == 'safetensors':
        save_file({k: v.contiguous() for k, v in vit.state_dict().items()},
                  tmp)
        name = 'model.safetensors'
    else:
        torch.save(vit.state_dict(), tmp)
        name = 'pytorch_model.bin'
    with open(tmp, 'rb') as f:
        blob = hashlib.sha256(f.read()).hexdigest()
    os.replace(tmp, osp.join(repo_dir, 'blobs', blob))
    os.symlink(osp.join('..', '..', 'blobs', blob), osp.join(snap, name))
    with open(osp.join(snap, 'config.json'), 'w') as f:
        f.write('{"architecture": "%s"}' % NAME)
    with open(osp.join(repo_dir, 'refs', 'main'), 'w') as f:
        f.write(commit)
    return repo_dir, osp.join(snap, name)


def same_blocks(pt, vit):
    x = torch.randn(2, 10, vit.embed_dim)
    with torch.no_grad():
        ref, got = x, x
        for a, b in zip(vit.blocks, pt.visual_embed[0]):
            ref, got = a(ref), b(got)
        return torch.equal(pt.visual_embed[1](got), vit.norm(ref))


@pytest.mark.parametrize('fmt', ['safetensors', 'bin'])
@pytest.mark.parametrize('level', ['root', 'repo', 'snapshot'])
def test_hub_cache_layout_loads(tmp_path, source_vit, fmt, level):
    repo_dir, weights = hub_cache(str(tmp_path), source_vit, fmt=fmt)
    path = {'root': str(tmp_path), 'repo': repo_dir,
            'snapshot': osp.dirname(weights)}[level]
    assert resolve_vit_weights(path, NAME) == weights
    pt = PromptedTransformer(NAME, vit_weights=path, in_channels=16,
                             num_prompts=2)
    assert same_blocks(pt, source_vit)


def test_hub_root_picks_timm_default_tag(tmp_path, source_vit):
    """vit_base_patch16_384's default pretrained tag (the paper's teacher)
    is augreg_in21k_ft_in1k; another cached tag does not confuse it. (Only
    resolved here; a ViT-B file is 350 MB.)"""
    root = str(tmp_path)
    for tag, commit in (('orig_in21k_ft_in1k', 'c1'),
                        ('augreg_in21k_ft_in1k', 'c2')):
        hub_cache(root, source_vit,
                  repo=f'models--timm--vit_base_patch16_384.{tag}',
                  commit=commit)
    got = resolve_vit_weights(root, 'vit_base_patch16_384')
    assert got == osp.join(
        root, 'models--timm--vit_base_patch16_384.augreg_in21k_ft_in1k',
        'snapshots', 'c2', 'model.safetensors')
    # an explicit tag picks that repo
    got = resolve_vit_weights(root, 'vit_base_patch16_384.orig_in21k_ft_in1k')
    assert '.orig_in21k_ft_in1k/snapshots/c1/' in got
    # a model without a cached default: ambiguous tags are an error
    for tag in ('a', 'b'):
        hub_cache(root, source_vit, repo=f'models--timm--deit_tiny_x.{tag}')
    with pytest.raises(FileNotFoundError, match='several cached repos'):
        resolve_vit_weights(root, 'deit_tiny_x')


def test_hub_cache_errors_name_the_path(tmp_path, source_vit):
    repo_dir, weights = hub_cache(str(tmp_path), source_vit)
    # an interrupted download: the link points to a missing blob
    os.remove(osp.realpath(weights))
    with pytest.raises(FileNotFoundError,
                       match=r'model\.safetensors links to a missing blob'):
        load_vit_weights(timm.create_model(NAME), repo_dir)
    # refs/main naming a snapshot that is not there
    with open(osp.join(repo_dir, 'refs', 'main'), 'w') as f:
        f.write('ffff')
    with pytest.raises(FileNotFoundError, match="refs/main names snapshot "
                       "'ffff'"):
        resolve_vit_weights(repo_dir)
    # several snapshots, no refs/main
    os.remove(osp.join(repo_dir, 'refs', 'main'))
    os.makedirs(osp.join(repo_dir, 'snapshots', 'other'))
    with pytest.raises(FileNotFoundError, match='2 snapshots'):
        resolve_vit_weights(repo_dir)
    # a folder with nothing usable; the root without this model
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='empty: a folder without '
                       'model.safetensors / pytorch_model.bin'):
        resolve_vit_weights(str(empty), NAME)
    with pytest.raises(FileNotFoundError, match='models--timm--vit_small'):
        resolve_vit_weights(str(tmp_path), 'vit_small_patch16_224')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        PromptedTransformer(NAME, vit_weights=str(tmp_path / 'nowhere'))


def test_teacher_config_reads_hub_cache(tmp_path, source_vit):
    """The teacher's vit_weights may name the hub cache root."""
    from mmdet3d.registry import MODELS
    hub_cache(str(tmp_path), source_vit)
    model = MODELS.build(dict(
        type='ACTTeacherAutoencoder', num_groups=8, group_size=8,
        encoder_dims=16, num_tokens=32, tokens_dims=16, decoder_dims=16,
        vit_name=NAME, vit_weights=str(tmp_path), num_prompts=2))
    assert same_blocks(model.transformer, source_vit)
