"""ACT Stage II: ACTPretrainer, ACTDecoder, ACTDistillHead and configs.

A small frozen stand-in teacher (registered here under a test-only name)
takes the place of the Stage I ``ACTTeacherAutoencoder``: the pretrainer only
relies on ``extract_targets(groups, **kwargs)``, ``train()/eval()`` and the
teacher's parameters.
"""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import BaseModule
from mmengine.optim import build_optim_wrapper
from mmengine.runner.checkpoint import (_load_checkpoint_with_prefix,
                                        save_checkpoint)

import act_mmdet3d  # noqa: F401
from act_mmdet3d.models.layers import MiniPointNet
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TEACHER = '_TestStandInTeacher'


@MODELS.register_module(name=TEACHER, force=True)
class StandInTeacher(BaseModule):
    """A mini-PointNet + linear over [token; centre]; records every call."""

    def __init__(self, out_dims=24, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.encoder = MiniPointNet(out_dims)
        self.proj = nn.Linear(out_dims + 3, out_dims)
        self.calls = []

    def extract_targets(self, groups, **kwargs):
        out = self.proj(
            torch.cat([self.encoder(groups.neighborhood), groups.centers],
                      dim=-1))
        self.calls.append(
            dict(
                groups=groups,
                kwargs=kwargs,
                grad_enabled=torch.is_grad_enabled(),
                training=self.training,
                autocast=torch.is_autocast_enabled('cpu'),
                autocast_dtype=torch.get_autocast_dtype('cpu'),
                out=out))
        return out


def _small_model_cfg(**kwargs):
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/models/act_pretrain.py')).model
    cfg.backbone.update(
        embed_dims=48, depth=2, num_heads=3, num_groups=16, group_size=8,
        drop_path_rate=0.)
    cfg.neck.update(embed_dims=48, depth=1, num_heads=3, drop_path_rate=0.)
    cfg.head.update(in_channels=48, out_channels=24)
    cfg.target_generator = dict(type=TEACHER, out_dims=24)
    cfg.target_kwargs = dict(hard=True, tau=1.0)
    cfg.update(kwargs)
    return cfg


def _build(**kwargs):
    model = MODELS.build(_small_model_cfg(**kwargs))
    model.init_weights()
    return model


def _points(b=3, n=128, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(b, n, 3, generator=gen) * 2 - 1


def _batch(points):
    """What the dataloader hands ``train_step`` (PackPointClsInputs)."""
    return dict(
        inputs=dict(points=list(points)),
        data_samples=[Det3DDataSample() for _ in range(len(points))])


def _count(module, trainable=None):
    return sum(
        p.numel() for p in module.parameters()
        if trainable is None or p.requires_grad == trainable)


class _Recorder:
    """Forward hooks recording the inputs and outputs of modules."""

    def __init__(self, **modules):
        self.records = {}
        self.handles = [
            m.register_forward_hook(self._hook(name))
            for name, m in modules.items()
        ]

    def _hook(self, name):
        def hook(module, args, output):
            self.records[name] = (args, output)
        return hook

    def remove(self):
        for h in self.handles:
            h.remove()


# --------------------------------------------------------------- building
def test_builds_from_config_and_freezes_the_teacher():
    model = _build()
    assert type(model).__name__ == 'ACTPretrainer'
    assert type(model.neck).__name__ == 'ACTDecoder'
    assert type(model.head).__name__ == 'ACTDistillHead'
    assert model.backbone.mask_ratio == 0.8
    assert model.teacher_mode == 'reference'
    assert model.teacher_dtype == 'float32'
    teacher = model.target_generator
    assert all(not p.requires_grad for p in teacher.parameters())
    # train() never unfreezes it; 'reference' mode follows train()/eval()
    model.train()
    assert all(not p.requires_grad for p in teacher.parameters())
    assert teacher.training
    model.eval()
    assert not teacher.training
    # the student parts train
    for part in (model.backbone, model.neck, model.head):
        assert all(p.requires_grad for p in part.parameters())


def test_teacher_mode_eval_keeps_teacher_in_eval_mode():
    model = _build(teacher_mode='eval')
    model.train()
    assert model.backbone.training and not model.target_generator.training
    model.loss(_points())
    assert model.target_generator.calls[-1]['training'] is False


@pytest.mark.parametrize(
    'kwargs', [dict(teacher_mode='train'), dict(teacher_dtype='float16')])
def test_rejects_bad_options(kwargs):
    with pytest.raises(ValueError, match='teacher_'):
        MODELS.build(_small_model_cfg(**kwargs))


def test_rejects_unmasked_backbone():
    cfg = _small_model_cfg()
    cfg.backbone.mask_ratio = 0.
    with pytest.raises(ValueError, match='mask_ratio'):
        MODELS.build(cfg)
    cfg = _small_model_cfg()
    cfg.backbone.out_indices = (0, )
    with pytest.raises(ValueError, match='out_indices'):
        MODELS.build(cfg)


# ------------------------------------------------------------- loss path
def test_masks_round_ratio_groups_and_teacher_sees_the_same_groups():
    torch.manual_seed(0)
    model = _build()
    model.train()
    rec = _Recorder(backbone=model.backbone, neck=model.neck)
    losses = model.loss(_points(b=4))
    rec.remove()
    g = model.backbone.num_groups
    num_mask = int(round(0.8 * g))
    (tokens, centers, mask), pred = rec.records['neck']
    assert mask.shape == (4, g) and mask.dtype == torch.bool
    assert (mask.sum(dim=1) == num_mask).all()
    assert tokens.shape == (4, g - num_mask, 48)
    assert pred.shape == (4, num_mask, 48)

    student = rec.records['backbone'][1]
    assert torch.equal(student['mask'], mask)
    (call, ) = model.target_generator.calls  # once per batch
    for field in ('neighborhood', 'centers', 'center_idx', 'neighbor_idx'):
        assert torch.equal(
            getattr(call['groups'], field),
            getattr(student['groups'], field)), field
    assert call['groups'] is student['groups']  # grouped once
    assert torch.equal(call['groups'].centers, centers)
    assert call['kwargs'] == dict(hard=True, tau=1.0)
    assert call['grad_enabled'] is False
    assert call['training'] is True  # 'reference' mode
    assert set(losses) == {'loss', 'cos_sim'}
    assert torch.isfinite(losses['loss'])


def test_loss_is_one_plus_mean_negative_cosine():
    torch.manual_seed(1)
    model = _build()
    model.train()
    rec = _Recorder(neck=model.neck, proj=model.head.proj)
    losses = model.loss(_points(b=3))
    rec.remove()
    mask = rec.records['neck'][0][2]
    pred = rec.records['proj'][1]  # (B, M, C) projected predictions
    target_all = model.target_generator.calls[-1]['out']  # (B, G, C)
    b, m, c = pred.shape
    target = target_all[mask].reshape(b, m, c)
    # the reference: for each cloud 1 + mean(-cos) over its masked groups
    # (lightly's NegativeCosineSimilarity over channels), summed / B
    expected = 0.
    for i in range(b):
        expected += 1 + (-F.cosine_similarity(
            pred[i], target[i], dim=1, eps=1e-8)).mean()
    expected = expected / b
    torch.testing.assert_close(losses['loss'], expected)
    torch.testing.assert_close(
        losses['loss'],
        1 - F.cosine_similarity(pred, target, dim=-1).mean())
    torch.testing.assert_close(losses['cos_sim'], 1 - expected)
    # identical predictions and targets give 0
    head = model.head
    assert head.loss_by_pred(target, target).abs() < 1e-6
    assert abs(head.loss_by_pred(target, -target) - 2) < 1e-6


def test_decoder_returns_masked_positions_in_index_order():
    torch.manual_seed(0)
    neck = MODELS.build(dict(type='ACTDecoder', embed_dims=12, depth=1,
                             num_heads=2, drop_path_rate=0.))
    neck.init_weights()
    neck.eval()
    b, g = 2, 6
    centers = torch.rand(b, g, 3)
    mask = torch.zeros(b, g, dtype=torch.bool)
    mask[0, [1, 4]] = True
    mask[1, [0, 5]] = True
    tokens = torch.randn(b, g - 2, 12)
    out = neck(tokens, centers, mask)
    assert out.shape == (b, 2, 12)
    # a mask token's prediction depends on its own centre
    centers2 = centers.clone()
    centers2[0, 4] += 0.5
    out2 = neck(tokens, centers2, mask)
    assert not torch.allclose(out2[0, 1], out[0, 1])
    with pytest.raises(ValueError, match='mask'):
        neck(tokens, centers, torch.zeros(b, g, dtype=torch.bool))


@pytest.mark.parametrize('dtype', ['float32', 'bfloat16'])
def test_teacher_dtype(dtype):
    torch.manual_seed(0)
    model = _build(teacher_dtype=dtype)
    model.train()
    # even under an outer bfloat16 autocast (BF16AutocastOptimWrapper),
    # 'float32' runs the teacher in float32
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        losses = model.loss(_points())
    call = model.target_generator.calls[-1]
    if dtype == 'bfloat16':
        assert call['autocast'] and call['autocast_dtype'] == torch.bfloat16
        assert call['out'].dtype == torch.bfloat16
    else:
        assert not call['autocast']
        assert call['out'].dtype == torch.float32
    assert torch.isfinite(losses['loss'])


# ------------------------------------------------------------- training
def _optim_wrapper(model, lr=1e-3):
    cfg = Config.fromfile(osp.join(ROOT, 'configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py'))
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg.optimizer.lr = lr
    return build_optim_wrapper(model, optim_cfg)


def test_teacher_not_in_optimizer_and_unchanged_by_a_step():
    torch.manual_seed(0)
    model = _build()
    model.train()
    optim_wrapper = _optim_wrapper(model, lr=1e-2)
    in_optim = {
        id(p)
        for group in optim_wrapper.optimizer.param_groups
        for p in group['params']
    }
    teacher = model.target_generator
    assert not any(id(p) in in_optim for p in teacher.parameters())
    student = [p for n, p in model.named_parameters()
               if not n.startswith('target_generator.')]
    assert all(id(p) in in_optim for p in student)

    teacher_before = {k: v.clone() for k, v in
                      teacher.named_parameters()}
    student_before = {
        k: v.clone() for k, v in model.backbone.named_parameters()}
    # through the data preprocessor, as the runner does
    log_vars = model.train_step(_batch(_points()), optim_wrapper)
    assert torch.isfinite(torch.as_tensor(log_vars['loss']))
    for name, p in teacher.named_parameters():
        assert p.grad is None, name
        assert torch.equal(p, teacher_before[name]), name
    changed = [not torch.equal(p, student_before[n])
               for n, p in model.backbone.named_parameters()]
    assert all(changed)


def test_a_few_steps_lower_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = _build(teacher_mode='eval')
    model.train()
    optim_wrapper = _optim_wrapper(model, lr=2e-3)
    data = _batch(_points(b=4, seed=3))

    def fixed_loss():
        torch.manual_seed(123)  # the same mask every time
        with torch.no_grad():
            model.eval()
            inputs = model.data_preprocessor(data, False)
            out = model(**inputs, mode='loss')['loss'].item()
            model.train()
        return out

    before = fixed_loss()
    for _ in range(15):
        torch.manual_seed(123)
        model.train_step(data, optim_wrapper)
    after = fixed_loss()
    assert after < before - 0.05, (before, after)


# ------------------------------------------------------------ checkpoint
def test_checkpoint_round_trips_into_downstream_backbones(tmp_path):
    torch.manual_seed(0)
    model = _build()
    model.train_step(_batch(_points()), _optim_wrapper(model))
    ckpt = str(tmp_path / 'pretrain.pth')
    save_checkpoint(dict(state_dict=model.state_dict(), meta={}), ckpt)

    saved = _load_checkpoint_with_prefix('backbone.', ckpt)
    backbone_cfg = _small_model_cfg().backbone
    backbone_cfg.update(mask_ratio=0.)
    init_cfg = dict(type='Pretrained', checkpoint=ckpt, prefix='backbone.')

    classifier = MODELS.build(
        dict(
            type='ACTClassifier',
            backbone=dict(backbone_cfg, init_cfg=init_cfg),
            head=dict(type='ACTClsHead', num_classes=5, in_channels=48)))
    bare = MODELS.build(dict(backbone_cfg, init_cfg=init_cfg))
    classifier.init_weights()
    bare.init_weights()
    for backbone in (classifier.backbone, bare):
        target_keys = set(backbone.state_dict())
        assert set(saved) - target_keys == set()  # unexpected
        assert target_keys - set(saved) == set()  # missing
        for key, value in backbone.state_dict().items():
            assert torch.equal(value, saved[key]), key
            assert torch.equal(value, model.backbone.state_dict()[key]), key


# ----------------------------------------------------- parameter counts
def test_parameter_counts_match_the_reference():
    neck = MODELS.build(dict(type='ACTDecoder'))
    head = MODELS.build(dict(type='ACTDistillHead'))
    assert _count(neck.blocks) + _count(neck.norm) == 3_547_392
    assert _count(neck.decoder_pos_embed) == 50_048
    assert neck.mask_token.numel() == 384
    assert _count(head) == 147_840
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/models/act_pretrain.py')).model
    cfg.target_generator = dict(type=TEACHER, out_dims=384)
    model = MODELS.build(cfg)
    assert _count(model.backbone) == 21_825_792
    assert _count(model, trainable=True) == (
        21_825_792 + 3_547_392 + 147_840 + 50_048 + 384)
    keys = set(model.state_dict())
    assert {'neck.mask_token', 'neck.decoder_pos_embed.0.weight',
            'neck.blocks.1.attn.qkv.weight', 'neck.norm.weight',
            'head.proj.weight'} <= keys
    assert 'neck.blocks.0.attn.qkv.bias' not in keys


# --------------------------------------------------------------- configs
def test_pretrain_config_reads_like_the_paper():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/act/'
                                   'act_vit-s_1xb128-coslr-300e_shapenet55.py'))
    assert cfg.custom_imports['imports'] == [
        'act_mmdet3d', 'act_mmdet3d.compat.install'
    ]
    assert cfg.optim_wrapper.optimizer == dict(
        type='AdamW', lr=1e-3, weight_decay=0.05)
    assert cfg.train_cfg.max_epochs == 300
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == 10 and cosine.begin == 10 and cosine.end == 300
    assert cfg.train_dataloader.batch_size == 128
    ds = cfg.train_dataloader.dataset
    assert ds.type == 'ShapeNet55Dataset' and ds.split == 'whole'
    assert ds.data_root == 'data/ShapeNet55-34'
    assert [t['type'] for t in ds.pipeline] == [
        'PointSubsample', 'NormalizePointsToUnitSphere',
        'PointcloudScaleAndTranslate', 'PackPointClsInputs'
    ]
    assert ds.pipeline[0]['num_points'] == 1024
    assert ds.pipeline[0]['mode'] == 'random'
    model = cfg.model
    assert model.backbone.mask_ratio == 0.8
    assert model.backbone.drop_path_rate == 0.1
    assert model.neck.depth == 2
    tg = model.target_generator
    assert tg.type == 'ACTTeacherAutoencoder'
    assert tg.init_cfg == dict(
        type='Pretrained',
        checkpoint='work_dirs/act-autoencoder_vit-b-p16_1xb64-coslr-300e_shapenet55/epoch_300.pth')


