"""ACT Stage I teacher autoencoder: model, ViT loading, hook, metric, demo."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

import act_mmdet3d  # noqa: F401
from act_mmdet3d.engine.hooks import (DVAEScheduleHook, gumbel_temperature,
                                      kl_weight)
from act_mmdet3d.models.layers.prompted_transformer import (
    PromptedTransformer, load_vit_weights)
from _helpers import count_params as _count
from mmdet3d.registry import METRICS, MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'act', 'act-autoencoder_vit-b-p16_1xb64-coslr-300e_shapenet55.py')
DEMO_CONFIG = osp.join(ROOT, 'configs', 'demo', 'act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py')


def _tiny_cfg(**kwargs):
    cfg = dict(
        type='ACTTeacherAutoencoder',
        num_groups=16,
        group_size=8,
        encoder_dims=32,
        num_tokens=64,
        tokens_dims=32,
        decoder_dims=32,
        vit_name='vit_tiny_patch16_224',
        allow_random_teacher=True,
        num_prompts=4)
    cfg.update(kwargs)
    return cfg


def test_default_config_parameter_counts():
    cfg = Config.fromfile(CONFIG)
    assert cfg.model.vit_name == 'vit_base_patch16_384'
    assert cfg.train_dataloader.dataset.split == 'train'
    cfg.model.update(vit_weights=None, allow_random_teacher=True)
    model = MODELS.build(cfg.model)
    trainable, frozen = _count(model), _count(model, False)
    assert abs(trainable - 31.1e6) / 31.1e6 < 0.05
    assert trainable == 31_129_883
    assert frozen == 85_056_000
    t = model.transformer
    assert model.codebook.numel() == 3_145_728
    assert [p.numel() for p in (t.visual_prompt_token, t.visual_prompt_pos,
                                t.deep_prompt_tokens, t.deep_prompt_pos)
            ] == [49_152, 49_152, 540_672, 540_672]
    assert _count(model.encoder) == 494_464
    assert _count(model.dgcnn_1) == 20_845_184
    assert _count(model.dgcnn_2) == 2_839_936
    assert _count(model.decoder) == 1_934_363
    assert _count(t.proj_pre) == 295_680
    assert _count(t.visual_pos_embed) == 99_584
    assert _count(t.proj_post) == 295_296
    keys = model.state_dict().keys()
    assert 'transformer.visual_embed.0.11.attn.qkv.weight' in keys
    assert 'transformer.visual_embed.1.weight' in keys


def test_no_weights_without_allow_random_teacher_is_an_error():
    with pytest.raises(ValueError, match='allow_random_teacher'):
        MODELS.build(_tiny_cfg(allow_random_teacher=False))


def test_forward_backward_and_frozen_vit():
    torch.manual_seed(0)
    model = MODELS.build(_tiny_cfg())
    model.train()
    assert not model.transformer.visual_embed.training  # frozen: eval
    assert model.transformer.prompt_dropout.training
    points = torch.rand(2, 128, 3)
    losses = model(dict(points=list(points)), mode='loss')
    assert set(losses) >= {'loss_coarse', 'loss_fine', 'loss_kl'}
    for v in losses.values():
        assert torch.isfinite(v).all()
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    t = model.transformer
    for p in t.visual_embed.parameters():
        assert not p.requires_grad and p.grad is None
    for p in (t.visual_prompt_token, t.deep_prompt_tokens, t.deep_prompt_pos,
              model.codebook, model.encoder.first_conv[0].weight):
        assert p.grad is not None and p.grad.abs().sum() > 0
    out = model(dict(points=list(points)), mode='tensor')
    assert out['coarse'].shape == (2, 16, 2, 3)
    assert out['fine'].shape == (2, 16, 8, 3)
    assert out['logits'].shape == (2, 16, 64)


def test_kl_matches_reference_formula():
    model = MODELS.build(_tiny_cfg())
    logits = torch.randn(3, 16, 64)
    q = torch.softmax(logits, -1).mean(1)  # (B, N): mean over groups
    u = torch.full_like(q, 1. / 64)
    expected = (u * (u.log() - q.log())).sum() / 3
    assert torch.allclose(model.kl_loss(logits), expected, atol=1e-6)
    assert model.kl_loss(torch.zeros(2, 16, 64)).abs() < 1e-6


def test_optimizer_step_updates_prompts_not_frozen_vit():
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG)
    model = MODELS.build(_tiny_cfg())
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    # weight decay rules: prompt tokens, biases and norms 0, weights 5e-4
    decay = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            decay[names[id(p)]] = group['weight_decay']
    assert decay['transformer.visual_prompt_token'] == 0
    assert decay['transformer.deep_prompt_tokens'] == 0
    assert decay['transformer.proj_pre.bias'] == 0
    assert decay['dgcnn_1.layer1.1.weight'] == 0  # GroupNorm
    assert decay['codebook'] == pytest.approx(5e-4)
    assert decay['transformer.deep_prompt_pos'] == pytest.approx(5e-4)
    frozen = {k: v.clone() for k, v in
              model.transformer.visual_embed.state_dict().items()}
    prompts = model.transformer.deep_prompt_tokens.detach().clone()
    losses = model(dict(points=list(torch.rand(2, 128, 3))), mode='loss')
    optim.update_params(sum(v for k, v in losses.items() if 'loss' in k))
    for k, v in model.transformer.visual_embed.state_dict().items():
        assert torch.equal(v, frozen[k]), k
    assert not torch.equal(model.transformer.deep_prompt_tokens, prompts)


def test_extract_targets_uses_given_groups():
    torch.manual_seed(0)
    model = MODELS.build(_tiny_cfg())
    model.eval()
    groups = model.grouper(torch.rand(2, 128, 3))
    tgt = model.extract_targets(groups, hard=True, tau=1.0)
    assert tgt.shape == (2, 16, 32)
    # hard codes: each group uses one codebook entry
    logits = model.encode_logits(groups)
    one_hot = torch.nn.functional.gumbel_softmax(logits, hard=True)
    assert torch.all(one_hot.sum(-1) == 1)


def test_schedule_formulas_and_hook():
    # reference get_temp / compute_loss
    assert gumbel_temperature(0) == pytest.approx(1.)
    assert gumbel_temperature(50000) == pytest.approx(
        0.0625 + (1 - 0.0625) * 0.5)
    assert gumbel_temperature(100000) == pytest.approx(0.0625)
    assert gumbel_temperature(250000) == pytest.approx(0.0625)
    assert kl_weight(0) == 0 and kl_weight(9999) == 0
    assert kl_weight(10000) == pytest.approx(0.)
    assert kl_weight(60000) == pytest.approx(0.05)
    assert kl_weight(35000) == pytest.approx(
        0.1 * (1 - (1 + math.cos(math.pi / 4)) / 2))
    assert kl_weight(110000) == pytest.approx(0.1)
    assert kl_weight(300000) == pytest.approx(0.1)

    class _Hub:
        def __init__(self):
            self.scalars = {}

        def update_scalar(self, key, value):
            self.scalars[key] = value

    class _Runner:
        def __init__(self, it):
            self.iter = it
            self.model = torch.nn.Linear(1, 1)
            self.model.temperature = 1.
            self.model.kl_weight = 0.
            self.message_hub = _Hub()

    hook = DVAEScheduleHook()
    for it in (0, 12345, 60000, 123456):  # pure function of the iteration
        runner = _Runner(it)
        hook.before_train_iter(runner, 0)
        assert runner.model.temperature == gumbel_temperature(it)
        assert runner.model.kl_weight == kl_weight(it)
        assert runner.message_hub.scalars['train/temperature'] == \
            gumbel_temperature(it)
        assert runner.message_hub.scalars['train/kl_weight'] == kl_weight(it)
    custom = DVAEScheduleHook(temp_ntime=10, kl_delay=2, kl_ntime=4,
                              kl_target=1.)
    assert custom.values(10) == (pytest.approx(0.0625), pytest.approx(1.))
    assert custom.values(1)[1] == 0.
    assert custom.values(4)[1] == pytest.approx(0.5)


# ---------------------------------------------------------------------------
# ViT weight files
def _augreg_npz(vit, path):
    """Write a timm ViT in Google's AugReg .npz key layout."""
    sd = {k: v.detach().numpy() for k, v in vit.state_dict().items()}
    c = vit.embed_dim
    heads = vit.blocks[0].attn.num_heads
    hd = c // heads
    w = {
        'embedding/kernel': sd['patch_embed.proj.weight'].transpose(
            2, 3, 1, 0),
        'embedding/bias': sd['patch_embed.proj.bias'],
        'cls': sd['cls_token'],
        'Transformer/posembed_input/pos_embedding': sd['pos_embed'],
        'Transformer/encoder_norm/scale': sd['norm.weight'],
        'Transformer/encoder_norm/bias': sd['norm.bias'],
        'head/kernel': sd['head.weight'].T,
        'head/bias': sd['head.bias'],
    }
    for i in range(len(vit.blocks)):
        b = f'blocks.{i}.'
        p = f'Transformer/encoderblock_{i}/'
        m = p + 'MultiHeadDotProductAttention_1/'
        w[p + 'LayerNorm_0/scale'] = sd[b + 'norm1.weight']
        w[p + 'LayerNorm_0/bias'] = sd[b + 'norm1.bias']
        w[p + 'LayerNorm_2/scale'] = sd[b + 'norm2.weight']
        w[p + 'LayerNorm_2/bias'] = sd[b + 'norm2.bias']
        qkv_w = np.split(sd[b + 'attn.qkv.weight'], 3)
        qkv_b = np.split(sd[b + 'attn.qkv.bias'], 3)
        for n, wt, bs in zip(('query', 'key', 'value'), qkv_w, qkv_b):
            w[m + f'{n}/kernel'] = wt.T.reshape(c, heads, hd)
            w[m + f'{n}/bias'] = bs.reshape(heads, hd)
        w[m + 'out/kernel'] = sd[b + 'attn.proj.weight'].T.reshape(
            heads, hd, c)
        w[m + 'out/bias'] = sd[b + 'attn.proj.bias']
        for r in range(2):
            w[p + f'MlpBlock_3/Dense_{r}/kernel'] = sd[
                b + f'mlp.fc{r + 1}.weight'].T
            w[p + f'MlpBlock_3/Dense_{r}/bias'] = sd[b + f'mlp.fc{r + 1}.bias']
    np.savez(path, **w)


