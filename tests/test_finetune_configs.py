"""The fine-tuning configs (configs/act/vit-s_1xb32-coslr-300e_*.py and the ScanObjectNN
demo twin): they build, read small files written here in the official
formats, carry the paper's values, load a Stage II ``backbone.*``
checkpoint exactly, and vote only at test time (ModelNet40)."""
import copy
import os
import os.path as osp
import pickle
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import act_mmdet3d  # noqa: F401  (registers the modules)
from act_mmdet3d.datasets import MODELNET40_CLASSES
from act_mmdet3d.datasets.transforms import farthest_point_sample
from mmdet3d.registry import DATASETS, MODELS
from mmdet3d.structures import Det3DDataSample

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MN40 = 'configs/act/vit-s_1xb32-coslr-300e_modelnet40.py'
SCAN = {
    'obj_bg': 'configs/act/vit-s_1xb32-coslr-300e_scanobjectnn-objbg.py',
    'obj_only': 'configs/act/vit-s_1xb32-coslr-300e_scanobjectnn-objonly.py',
    'hardest': 'configs/act/vit-s_1xb32-coslr-300e_scanobjectnn-hardest.py',
}
SCAN_DEMO = 'configs/demo/vit-s_1xb8-coslr-4e_scanobjectnn-objbg-demo.py'
PAPER = [MN40] + list(SCAN.values())
ALL = PAPER + [SCAN_DEMO]
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# the reference's parameter counts (ACT_SPEC.md): backbone 21,825,792
# + head; the demo's head has 10 classes instead of 15
PARAMS = {MN40: 22_099_752, SCAN_DEMO: 22_093_327 - 5 * 257}
PARAMS.update({path: 22_093_327 for path in SCAN.values()})
SCAN_FILES = {
    'obj_bg': 'main_split/{}_objectdataset.h5',
    'obj_only': 'main_split_nobg/{}_objectdataset.h5',
    'hardest': 'main_split/{}_objectdataset_augmentedrot_scale75.h5',
}


@pytest.fixture(autouse=True)
def mmdet3d_scope():
    init_default_scope('mmdet3d')


def load_cfg(path, **options):
    cfg = Config.fromfile(osp.join(ROOT, path))
    if options:
        cfg.merge_from_dict(options)
    return cfg


def point_at(cfg, data_root):
    """Point every dataloader of ``cfg`` at ``data_root``."""
    for key in LOADERS:
        cfg[key]['dataset']['data_root'] = str(data_root)
    return cfg


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Tiny ModelNet40 (.dat FPS cache, 8192 x 6) and ScanObjectNN (h5,
    2048 x 3, all three variants) folders in the official formats."""
    root = tmp_path_factory.mktemp('finetune_data')
    rng = np.random.default_rng(0)

    mn40 = root / 'modelnet40_normal_resampled'
    os.makedirs(mn40)
    (mn40 / 'modelnet40_shape_names.txt').write_text(
        '\n'.join(MODELNET40_CLASSES) + '\n')
    caches = {}
    for split, labels in (('train', [0, 7, 39]), ('test', [3, 12])):
        clouds = []
        for _ in labels:
            xyz = rng.normal(size=(8192, 3)).astype(np.float32) * 0.3 + 1.
            # stored in FPS order from point 0, as the official cache
            xyz = xyz[farthest_point_sample(xyz, 8192, start=0)]
            normals = rng.normal(size=(8192, 3)).astype(np.float32)
            clouds.append(np.concatenate([xyz, normals], 1))
        with open(mn40 / f'modelnet40_{split}_8192pts_fps.dat', 'wb') as f:
            pickle.dump([clouds, [np.array([lb], np.int32)
                                  for lb in labels]], f)
        caches[split] = clouds

    scan = root / 'ScanObjectNN'
    scans = {}
    for variant, pattern in SCAN_FILES.items():
        for split, name, n in (('train', 'training', 4), ('test', 'test', 2)):
            path = scan / pattern.format(name)
            os.makedirs(path.parent, exist_ok=True)
            points = rng.normal(size=(n, 2048, 3)).astype(np.float32)
            labels = rng.integers(0, 15, size=n)
            with h5py.File(path, 'w') as f:
                f['data'] = points
                f['label'] = labels
            scans[variant, split] = (points, labels)
    return dict(mn40=mn40, mn40_caches=caches, scan=scan, scans=scans)


@pytest.fixture(scope='module')
def stage2_checkpoint(tmp_path_factory):
    """A Stage II checkpoint as ``ACTPretrainer`` saves it: the student
    under ``backbone.`` (random values, BatchNorm statistics included) next
    to other modules' keys that fine-tuning must not read."""
    pretrain = load_cfg('configs/_base_/models/act_pretrain.py')
    torch.manual_seed(123)
    student = MODELS.build(pretrain.model.backbone)
    state = {}
    for key, value in student.state_dict().items():
        if value.is_floating_point():
            value = torch.randn_like(value)
        elif key.endswith('num_batches_tracked'):
            value = torch.full_like(value, 7)
        state['backbone.' + key] = value
    state['neck.blocks.0.norm1.weight'] = torch.randn(384)
    state['head.proj.weight'] = torch.randn(384, 384)
    path = tmp_path_factory.mktemp('ckpt') / 'epoch_300.pth'
    torch.save(dict(meta=dict(epoch=300), state_dict=state), path)
    return str(path), state