def test_pretrains_on_demo_shapenet_through_the_pipeline():
    """The real dataset + pipeline + preprocessor feed the pretrainer."""
    from mmengine.dataset import pseudo_collate
    from mmdet3d.registry import DATASETS
    cfg = Config.fromfile(osp.join(ROOT, 'configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py'))
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.data_root = osp.join(ROOT, 'data/demo/ShapeNet55-34')
    ds_cfg.pipeline[0]['num_points'] = 256
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) >= 2
    data = pseudo_collate([dataset[i] for i in range(2)])
    torch.manual_seed(0)
    model = _build()
    log_vars = model.train_step(data, _optim_wrapper(model))
    assert torch.isfinite(torch.as_tensor(log_vars['loss']))
    (call, ) = model.target_generator.calls
    assert call['groups'].centers.shape == (2, 16, 3)


# ------------------------------------------------- with the real teacher
def test_with_the_stage1_teacher_loaded_through_init_cfg(tmp_path):
    """A small ``ACTTeacherAutoencoder`` saved as a Stage I checkpoint is
    loaded by the pretrainer through the teacher's ``init_cfg``."""
    assert 'ACTTeacherAutoencoder' in MODELS.module_dict
    teacher_cfg = dict(
        type='ACTTeacherAutoencoder', num_groups=16, group_size=32,
        encoder_dims=48, num_tokens=64, tokens_dims=48, decoder_dims=24,
        vit_name='test_vit', num_prompts=4, allow_random_teacher=True)
    torch.manual_seed(0)
    stage1 = MODELS.build(teacher_cfg)
    stage1.init_weights()
    ckpt = str(tmp_path / 'teacher.pth')
    save_checkpoint(dict(state_dict=stage1.state_dict(), meta={}), ckpt)

    cfg = _small_model_cfg()
    cfg.backbone.update(group_size=32)
    cfg.target_generator = dict(
        teacher_cfg, init_cfg=dict(type='Pretrained', checkpoint=ckpt))
    torch.manual_seed(1)
    model = MODELS.build(cfg)
    model.init_weights()
    teacher = model.target_generator
    for key, value in stage1.state_dict().items():
        assert torch.equal(teacher.state_dict()[key], value), key
    assert all(not p.requires_grad for p in teacher.parameters())

    model.train()
    before = {k: v.clone() for k, v in teacher.named_parameters()}
    log_vars = model.train_step(
        _batch(_points(b=2)), _optim_wrapper(model))
    assert torch.isfinite(torch.as_tensor(log_vars['loss']))
    for name, p in teacher.named_parameters():
        assert p.grad is None and torch.equal(p, before[name]), name


