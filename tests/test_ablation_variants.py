"""The ACT analysis as config options: teacher variants (ViT / language
model / none; deep / shallow / frozen / full tuning), Stage II target layers
and the Point-MAE-style point target."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import act_mmdet3d  # noqa: F401
from act_mmdet3d.ops.chamfer import chamfer_distance_l2
from _helpers import count_params as _count
from mmdet3d.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
STAGE1 = osp.join(ROOT, 'configs', 'act', 'act-autoencoder_vit-b-p16_1xb64-coslr-300e_shapenet55.py')

VIT_B = 85_056_000  # 12 ViT-B blocks + final norm (ACT_SPEC.md)
DEEP = 31_129_883  # the reference teacher's trainable parameters
INPUT_PROMPTS = 2 * 64 * 768  # visual_prompt_token + visual_prompt_pos
DEEP_PROMPTS = 2 * 11 * 64 * 768  # deep_prompt_tokens + deep_prompt_pos
# proj_pre 384->768, position MLP 3->128->768, proj_post 768->384
VIT_ADAPTERS = 295_680 + 99_584 + 295_296


def _tiny(**kwargs):
    cfg = dict(
        type='ACTTeacherAutoencoder', num_groups=16, group_size=8,
        encoder_dims=32, num_tokens=64, tokens_dims=32, decoder_dims=24,
        vit_name='vit_tiny_patch16_224', allow_random_teacher=True,
        num_prompts=4)
    cfg.update(kwargs)
    return cfg


def _tiny_bert(path, layers=2):
    from transformers import BertConfig, BertModel
    torch.manual_seed(0)
    model = BertModel(BertConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=layers,
        num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=64))
    model.save_pretrained(str(path))
    return model.eval()


@pytest.mark.parametrize('tuning,expected', [
    ('deep', DEEP),
    ('shallow', DEEP - DEEP_PROMPTS),
    ('frozen', DEEP - DEEP_PROMPTS - INPUT_PROMPTS),
    ('full', DEEP - DEEP_PROMPTS - INPUT_PROMPTS + VIT_B),
])
def test_tuning_modes_count_the_reference_parameters(tuning, expected):
    cfg = Config.fromfile(STAGE1)
    assert cfg.model.tuning == 'deep' and cfg.model.transformer_type == 'vit'
    cfg.model.update(vit_weights=None, allow_random_teacher=True,
                     tuning=tuning)
    model = MODELS.build(cfg.model)
    assert _count(model) == expected
    assert _count(model) + _count(model, False) == DEEP + VIT_B - (
        {'deep': 0, 'shallow': DEEP_PROMPTS}.get(
            tuning, DEEP_PROMPTS + INPUT_PROMPTS))
    vit = model.transformer.visual_embed
    assert all(p.requires_grad == (tuning == 'full')
               for p in vit.parameters())
    names = {n for n, _ in model.named_parameters()}
    assert ('transformer.deep_prompt_tokens' in names) == (tuning == 'deep')
    assert ('transformer.visual_prompt_token' in names) == (
        tuning in ('deep', 'shallow'))


def test_no_transformer_teacher_is_the_point_bert_dvae():
    cfg = Config.fromfile(STAGE1)
    cfg.model.update(transformer_type='none', vit_weights=None)
    model = MODELS.build(cfg.model)
    assert model.transformer is None
    assert _count(model, False) == 0
    frozen_free = DEEP - DEEP_PROMPTS - INPUT_PROMPTS - VIT_ADAPTERS
    assert _count(model) == frozen_free == 29_259_675
    assert not any(k.startswith('transformer.') for k in model.state_dict())


@pytest.mark.parametrize('kwargs', [
    dict(tuning='deep'), dict(tuning='shallow'), dict(tuning='frozen'),
    dict(tuning='full'), dict(transformer_type='none'),
    dict(vit_name='deit_tiny_patch16_224'),
])
def test_every_variant_trains_a_step(kwargs):
    """One optimizer step: the frozen blocks stay bit-identical, everything
    trainable (prompts, codebook, tokenizer; the blocks when 'full') moves."""
    torch.manual_seed(0)
    model = MODELS.build(_tiny(**kwargs))
    model.train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.SGD(trainable, lr=0.1)
    losses = model(dict(points=list(torch.rand(2, 128, 3))), mode='loss')
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(loss)
    loss.backward()
    optim.step()
    for name, p in model.named_parameters():
        moved = not torch.equal(p, before[name])
        if not p.requires_grad:
            assert not moved, name
    full = kwargs.get('tuning') == 'full'
    if model.transformer is not None:
        vit_moved = [not torch.equal(p, before['transformer.' + n])
                     for n, p in model.transformer.named_parameters()
                     if n.startswith('visual_embed.')]
        assert any(vit_moved) == full
        assert all(vit_moved) if full else not any(vit_moved)
    assert not torch.equal(model.codebook, before['codebook'])
    if kwargs.get('tuning', 'deep') in ('deep', 'shallow') and \
            model.transformer is not None:
        assert not torch.equal(model.transformer.visual_prompt_token,
                               before['transformer.visual_prompt_token'])


def test_bad_variant_options_are_named():
    with pytest.raises(ValueError, match='tuning'):
        MODELS.build(_tiny(tuning='deeep'))
    with pytest.raises(ValueError, match='transformer_type'):
        MODELS.build(_tiny(transformer_type='cnn'))
    with pytest.raises(ValueError, match='lm_path'):
        MODELS.build(_tiny(transformer_type='lm'))
    assert MODELS.build(_tiny(transformer_type='none')).transformer is None


# ------------------------------------------------------- language model
def test_language_model_teacher_matches_the_transformers_blocks(tmp_path):
    bert = _tiny_bert(tmp_path / 'bert')
    torch.manual_seed(1)
    model = MODELS.build(_tiny(transformer_type='lm', lm_path=str(tmp_path /
                                                              'bert'),
                               tuning='frozen'))
    model.eval()
    t = model.transformer
    assert t.depth == 2 and t.embed_dims == 32 and t.num_prompts == 0
    # the weights are the saved model's, and frozen
    own = dict(t.visual_embed[0].named_parameters())
    for i, layer in enumerate(bert.encoder.layer):
        for n, p in layer.named_parameters():
            assert torch.equal(own[f'{i}.layer.{n}'], p), n
            assert not own[f'{i}.layer.{n}'].requires_grad
    tokens, centers = torch.randn(2, 16, 32), torch.rand(2, 16, 3)
    with torch.no_grad():
        out = t(tokens, centers)
        x = t.proj_pre(tokens)
        pos = t.visual_pos_embed(centers)
        for i, layer in enumerate(bert.encoder.layer):
            res = layer(x + pos)
            x = res[0] if isinstance(res, (tuple, list)) else res
            assert torch.allclose(t(tokens, centers, return_block=i), x,
                                  atol=1e-6)
        expected = t.proj_post(x)  # BERT is post-norm: no final norm
    assert torch.allclose(out, expected, atol=1e-6)


def test_language_model_one_layer_equals_its_encoder(tmp_path):
    bert = _tiny_bert(tmp_path / 'bert1', layers=1)
    model = MODELS.build(_tiny(transformer_type='lm', lm_path=str(
        tmp_path / 'bert1'), tuning='frozen')).eval()
    t = model.transformer
    tokens, centers = torch.randn(3, 16, 32), torch.rand(3, 16, 3)
    with torch.no_grad():
        x = t.proj_pre(tokens) + t.visual_pos_embed(centers)
        expected = t.proj_post(bert.encoder(x).last_hidden_state)
        assert torch.allclose(t(tokens, centers), expected, atol=1e-6)


def test_language_model_teacher_prompted_and_trained(tmp_path):
    _tiny_bert(tmp_path / 'bert')
    model = MODELS.build(_tiny(transformer_type='lm', lm_path=str(tmp_path /
                                                              'bert')))
    t = model.transformer
    # deep prompts exactly as the ViT's: 4 input prompts + 1 fresh set
    assert tuple(t.visual_prompt_token.shape) == (1, 4, 32)
    assert tuple(t.deep_prompt_tokens.shape) == (1, 4, 32)
    bert_params = sum(p.numel() for p in t.visual_embed.parameters())
    assert _count(model, False) == bert_params > 0
    model.train()
    losses = model(dict(points=list(torch.rand(2, 128, 3))), mode='loss')
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert t.deep_prompt_tokens.grad.abs().sum() > 0
    assert all(p.grad is None for p in t.visual_embed.parameters())


def test_language_model_folder_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.*lm_path'):
        MODELS.build(_tiny(transformer_type='lm',
                           lm_path=str(tmp_path / 'nowhere')))
    bad = tmp_path / 'broken'
    bad.mkdir()
    (bad / 'config.json').write_text('{"model_type": "bert", "hidden_')
    with pytest.raises(ValueError, match='broken'):
        MODELS.build(_tiny(transformer_type='lm', lm_path=str(bad)))


# ------------------------------------------------------- target layers
def _targets(model, groups, layer):
    torch.manual_seed(7)  # the same Gumbel noise for every layer
    with torch.no_grad():
        return model.extract_targets(groups, hard=True, tau=1.0, layer=layer)


def test_target_layers_shapes_and_consistency():
    model = MODELS.build(_tiny()).eval()
    groups = model.grouper(torch.rand(2, 128, 3))
    widths = dict(output=24, transformer=32, codebook=32, encoder=32)
    widths['block.0'] = widths['block.-1'] = 192  # ViT-Ti width
    out = {}
    for layer, width in widths.items():
        out[layer] = _targets(model, groups, layer)
        assert out[layer].shape == (2, 16, width), layer
        assert model.target_channels(layer) == width
    t = model.transformer
    with torch.no_grad():
        # the layers are the stages of one forward pass
        assert torch.equal(out['encoder'], model.encoder(groups.neighborhood))
        assert torch.allclose(
            out['transformer'],
            t.proj_post(t.visual_embed[1](out['block.-1'])), atol=1e-5)
        assert torch.allclose(out['transformer'],
                              t(out['codebook'], groups.centers), atol=1e-5)
        assert torch.allclose(out['output'],
                              model.dgcnn_2(out['transformer'],
                                            groups.centers), atol=1e-5)
    # the default is ACT's: after DGCNN 2
    torch.manual_seed(7)
    with torch.no_grad():
        default = model.extract_targets(groups)
    assert torch.equal(default, out['output'])
    assert not torch.allclose(out['block.0'], out['block.-1'])


def test_bad_target_layers_are_named():
    model = MODELS.build(_tiny()).eval()
    groups = model.grouper(torch.rand(1, 128, 3))
    with pytest.raises(ValueError, match="'decoder'"):
        model.extract_targets(groups, layer='decoder')
    with pytest.raises(IndexError, match='12 blocks'):
        model.extract_targets(groups, layer='block.12')
    with pytest.raises(ValueError, match='block.<int>'):
        model.target_channels('block.last')
    none = MODELS.build(_tiny(transformer_type='none')).eval()
    assert none.target_channels('codebook') == 32
    with pytest.raises(ValueError, match='no transformer'):
        none.extract_targets(groups, layer='transformer')
    with pytest.raises(ValueError, match='no transformer'):
        none.target_channels('block.-1')


# ----------------------------------------------------------- Stage II
def _pretrainer(head, teacher=True, **kwargs):
    cfg = dict(
        type='ACTPretrainer',
        backbone=dict(type='ACTPointTransformer', embed_dims=48, depth=2,
                      num_heads=4, num_groups=16, group_size=8,
                      mask_ratio=0.75),
        neck=dict(type='ACTDecoder', embed_dims=48, depth=1, num_heads=4),
        head=head,
        target_generator=_tiny() if teacher else None, **kwargs)
    return MODELS.build(cfg)


def test_auto_head_width_follows_the_target_layer():
    torch.manual_seed(0)
    model = _pretrainer(
        dict(type='ACTDistillHead', in_channels=48, out_channels='auto'),
        target_kwargs=dict(layer='block.-1'))
    assert model.head.proj.out_features == 192
    losses = model(dict(points=list(torch.rand(2, 128, 3))), mode='loss')
    assert 0 <= float(losses['loss'].detach()) <= 2
    default = _pretrainer(
        dict(type='ACTDistillHead', in_channels=48, out_channels='auto'))
    assert default.head.proj.out_features == 24  # decoder_dims: 'output'


def test_point_target_needs_no_teacher_and_is_chamfer_l2():
    torch.manual_seed(0)
    head = dict(type='PointReconHead', in_channels=48, group_size=8)
    model = _pretrainer(head)  # a teacher config is given: not built
    assert model.target_generator is None
    assert not any(k.startswith('target_generator')
                   for k in model.state_dict())
    assert model.head.proj.weight.shape == (24, 48)
    # the same one switch without any teacher config
    assert _pretrainer(head, teacher=False).target_generator is None
    model.train()
    points = torch.rand(2, 128, 3)
    torch.manual_seed(3)
    losses = model(dict(points=list(points)), mode='loss')
    # recompute: the same masking (same seed) -> pred vs true masked groups
    torch.manual_seed(3)
    groups = model.backbone.group(points)
    feats = model.backbone(points, groups=groups)
    pred = model.neck(feats['tokens'][-1], feats['centers'], feats['mask'])
    pred = model.head(pred)  # (B, M, K, 3)
    true = groups.neighborhood[feats['mask']]  # (B*M, K, 3)
    assert pred.shape == (2, 12, 8, 3)
    d = torch.cdist(pred.reshape(24, 8, 3), true)**2
    brute = d.min(2).values.mean() + d.min(1).values.mean()
    assert torch.allclose(losses['loss'], brute, atol=1e-5)
    assert torch.allclose(
        brute, chamfer_distance_l2(pred.reshape(24, 8, 3), true), atol=1e-6)
    losses['loss'].backward()
    assert model.head.proj.weight.grad.abs().sum() > 0
    assert model.backbone.blocks[0].attn.qkv.weight.grad.abs().sum() > 0


def test_feature_head_without_teacher_is_an_error():
    with pytest.raises(ValueError, match='target_generator'):
        _pretrainer(dict(type='ACTDistillHead', in_channels=48,
                         out_channels=24), teacher=False)