# ----------------------------------------------------------------- values
@pytest.mark.parametrize('path', PAPER)
def test_paper_values(path):
    cfg = load_cfg(path)
    optim = cfg.optim_wrapper
    assert optim.optimizer.type == 'AdamW'
    assert optim.optimizer.lr == 5e-4
    assert optim.optimizer.weight_decay == 0.05
    assert optim.clip_grad == dict(max_norm=10, norm_type=2)
    assert cfg.train_cfg.max_epochs == 300
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 10)
    assert (cosine.type, cosine.begin, cosine.end, cosine.T_max) == (
        'CosineAnnealingLR', 10, 300, 290)
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.train_dataloader.drop_last
    assert cfg.auto_scale_lr.base_batch_size == 32

    backbone, head = cfg.model.backbone, cfg.model.head
    assert (backbone.embed_dims, backbone.depth, backbone.num_heads) == (
        384, 12, 6)
    assert backbone.drop_path_rate == 0.1
    assert backbone.mask_ratio == 0
    assert head.label_smoothing == 0 and head.dropout == 0.5
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=cfg.pretrained, prefix='backbone.')
    assert cfg.pretrained == 'work_dirs/act_vit-s_1xb128-coslr-300e_shapenet55/epoch_300.pth'
    if path == MN40:
        assert (backbone.num_groups, backbone.group_size) == (64, 32)
        assert head.num_classes == 40
        sub = [t for t in cfg.train_dataloader.dataset.pipeline
               if t.type == 'PointSubsample']
        assert [(t.num_points, t.mode, t.num_candidates, t.fps_start)
                for t in sub] == [(1024, 'fps_random', 1200, 'random')]
        assert cfg.train_dataloader.dataset.num_points == 8192
    else:
        assert (backbone.num_groups, backbone.group_size) == (128, 32)
        assert head.num_classes == 15 and cfg.num_points == 2048
        variant = [v for v, p in SCAN.items() if p == path][0]
        for key in LOADERS:
            assert cfg[key].dataset.variant == variant
        assert [t.type for t in cfg.train_dataloader.dataset.pipeline] == [
            'PointShuffle', 'PointcloudRotate', 'PackPointClsInputs']


@pytest.mark.parametrize('path', ALL)
def test_last_epoch_reporting_and_seed(path):
    """No best-epoch selection by default; the documented switch adds it."""
    cfg = load_cfg(path)
    hook = cfg.default_hooks.checkpoint
    # the atomic CheckpointHook (write to a temporary name, then rename)
    assert hook.type == 'AtomicCheckpointHook' and 'save_best' not in hook
    assert hook.get('save_last', True) and hook.max_keep_ckpts >= 1
    if path in PAPER:
        assert hook.interval == 1
    assert cfg.randomness.seed == 0
    best = load_cfg(
        path, **{'default_hooks.checkpoint.save_best': 'overall_acc',
                 'default_hooks.checkpoint.rule': 'greater'})
    assert best.default_hooks.checkpoint.save_best == 'overall_acc'
    assert best.default_hooks.checkpoint.interval == hook.interval


def test_weight_decay_groups_match_reference():
    """Per parameter, the reference's add_weight_decay: no decay on 1-D
    parameters, biases and '*token*' names (so cls_pos does decay)."""
    cfg = load_cfg(SCAN['hardest'])
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decay = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            decay[id(param)] = group['weight_decay']
    for name, param in model.named_parameters():
        exempt = (param.dim() == 1 or name.endswith('.bias')
                  or 'token' in name)
        assert decay[id(param)] == (0. if exempt else 0.05), name
    assert decay[id(model.backbone.cls_pos)] == 0.05
    assert decay[id(model.backbone.cls_token)] == 0.