def test_teacher_checkpoint_is_loaded_strictly(tmp_path):
    """mmengine's ``Pretrained`` only warns on a mismatching checkpoint;
    the pretrainer refuses it, naming the file, and reads the teacher of a
    Stage II checkpoint with ``prefix='target_generator.'``."""
    teacher_cfg = dict(
        type='ACTTeacherAutoencoder', num_groups=16, group_size=32,
        encoder_dims=48, num_tokens=64, tokens_dims=48, decoder_dims=24,
        vit_name='test_vit', num_prompts=4, allow_random_teacher=True)

    def build(checkpoint, **init):
        cfg = _small_model_cfg()
        cfg.backbone.update(group_size=32)
        cfg.target_generator = dict(
            teacher_cfg,
            init_cfg=dict(type='Pretrained', checkpoint=checkpoint, **init))
        return MODELS.build(cfg)

    missing = str(tmp_path / 'no_such_teacher.pth')
    with pytest.raises(FileNotFoundError, match='no_such_teacher.pth'):
        build(missing).init_weights()

    # a checkpoint of another teacher width: every shape differs
    other = MODELS.build(dict(teacher_cfg, encoder_dims=32))
    wrong = str(tmp_path / 'wrong_teacher.pth')
    save_checkpoint(dict(state_dict=other.state_dict(), meta={}), wrong)
    with pytest.raises(RuntimeError, match='wrong_teacher.pth.*shape'):
        build(wrong).init_weights()

    # a checkpoint of something else entirely (a classifier)
    cls_ckpt = str(tmp_path / 'classifier.pth')
    save_checkpoint(
        dict(state_dict={'backbone.cls_token': torch.zeros(1, 1, 48)}),
        cls_ckpt)
    with pytest.raises(RuntimeError, match='classifier.pth.*missing'):
        build(cls_ckpt).init_weights()

    # the teacher of a Stage II checkpoint, by prefix
    torch.manual_seed(3)
    stage2 = build(None)
    stage2.target_generator.init_cfg = None
    stage2.init_weights()
    ckpt2 = str(tmp_path / 'stage2.pth')
    save_checkpoint(dict(state_dict=stage2.state_dict(), meta={}), ckpt2)
    with pytest.raises(RuntimeError, match='stage2.pth.*target_generator'):
        build(ckpt2).init_weights()
    torch.manual_seed(4)
    model = build(ckpt2, prefix='target_generator.')
    model.init_weights()
    for key, value in stage2.target_generator.state_dict().items():
        assert torch.equal(model.target_generator.state_dict()[key],
                           value), key
    assert all(not p.requires_grad
               for p in model.target_generator.parameters())