@pytest.fixture(scope='module')
def source_vit():
    import timm
    torch.manual_seed(1)
    vit = timm.create_model('vit_tiny_patch16_224', pretrained=False,
                            num_classes=10)
    with torch.no_grad():  # non-trivial norms and biases
        for n, p in vit.named_parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    return vit.eval()


def _blocks_out(blocks, norm, x):
    for blk in blocks:
        x = blk(x)
    return norm(x)


def _check_same_blocks(pt, vit):
    x = torch.randn(2, 20, vit.embed_dim)
    with torch.no_grad():
        ref = _blocks_out(vit.blocks, vit.norm, x)
        got = _blocks_out(pt.visual_embed[0], pt.visual_embed[1], x)
    assert torch.equal(got, ref)


@pytest.mark.parametrize('fmt', ['npz', 'pth', 'safetensors', 'reference'])
def test_vit_weight_files_reproduce_blocks(tmp_path, source_vit, fmt):
    path = str(tmp_path / f'vit.{"pth" if fmt == "reference" else fmt}')
    if fmt == 'npz':
        _augreg_npz(source_vit, path)
        # the file is in the layout timm's own npz loader reads
        import timm
        from timm.models.vision_transformer import _load_weights
        check = timm.create_model('vit_tiny_patch16_224', pretrained=False,
                                  num_classes=10)
        _load_weights(check, path)
        for k, v in source_vit.state_dict().items():
            assert torch.allclose(check.state_dict()[k], v), k
    elif fmt == 'pth':
        torch.save({'state_dict': source_vit.state_dict()}, path)
    elif fmt == 'safetensors':
        from safetensors.torch import save_file
        save_file({k: v.contiguous()
                   for k, v in source_vit.state_dict().items()}, path)
    else:  # the reference teacher's key names, as in an ACT checkpoint
        sd = {}
        for k, v in source_vit.state_dict().items():
            if k.startswith('blocks.'):
                sd['visual_embed.0.' + k[len('blocks.'):]] = v
            elif k.startswith('norm.'):
                sd['visual_embed.1.' + k[len('norm.'):]] = v
        torch.save({'base_model': sd}, path)
    pt = PromptedTransformer('vit_tiny_patch16_224', vit_weights=path,
                             in_channels=32, num_prompts=4)
    _check_same_blocks(pt, source_vit)
    model = MODELS.build(_tiny_cfg(vit_weights=path,
                                   allow_random_teacher=False))
    _check_same_blocks(model.transformer, source_vit)