# ------------------------------------------------------ models, datasets
@pytest.mark.parametrize('path', ALL)
def test_model_builds_with_reference_parameter_count(path):
    model = MODELS.build(load_cfg(path).model)
    assert sum(p.numel() for p in model.parameters()) == PARAMS[path]


def test_modelnet40_datasets_sample_as_reference(data):
    cfg = point_at(load_cfg(MN40), data['mn40'])
    train = DATASETS.build(cfg.train_dataloader.dataset)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    test = DATASETS.build(cfg.test_dataloader.dataset)
    assert (len(train), len(val), len(test)) == (3, 2, 2)

    # val / test: the cache normalised over all 8192 points, then its first
    # 1024 (= the reference's FPS of 1024 from point 0)
    for i, cache in enumerate(data['mn40_caches']['test']):
        xyz = cache[:, :3] - cache[:, :3].mean(0)
        xyz /= np.sqrt((xyz**2).sum(1)).max()
        sample = test[i]
        np.testing.assert_allclose(sample['inputs']['points'].numpy(),
                                   xyz[:1024], rtol=0, atol=1e-6)
        assert sample['data_samples'].gt_label.item() == [3, 12][i]

    # train: 1024 distinct points, a random subset of an FPS of 1200 from a
    # random start, scaled and translated: a different draw each time
    np.random.seed(0)
    first, second = train[1]['inputs']['points'], train[1]['inputs']['points']
    assert first.shape == (1024, 3) and not torch.equal(first, second)
    assert len(torch.unique(first, dim=0)) == 1024
    assert train[1]['data_samples'].gt_label.item() == 7


@pytest.mark.parametrize('variant', list(SCAN))
def test_scanobjectnn_datasets_sample_as_reference(data, variant):
    cfg = point_at(load_cfg(SCAN[variant]), data['scan'])
    train = DATASETS.build(cfg.train_dataloader.dataset)
    test = DATASETS.build(cfg.test_dataloader.dataset)
    points, labels = data['scans'][variant, 'train']
    test_points, test_labels = data['scans'][variant, 'test']
    assert (len(train), len(test)) == (4, 2)
    # test: the stored clouds, all 2048 points, unchanged
    for i in range(2):
        sample = test[i]
        np.testing.assert_array_equal(sample['inputs']['points'].numpy(),
                                      test_points[i])
        assert sample['data_samples'].gt_label.item() == test_labels[i]
    # train: all 2048 points shuffled and rotated about y (y values and
    # distances to the y axis are kept, x / z change)
    sample = train[2]
    got = sample['inputs']['points'].numpy()
    ref = points[2]
    assert got.shape == (2048, 3)
    assert sample['data_samples'].gt_label.item() == labels[2]
    order = np.argsort(got[:, 1])
    ref_order = np.argsort(ref[:, 1])
    np.testing.assert_allclose(got[order, 1], ref[ref_order, 1], atol=1e-6)
    np.testing.assert_allclose(
        np.hypot(got[order, 0], got[order, 2]),
        np.hypot(ref[ref_order, 0], ref[ref_order, 2]), atol=1e-4)
    assert not np.allclose(got[order], ref[ref_order], atol=1e-3)


def test_scanobjectnn_demo_reads_demo_data():
    cfg = load_cfg(SCAN_DEMO)
    names = open(osp.join(ROOT, 'data/demo/ScanObjectNN_shape_names.txt')
                 ).read().split()
    assert list(cfg.classes) == names
    assert cfg.model.head.num_classes == len(names)
    assert cfg.model.backbone.get('init_cfg') is None  # from scratch by default
    for key in LOADERS:
        assert cfg[key].dataset.variant == 'obj_bg'
    data_root = osp.join(ROOT, cfg.data_root)
    if not osp.exists(osp.join(data_root, 'main_split')):  # a fresh clone
        proc = subprocess.run(
            [sys.executable, 'tools/dataset_converters/create_demo_data.py',
             '--only', 'scanobjectnn'], cwd=ROOT, capture_output=True,
            text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    point_at(cfg, data_root)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    test = DATASETS.build(cfg.test_dataloader.dataset)
    assert (len(train), len(test)) == (300, 100)
    assert train.metainfo['classes'] == tuple(names)
    assert train[0]['inputs']['points'].shape == (2048, 3)


@pytest.mark.parametrize('path', [MN40, SCAN['obj_bg']])
def test_batch_through_model(data, path):
    """Dataset -> collate -> data preprocessor -> loss and prediction."""
    root = data['mn40'] if path == MN40 else data['scan']
    cfg = point_at(load_cfg(path, **{'model.backbone.init_cfg': None}), root)
    model = MODELS.build(cfg.model)
    model.init_weights()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[0], dataset[1]])
    inputs = model.data_preprocessor(batch, True)
    losses = model(**inputs, mode='loss')
    assert torch.isfinite(losses['loss_cls'])
    model.eval()
    out = model.test_step(batch)
    assert len(out) == 2 and out[0].pred_score.shape == (
        cfg.model.head.num_classes, )