def test_runner_trains_one_epoch_and_checkpoint_feeds_a_classifier(tmp_path):
    """The experiment config runs under mmengine's Runner (stand-in
    teacher, small widths, demo ShapeNet-55) and its epoch checkpoint
    loads into a classifier backbone with ``prefix='backbone.'``."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(ROOT, 'configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py'))
    cfg.model = _small_model_cfg()
    cfg.work_dir = str(tmp_path / 'work')
    dl = cfg.train_dataloader
    dl.update(batch_size=16, num_workers=0, persistent_workers=False)
    dl.dataset.data_root = osp.join(ROOT, 'data/demo/ShapeNet55-34')
    dl.dataset.pipeline[0]['num_points'] = 256
    dl.dataset.indices = 64  # 4 iterations
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = [
        dict(type='CosineAnnealingLR', T_max=1, eta_min=1e-6, by_epoch=True,
             begin=0, end=1, convert_to_iter_based=True)
    ]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = osp.join(cfg.work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    backbone_cfg = _small_model_cfg().backbone
    backbone_cfg.update(
        mask_ratio=0.,
        init_cfg=dict(type='Pretrained', checkpoint=ckpt,
                      prefix='backbone.'))
    classifier = MODELS.build(
        dict(
            type='ACTClassifier',
            backbone=backbone_cfg,
            head=dict(type='ACTClsHead', num_classes=5, in_channels=48)))
    classifier.init_weights()
    trained = runner.model.backbone.state_dict()
    assert set(classifier.backbone.state_dict()) == set(trained)
    for key, value in classifier.backbone.state_dict().items():
        assert torch.equal(value, trained[key]), key


def _write_shapenet55(root, n_train=2, n_test=2, seed=0):
    """A ShapeNet-55 folder in Point-BERT's layout: (8192, 3) .npy clouds
    and ShapeNet-55/{train,test}.txt file lists."""
    import numpy as np
    rng = np.random.default_rng(seed)
    (root / 'shapenet_pc').mkdir(parents=True)
    (root / 'ShapeNet-55').mkdir()
    for split, n in (('train', n_train), ('test', n_test)):
        names = [f'02691156-{split}{i:04d}.npy' for i in range(n)]
        for name in names:
            np.save(root / 'shapenet_pc' / name,
                    rng.standard_normal((8192, 3)).astype(np.float32))
        (root / 'ShapeNet-55' / f'{split}.txt').write_text(
            '\n'.join(names) + '\n')


def test_full_size_config_runs_one_real_iteration(tmp_path):
    """``configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py`` as written (ViT-S student,
    ViT-B/16-384 teacher loaded strictly from a Stage I checkpoint) runs one
    iteration under the Runner on a ShapeNet-55 folder written here; only
    the batch size, the data root and the teacher's weights (random, as no
    ViT can be downloaded) differ from the paper's run."""
    from mmengine.runner import Runner
    data_root = tmp_path / 'ShapeNet55-34'
    _write_shapenet55(data_root)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py'))
    # the Stage I checkpoint: the full-size teacher with random weights
    torch.manual_seed(0)
    teacher = MODELS.build(
        dict(cfg.model.target_generator, init_cfg=None))
    assert _count(teacher, trainable=False) == 85_056_000
    teacher_ckpt = str(tmp_path / 'stage1.pth')
    save_checkpoint(dict(state_dict=teacher.state_dict(), meta={}),
                    teacher_ckpt)
    teacher_state = {k: v.clone() for k, v in teacher.state_dict().items()}
    del teacher

    cfg.model.target_generator.init_cfg.checkpoint = teacher_ckpt
    cfg.work_dir = str(tmp_path / 'work')
    dl = cfg.train_dataloader
    dl.update(batch_size=4, num_workers=0, persistent_workers=False)
    dl.dataset.data_root = str(data_root)
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    runner = Runner.from_cfg(cfg)
    assert len(runner.train_dataloader) == 1  # train + test = 4 clouds
    model = runner.model
    assert _count(model.backbone) == 21_825_792
    assert model.backbone.mask_ratio == 0.8
    runner.train()
    assert runner.iter == 1
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert 0. < loss < 2.
    for key, value in model.target_generator.state_dict().items():
        if key.endswith(('running_mean', 'running_var',
                         'num_batches_tracked')):
            continue  # BatchNorm statistics follow train() ('reference')
        assert torch.equal(value, teacher_state[key]), key
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_1.pth'))