def test_vit_weight_errors_name_file_and_keys(tmp_path, source_vit):
    import timm
    missing = str(tmp_path / 'nowhere.npz')
    with pytest.raises(FileNotFoundError, match='nowhere.npz'):
        MODELS.build(_tiny_cfg(vit_weights=missing))
    # a key missing
    sd = dict(source_vit.state_dict())
    del sd['blocks.3.mlp.fc1.bias']
    path = str(tmp_path / 'partial.pth')
    torch.save(sd, path)
    with pytest.raises(KeyError, match=r'partial\.pth.*blocks\.3\.mlp\.fc1'
                       r'\.bias'):
        MODELS.build(_tiny_cfg(vit_weights=path))
    # another model's weights: shape mismatch named
    small = timm.create_model('vit_small_patch16_224', pretrained=False)
    path = str(tmp_path / 'small.pth')
    torch.save(small.state_dict(), path)
    with pytest.raises(KeyError, match=r'small\.pth.*blocks\.0\.norm1\.weight'
                       r': file \(384,\) vs model \(192,\)'):
        MODELS.build(_tiny_cfg(vit_weights=path))
    # deeper file: unexpected blocks
    vit = timm.create_model('vit_tiny_patch16_224', pretrained=False)
    deeper = timm.create_model('vit_tiny_patch16_224', pretrained=False,
                               depth=13)
    path = str(tmp_path / 'deep.safetensors')
    from safetensors.torch import save_file
    save_file(deeper.state_dict(), path)
    with pytest.raises(KeyError, match=r'deep\.safetensors.*unexpected keys '
                       r"\['blocks\.12\."):
        load_vit_weights(vit, path)
    # npz without a block's tensors
    path = str(tmp_path / 'broken.npz')
    _augreg_npz(source_vit, path)
    data = dict(np.load(path))
    del data['Transformer/encoderblock_5/LayerNorm_2/scale']
    np.savez(path, **data)
    with pytest.raises(KeyError, match=r'broken\.npz.*encoderblock_5/'
                       'LayerNorm_2/scale'):
        load_vit_weights(vit, path)
    bad = str(tmp_path / 'weights.bin.txt')
    open(bad, 'w').close()
    with pytest.raises(ValueError, match='unsupported extension'):
        load_vit_weights(vit, bad)