# ------------------------------------------------------------ pretrained
def assert_backbone_equals(model, state):
    own = model.backbone.state_dict()
    wanted = {k[len('backbone.'):]: v for k, v in state.items()
              if k.startswith('backbone.')}
    assert set(own) == set(wanted), (  # no missing / unexpected keys
        sorted(set(own) ^ set(wanted))[:5])
    for key, value in own.items():
        assert torch.equal(value, wanted[key]), key


@pytest.mark.parametrize('path', [MN40, SCAN['hardest']])
def test_pretrained_backbone_loads_exactly(path, stage2_checkpoint):
    ckpt, state = stage2_checkpoint
    cfg = load_cfg(path, **{'model.backbone.init_cfg.checkpoint': ckpt})
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert_backbone_equals(model, state)


def test_demo_accepts_pretrained_backbone(stage2_checkpoint):
    ckpt, state = stage2_checkpoint
    cfg = load_cfg(
        SCAN_DEMO, **{
            'model.backbone.init_cfg.type': 'Pretrained',
            'model.backbone.init_cfg.checkpoint': ckpt,
            'model.backbone.init_cfg.prefix': 'backbone.'
        })
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert_backbone_equals(model, state)


def test_missing_pretrained_checkpoint_is_an_error(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    cfg = load_cfg(SCAN['obj_bg'],
                   **{'model.backbone.init_cfg.checkpoint': missing})
    model = MODELS.build(cfg.model)
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        model.init_weights()


# ---------------------------------------------------------------- voting
def test_modelnet40_votes_ten_views_at_test_only():
    cfg = load_cfg(MN40)
    assert cfg.model.num_votes == 1  # the val loop's votes
    assert cfg.model.test_num_votes == 10  # the test loop's
    assert cfg.val_dataloader.dataset.pipeline == \
        cfg.test_dataloader.dataset.pipeline
    for path in SCAN.values():  # the reference does not vote at 2048 points
        assert load_cfg(path).model.num_votes == 1
    # the config's model and the test command's model (header), shrunk to
    # a narrow 1-block backbone to keep the 11 forward passes quick
    small = {'model.backbone.init_cfg': None, 'model.backbone.depth': 1,
             'model.backbone.embed_dims': 48, 'model.backbone.num_heads': 2,
             'model.backbone.num_groups': 16, 'model.head.in_channels': 48}
    model = MODELS.build(load_cfg(MN40, **small).model)
    model.eval()
    points = torch.rand(2, 256, 3) * 2 - 1
    data = dict(inputs=dict(points=list(points)),
                data_samples=[Det3DDataSample() for _ in range(2)])
    calls = []
    handle = model.backbone.register_forward_hook(
        lambda *args: calls.append(1))
    val_out = model.val_step(copy.deepcopy(data))
    val_calls = len(calls)
    test_out = model.test_step(copy.deepcopy(data))
    handle.remove()
    assert (val_calls, len(calls) - val_calls) == (1, 10)
    assert model.num_votes == 1  # restored after the test step
    val_scores = torch.stack([o.pred_score for o in val_out])
    test_scores = torch.stack([o.pred_score for o in test_out])
    assert not torch.allclose(val_scores, test_scores)


# ------------------------------------------------------- reporting switch
def test_save_best_switch_and_seed_in_log(data, tmp_path):
    """The documented switch adds a labelled best-epoch checkpoint next to
    the last ones; mmengine prints the seed in the training log. (A tiny
    classifier on the same hooks and runtime.)"""
    from mmengine.runner import Runner
    cfg = load_cfg(
        'tests/data/tiny_cls.py', **{
            'model.head.num_classes': 40,
            'default_hooks.checkpoint.save_best': 'overall_acc',
            'default_hooks.checkpoint.rule': 'greater',
        })
    point_at(cfg, data['mn40'])
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    names = sorted(os.listdir(tmp_path))
    assert 'epoch_2.pth' in names
    assert any(n.startswith('best_overall_acc_epoch_') for n in names), names
    log = open(runner.logger.handlers[-1].baseFilename).read()
    assert '    seed: 0\n' in log