def test_amp_bf16_step_on_cpu():
    """``--amp`` on CPU (``BF16AutocastOptimWrapper``): the student runs
    under bfloat16 autocast, the float32 teacher has autocast disabled, the
    loss is finite and the teacher is untouched."""
    model = _build()
    model.train()
    wrapper = build_optim_wrapper(
        model,
        dict(type='BF16AutocastOptimWrapper',
             optimizer=dict(type='AdamW', lr=1e-3)))
    before = {k: v.clone() for k, v in
              model.target_generator.named_parameters()}
    student = model.backbone.blocks[0].attn.qkv.weight.clone()
    recorder = _Recorder(qkv=model.backbone.blocks[0].attn.qkv)
    log_vars = model.train_step(_batch(_points()), wrapper)
    recorder.remove()
    assert torch.isfinite(torch.as_tensor(log_vars['loss']))
    (call, ) = model.target_generator.calls
    assert not call['autocast'] and call['out'].dtype == torch.float32
    assert recorder.records['qkv'][1].dtype == torch.bfloat16
    for name, p in model.target_generator.named_parameters():
        assert p.grad is None and torch.equal(p, before[name]), name
    assert not torch.equal(model.backbone.blocks[0].attn.qkv.weight, student)
    assert model.backbone.blocks[0].attn.qkv.weight.dtype == torch.float32
