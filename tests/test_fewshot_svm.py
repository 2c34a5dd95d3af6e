"""tools/analysis_tools/fewshot.py (N-way K-shot folds -> mean +- std) and
svm_probe.py (frozen features -> LinearSVC) on tiny data in the official
formats; the few-shot configs."""
import glob
import importlib.util
import json
import os.path as osp
import pickle
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'act_tools_{name}',
        osp.join(ROOT, 'tools', 'analysis_tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fewshot = _load_tool('fewshot')
svm_probe = _load_tool('svm_probe')
TINY_CLS = osp.join(ROOT, 'tests', 'data', 'tiny_cls.py')
DEMO_CFG = osp.join(ROOT, 'configs', 'demo', 'vit-s_1xb16-coslr-6e_modelnet40-fewshot-demo.py')
PAPER_CFG = osp.join(ROOT, 'configs', 'act', 'vit-s_1xb32-coslr-150e_modelnet40-fewshot.py')
NAMES = ('sphere', 'box', 'rod')
# class index (into NAMES) of each episode label, per fold
FOLD_CLASSES = {0: (2, 0, 1), 1: (1, 2, 0)}
WAY, SHOT = 3, 4
# test clouds per episode label, per fold (unbalanced in fold 1, so that the
# folds' accuracies differ)
FOLD_TESTS = {0: (3, 3, 3), 1: (5, 2, 2)}


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """The models here are tiny: one intra-op thread is several times
    faster than two on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _shape(cls, rng, n=64):
    if cls == 0:  # sphere
        p = rng.normal(size=(n, 3))
        p /= np.linalg.norm(p, axis=1, keepdims=True)
    elif cls == 1:  # box surface
        p = rng.uniform(-1, 1, size=(n, 3))
        axis = rng.integers(0, 3, n)
        p[np.arange(n), axis] = np.sign(p[np.arange(n), axis])
    else:  # rod
        p = rng.uniform(-1, 1, size=(n, 3)) * [0.1, 1, 0.1]
    p = p + rng.normal(scale=0.01, size=p.shape)
    return np.concatenate([p, np.zeros_like(p)], 1).astype(np.float32)


@pytest.fixture(scope='module')
def fewshot_root(tmp_path_factory):
    """ModelNetFewshot/3way_4shot/{0,1}.pkl as generate_few_shot_data.py
    writes them: dict(train=[(points, episode label, class label)], test)."""
    root = tmp_path_factory.mktemp('fewshot')
    folder = root / f'{WAY}way_{SHOT}shot'  # the reference's spelling
    folder.mkdir()
    rng = np.random.default_rng(0)
    for fold, classes in FOLD_CLASSES.items():
        counts = dict(train=(SHOT, ) * WAY, test=FOLD_TESTS[fold])
        content = {
            split: [(_shape(cls, rng), label, np.int32(cls))
                    for label, cls in enumerate(classes)
                    for _ in range(counts[split][label])]
            for split in ('train', 'test')
        }
        with open(folder / f'{fold}.pkl', 'wb') as f:
            pickle.dump(content, f)
    return str(root)


@pytest.fixture(scope='module')
def tiny_fewshot_config(tmp_path_factory, fewshot_root):
    """The demo config shrunk: tiny backbone, 64 points, 2 epochs."""
    path = tmp_path_factory.mktemp('cfg') / 'tiny_fewshot.py'
    path.write_text(f"""
_base_ = [{DEMO_CFG!r}]
data_root = {fewshot_root!r}
label_names = {list(NAMES)!r}
model = dict(
    backbone=dict(embed_dims=32, depth=2, num_heads=2, drop_path_rate=0.,
                  num_groups=8, group_size=8),
    head=dict(in_channels=32, hidden_channels=(), dropout=0.))
pipeline = [dict(type='NormalizePointsToUnitSphere'),
            dict(type='PackPointClsInputs')]
train_dataloader = dict(batch_size=4, dataset=dict(
    data_root=data_root, pipeline=pipeline))
val_dataloader = dict(batch_size=4, dataset=dict(
    data_root=data_root, pipeline=pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = []
train_cfg = dict(max_epochs=2, val_interval=1)
""")
    return str(path)


def test_fewshot_folds_mean_std(tiny_fewshot_config, tmp_path):
    work_dir = str(tmp_path / 'fs')
    result = fewshot.main([
        tiny_fewshot_config, '--way', str(WAY), '--shot', str(SHOT),
        '--folds', '0', '1', '--work-dir', work_dir, '--seed', '3'
    ])
    out = osp.join(work_dir, f'fewshot_{WAY}w{SHOT}s.json')
    assert result['json'] == out
    with open(out) as f:
        saved = json.load(f)
    folds = saved['per_fold']
    assert [f['fold'] for f in folds] == [0, 1]
    for f in folds:
        fold = f['fold']
        # each fold trained on its own pickle, with way outputs
        assert f['train_file'].endswith(
            osp.join(f'{WAY}way_{SHOT}shot', f'{fold}.pkl'))
        assert (f['num_train'], f['num_test']) == (WAY * SHOT,
                                                   sum(FOLD_TESTS[fold]))
        assert f['num_classes'] == WAY
        assert f['classes'] == [NAMES[c] for c in FOLD_CLASSES[fold]]
        assert f['seed'] == 3
        # validated after both epochs; last and best read off the history
        assert [epoch for epoch, _ in f['history']] == [1, 2]
        assert (f['last_epoch'], f['last_acc']) == tuple(f['history'][-1])
        assert f['best_acc'] == max(acc for _, acc in f['history'])
        assert all(0 <= acc <= 100 for _, acc in f['history'])
        # the seed of the fold is in the fold's log
        logs = glob.glob(osp.join(f['work_dir'], '*', '*.log'))
        assert len(logs) == 1
        with open(logs[0]) as log:
            assert f'few-shot fold {fold}: seed 3' in log.read()
    last = np.array([f['last_acc'] for f in folds])
    assert last[0] != last[1]  # else std would be 0 whatever its formula
    assert saved['report'] == 'last epoch'
    assert saved['accuracies'] == last.tolist()
    assert saved['mean'] == pytest.approx(np.mean(last), abs=1e-12)
    assert saved['std'] == pytest.approx(np.std(last), abs=1e-12)
    assert saved['backbone'] == 'from scratch'

    # --best: the best-epoch figures, labelled as such
    best = fewshot.summarize(folds, best=True)
    best_accs = np.array([f['best_acc'] for f in folds])
    assert best['report'] == 'best epoch'
    assert best['mean'] == pytest.approx(np.mean(best_accs), abs=1e-12)
    assert best['std'] == pytest.approx(np.std(best_accs), abs=1e-12)
    table = fewshot.format_table(saved)
    assert f'{saved["mean"]:.2f} +- {saved["std"]:.2f}' in table
    assert 'last epoch' in table


def test_fewshot_summary_is_numpy_mean_std():
    folds = [dict(last_acc=a, best_acc=b)
             for a, b in ((90., 95.), (95., 95.), (100., 100.))]
    last = fewshot.summarize(folds, best=False)
    assert last['report'] == 'last epoch'
    assert last['mean'] == pytest.approx(95.)
    assert last['std'] == pytest.approx(np.sqrt(50. / 3.))  # ddof=0
    best = fewshot.summarize(folds, best=True)
    assert best['report'] == 'best epoch'
    assert best['mean'] == pytest.approx(290. / 3.)


def test_fewshot_fold_config_sets_every_dataset(tmp_path):
    base = Config.fromfile(DEMO_CFG)
    base.label_names = None  # no demo pickles needed
    ckpt = tmp_path / 'stage2.pth'
    ckpt.write_bytes(b'')
    cfg = fewshot.fold_config(base, 10, 20, 7, '/tmp/x', None, str(ckpt),
                              False)
    for key in fewshot.DATALOADERS:
        dataset = cfg[key].dataset
        assert (dataset.way, dataset.shot, dataset.fold) == (10, 20, 7)
    assert cfg.model.head.num_classes == 10
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=str(ckpt), prefix='backbone.')
    assert cfg.work_dir == osp.join('/tmp/x', '10way20shot', 'fold_7')
    assert cfg.randomness.seed == 0  # the config's seed
    # the base config is left untouched
    assert base.train_dataloader.dataset.way == 5

    # a pretrained backbone that is not there stops before any training
    paper = Config.fromfile(PAPER_CFG)
    paper.model.backbone.init_cfg.checkpoint = str(tmp_path / 'none.pth')
    with pytest.raises(FileNotFoundError, match=re.escape('none.pth')):
        fewshot.fold_config(paper, 5, 10, 0, '/tmp/x', None, None, False)
    assert fewshot.fold_config(paper, 5, 10, 0, '/tmp/x', None, None,
                               True).model.backbone.init_cfg is None

    with pytest.raises(ValueError, match=re.escape('tiny_cls.py')):
        fewshot.fold_config(
            Config.fromfile(TINY_CLS), 5, 10, 0, '/tmp/x', None, None, False)


def test_fewshot_configs_paper_settings():
    cfg = Config.fromfile(PAPER_CFG)
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 5e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.optim_wrapper.clip_grad.max_norm == 10
    assert cfg.train_cfg.max_epochs == 150
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 10)
    assert (cosine.type, cosine.begin, cosine.end) == ('CosineAnnealingLR',
                                                       10, 150)
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.train_dataloader.drop_last
    assert cfg.model.backbone.embed_dims == 384
    assert cfg.model.backbone.depth == 12
    assert cfg.model.head.num_classes == cfg.train_dataloader.dataset.way
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=cfg.pretrained, prefix='backbone.')
    for key in fewshot.DATALOADERS:
        assert cfg[key].dataset.type == 'ModelNetFewShotDataset'
        assert cfg[key].dataset.data_root == 'data/ModelNetFewshot'
    assert cfg.val_dataloader.dataset.split == 'test'

    demo = Config.fromfile(DEMO_CFG)
    assert demo.train_dataloader.dataset.data_root == \
        'data/demo/ModelNetFewshot'
    assert demo.model.backbone.init_cfg is None
    assert demo.model.backbone.embed_dims == 384  # the same ViT-S
    assert demo.train_cfg.max_epochs < 10


# ------------------------------------------------------------------ SVM
@pytest.fixture(scope='module')
def tiny_modelnet(tmp_path_factory):
    """ModelNet40-format data: shape names + FPS-cache pickles."""
    root = tmp_path_factory.mktemp('modelnet')
    (root / 'modelnet40_shape_names.txt').write_text('\n'.join(NAMES) + '\n')
    rng = np.random.default_rng(1)
    for split, per_class in (('train', 8), ('test', 4)):
        labels = [c for c in range(3) for _ in range(per_class)]
        points = [_shape(c, rng, n=96) for c in labels]
        with open(root / f'modelnet40_{split}_8192pts_fps.dat', 'wb') as f:
            pickle.dump([points, [np.array([c], np.int32) for c in labels]],
                        f)
    return str(root)


@pytest.fixture(scope='module')
def tiny_classifier(tmp_path_factory):
    """A tiny_cls.py classifier and its checkpoint (mmengine layout)."""
    from mmdet3d.registry import MODELS
    torch.manual_seed(5)
    model = MODELS.build(Config.fromfile(TINY_CLS).model)
    model.init_weights()
    model.eval()
    path = str(tmp_path_factory.mktemp('ckpt') / 'classifier.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return model, path


def _manual_features(backbone, data_root, split):
    """max / mean of the final tokens, computed by hand for each cloud."""
    with open(osp.join(data_root, f'modelnet40_{split}_8192pts_fps.dat'),
              'rb') as f:
        clouds, labels = pickle.load(f)
    feats = []
    for cloud in clouds:
        xyz = cloud[:64, :3] - cloud[:64, :3].mean(0)  # tiny_cls: 64 points
        xyz = xyz / np.linalg.norm(xyz, axis=1).max()
        with torch.no_grad():
            tokens = backbone(torch.from_numpy(xyz)[None].float())
        tokens = tokens['tokens'][-1][0].numpy()  # (G, C)
        feats.append(np.concatenate([tokens.max(0), tokens.mean(0)]))
    return np.stack(feats), np.array([int(l[0]) for l in labels])


def test_svm_probe_matches_sklearn_and_manual_features(
        tiny_modelnet, tiny_classifier, tmp_path):
    from sklearn.svm import LinearSVC
    model, ckpt = tiny_classifier
    out, npz = str(tmp_path / 'svm.json'), str(tmp_path / 'feats.npz')
    result = svm_probe.main([
        TINY_CLS, ckpt, '--data-root', tiny_modelnet, '--C', '0.5',
        '--batch-size', '5', '--out', out, '--save-features', npz
    ])
    with open(out) as f:
        saved = json.load(f)
    assert saved['checkpoint'] == ckpt
    assert saved['loaded']['num_tensors'] == len(model.backbone.state_dict())
    assert (saved['num_train'], saved['num_test']) == (24, 12)
    assert saved['feature_dim'] == 2 * 32

    feats = np.load(npz)
    # features: concat(max, mean) of the tokens of the checkpoint's backbone
    for split in ('train', 'test'):
        manual, labels = _manual_features(model.backbone, tiny_modelnet,
                                          split)
        np.testing.assert_allclose(feats[f'{split}_x'], manual, rtol=1e-4,
                                   atol=1e-5)
        np.testing.assert_array_equal(feats[f'{split}_y'], labels)
    # accuracy: sklearn's LinearSVC on the same features
    clf = LinearSVC(C=0.5, max_iter=1000, random_state=0)
    clf.fit(feats['train_x'], feats['train_y'])
    expected = np.mean(clf.predict(feats['test_x']) == feats['test_y']) * 100
    assert saved['accuracy'] == pytest.approx(expected, abs=1e-9)
    assert result['accuracy'] == saved['accuracy']


def test_svm_probe_standardize_and_cv_choice_match_sklearn():
    """--standardize z-scores with the TRAIN split's statistics and --C cv
    picks C by stratified k-fold CV on the training features only (the
    test split never enters the choice)."""
    from sklearn.model_selection import (GridSearchCV, StratifiedKFold)
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC
    rng = np.random.default_rng(0)
    # 3 classes, a huge shared offset + one dominant nuisance direction:
    # the features a short Stage II leaves (cos to the mean ~0.99)
    centres = rng.normal(size=(3, 16))
    def split(n):
        y = np.repeat(np.arange(3), n)
        x = centres[y] + rng.normal(size=(3 * n, 16))
        x[:, 0] = x[:, 0] * 50 + 400
        return x.astype(np.float32), y
    train_x, train_y = split(12)
    test_x, test_y = split(6)

    z_train, z_test = svm_probe.standardize(train_x, test_x)
    scaler = StandardScaler().fit(train_x)
    np.testing.assert_allclose(z_train, scaler.transform(train_x), atol=1e-4)
    np.testing.assert_allclose(z_test, scaler.transform(test_x), atol=1e-4)

    result = svm_probe.evaluate_svm(train_x, train_y, test_x, test_y, 'cv',
                                    max_iter=20000, standardize_features=True)
    grid = GridSearchCV(
        LinearSVC(max_iter=20000, random_state=0),
        {'C': list(svm_probe.C_GRID)},
        cv=StratifiedKFold(5, shuffle=True, random_state=0)).fit(
            scaler.transform(train_x), train_y)
    assert result['C'] == grid.best_params_['C']
    assert result['cv_accuracy'] == pytest.approx(grid.best_score_ * 100)
    expected = np.mean(grid.predict(scaler.transform(test_x)) == test_y)
    assert result['accuracy'] == pytest.approx(expected * 100)
    # the test labels never enter the choice of C
    shuffled = svm_probe.evaluate_svm(train_x, train_y, test_x,
                                      rng.permutation(test_y), 'cv',
                                      max_iter=20000,
                                      standardize_features=True)
    assert shuffled['C'] == result['C']
    assert shuffled['cv_accuracy'] == result['cv_accuracy']
    # a fixed C reports no CV figure; a bad --C is refused by name
    assert svm_probe.evaluate_svm(train_x, train_y, test_x, test_y,
                                  1.0)['cv_accuracy'] is None
    with pytest.raises(SystemExit):
        svm_probe.parse_args(['cfg.py', '--C', 'auto'])
    with pytest.raises(ValueError, match='2 training clouds'):
        svm_probe.choose_C(train_x[:13], train_y[:13], 100, 0)


def test_svm_probe_pretrainer_checkpoint_and_random_init(
        tiny_modelnet, tiny_classifier, tmp_path):
    model, _ = tiny_classifier
    # a Stage II checkpoint: backbone.* beside the decoder and the teacher
    state = {
        f'backbone.{k}': v
        for k, v in model.backbone.state_dict().items()
    }
    state.update({'decoder.w': torch.zeros(2),
                  'target_generator.w': torch.zeros(2)})
    ckpt = str(tmp_path / 'stage2.pth')
    torch.save(dict(state_dict=state), ckpt)
    backbone = svm_probe.build_backbone(Config.fromfile(TINY_CLS))
    report = svm_probe.load_backbone(backbone, ckpt)
    assert report['num_tensors'] == len(model.backbone.state_dict())
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(backbone.state_dict()[k], v)

    result = svm_probe.main([
        TINY_CLS, '--data-root', tiny_modelnet, '--out',
        str(tmp_path / 'random.json')
    ])
    assert result['checkpoint'] is None and result['loaded'] is None
    assert result['backbone'] == 'random init (seed 0)'
    assert 0 <= result['accuracy'] <= 100


def test_svm_probe_rejects_checkpoint_without_backbone(
        tiny_modelnet, tmp_path):
    bad = str(tmp_path / 'teacher_only.pth')
    torch.save(dict(state_dict={'encoder.w': torch.zeros(2)}), bad)
    with pytest.raises(KeyError, match=re.escape(bad)):
        svm_probe.main([TINY_CLS, bad, '--data-root', tiny_modelnet,
                        '--out', str(tmp_path / 'x.json')])
    other = str(tmp_path / 'other_backbone.pth')
    torch.save(dict(state_dict={'backbone.w': torch.zeros(2)}), other)
    backbone = svm_probe.build_backbone(Config.fromfile(TINY_CLS))
    with pytest.raises(RuntimeError, match=re.escape(other)):
        svm_probe.load_backbone(backbone, other)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        svm_probe.load_backbone(backbone, str(tmp_path / 'missing.pth'))