@pytest.mark.parametrize('name', ['vit_small_patch16_224',
                                  'deit_tiny_patch16_224'])
def test_other_timm_vits_build(name):
    model = MODELS.build(_tiny_cfg(vit_name=name))
    out = model(dict(points=list(torch.rand(1, 128, 3))), mode='tensor')
    assert out['fine'].shape == (1, 16, 8, 3)


# ---------------------------------------------------------------------------
# evaluation
def test_predict_and_chamfer_metric():
    torch.manual_seed(0)
    model = MODELS.build(_tiny_cfg())
    model.eval()
    points = torch.rand(3, 128, 3)
    samples = model(dict(points=list(points)), mode='predict')
    assert samples[0].pred_points.shape == (16 * 8, 3)
    assert samples[0].pred_coarse_points.shape == (16 * 2, 3)
    metric = METRICS.build(dict(type='ChamferDistanceMetric'))
    metric.dataset_meta = {}
    metric.process({}, [s.to_dict() for s in samples])
    res = metric.evaluate(3)
    assert set(res) >= {'CDL1', 'CDL2', 'sparse_CDL1', 'sparse_CDL2'}
    from act_mmdet3d.ops import chamfer_distance_l1
    expected = np.mean([
        float(chamfer_distance_l1(s.pred_points[None], p[None])) * 1000
        for s, p in zip(samples, points)])
    assert res['CDL1'] == pytest.approx(expected, rel=1e-5)
    # a perfect reconstruction scores 0; per-category mean
    metric.process({}, [
        dict(pred_points=p, gt_points=p, taxonomy_id=t)
        for p, t in zip(points, ('a', 'a', 'b'))])
    res = metric.evaluate(3)
    assert res['CDL1'] == 0 and res['CDL1_cat'] == 0
    with pytest.raises(KeyError, match='gt_points'):
        metric.process({}, [dict(pred_points=points[0])])


# ---------------------------------------------------------------------------
# the demo config trains through tools/train.py
def test_demo_config_trains_and_loss_drops(tmp_path):
    cfg_path = tmp_path / 'tiny_demo.py'
    cfg_path.write_text(f"""
_base_ = [{DEMO_CONFIG!r}]
data_root = {osp.join(ROOT, 'data', 'demo', 'ShapeNet55-34')!r}
model = dict(encoder_dims=64, num_tokens=128, tokens_dims=64,
             decoder_dims=64, num_prompts=4)
train_dataloader = dict(batch_size=4, num_workers=0,
                        dataset=dict(data_root=data_root, indices=8))
val_dataloader = dict(batch_size=4, num_workers=0,
                      dataset=dict(data_root=data_root, indices=4))
test_dataloader = val_dataloader
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=14,
                 val_interval=14)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=14, by_epoch=False))
log_processor = dict(by_epoch=False, window_size=1)
""")
    work_dir = tmp_path / 'work'
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (ROOT, env.get('PYTHONPATH')) if p)
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', str(cfg_path), '--work-dir',
         str(work_dir)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    scalars = []
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                scalars = [json.loads(line) for line in f]
    train = [s for s in scalars if 'recon_cd_l1' in s]
    assert len(train) == 14
    recon = [s['recon_cd_l1'] for s in train]
    assert np.mean(recon[-3:]) < 0.8 * np.mean(recon[:3]), recon
    assert train[-1]['temperature'] < 1.0
    val = [s for s in scalars if 'CDL1' in s]
    assert val and np.isfinite(val[-1]['CDL1'])
