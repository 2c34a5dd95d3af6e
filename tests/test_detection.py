"""ScanNet detection with the ACT backbone inside mmdet3d's own detector
configs (VoteNet, GroupFree3D; SUN RGB-D VoteNet builds), on a tiny
ScanNet-format dataset written exactly as mmdet3d's ``tools/create_data.py
scannet`` leaves it (v2 info pkl, points/ instance_mask/ semantic_mask/
*.bin, axis-aligned boxes, a non-trivial axis_align_matrix)."""
import json
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import pytest
import torch

from act_mmdet3d.datasets.demo_scenes import OBJECTS, write_scannet

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
VOTENET = 'configs/act/votenet_act-vit-s_8xb8_scannet-3d.py'
GROUPFREE = 'configs/act/groupfree3d_act-vit-s_head-L6-O256_4xb8_scannet-seg.py'
SUNRGBD = 'configs/act/votenet_act-vit-s_8xb16_sunrgbd-3d.py'


def small_config(path, base, data_root, **backbone):
    """A config inheriting ``base`` for the synthetic rooms: their three
    classes, the data root, no workers, and a small backbone (depth 2,
    width 96, 256 seeds of 16 points) unless overridden."""
    from mmengine.config import Config
    backbone = dict(
        dict(
            init_cfg=None,
            depth=2,
            embed_dims=96,
            num_heads=3,
            num_seeds=256,
            group_size=16), **backbone)
    classes = tuple(OBJECTS)
    mean_sizes = Config.fromfile(osp.join(
        ROOT, base)).model.bbox_head.bbox_coder.mean_sizes[:3]
    loader = dict(num_workers=0, persistent_workers=False)
    text = f"""
_base_ = [{osp.join(ROOT, base)!r}]
classes = {classes!r}
model = dict(
    backbone={backbone!r},
    bbox_head=dict(
        num_classes=3,
        bbox_coder=dict(num_sizes=3, mean_sizes={mean_sizes!r})))
train_dataloader = dict(
    **{loader!r},
    dataset=dict(times=1, dataset=dict(
        data_root={data_root!r}, metainfo=dict(classes=classes))))
val_dataloader = dict(
    **{loader!r},
    dataset=dict(data_root={data_root!r}, metainfo=dict(classes=classes)))
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=1))
"""
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


NUM_POINTS = 2048  # PointSample in the tests' pipelines (stock: 40000)


def pipeline_options(num_points=NUM_POINTS):
    """--cfg-options for the points the pipelines sample per room."""
    return [
        f'train_dataloader.dataset.dataset.pipeline.4.num_points={num_points}',
        'val_dataloader.dataset.pipeline.2.transforms.2.num_points='
        f'{num_points}',
        'test_dataloader.dataset.pipeline.2.transforms.2.num_points='
        f'{num_points}',
    ]


@pytest.fixture(scope='module')
def scannet_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('scannet'))
    write_scannet(root, splits=(('train', 8), ('val', 8)))
    return root


def _build_cfg(config, data_root, tmp_path, **backbone):
    from mmengine.config import Config
    cfg = Config.fromfile(
        small_config(tmp_path / 'cfg.py', config, data_root, **backbone))
    cfg.merge_from_dict({
        key: int(value)
        for key, value in (opt.split('=') for opt in pipeline_options())
    })
    return cfg


# ------------------------------------------------------------- configs


@pytest.mark.parametrize('config,head,width,in_channels', [
    (VOTENET, 'VoteHead', 256, 4),
    (SUNRGBD, 'VoteHead', 256, 4),
    (GROUPFREE, 'GroupFree3DHead', 288, 3),
])
def test_config_builds_through_mmdet3d_registry(config, head, width,
                                                in_channels):
    from mmengine.config import Config

    from mmdet3d.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.custom_imports.imports == [
        'act_mmdet3d', 'act_mmdet3d.compat.install'
    ]
    # mmdet3d's own runtime, with this project's reliable one on top
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.default_hooks.rng_state.type == 'RNGStateHook'
    assert cfg.train_cfg.type == 'ExactResumeEpochBasedTrainLoop'
    backbone = cfg.model.backbone
    # _delete_ replaced PointNet2SASSG's settings entirely
    assert backbone.type == 'ACTSceneBackbone'
    assert 'sa_channels' not in backbone and 'radius' not in backbone
    assert backbone.init_cfg.prefix == 'backbone.'
    assert cfg.val_evaluator.type == 'IndoorMetric'
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'ACTSceneBackbone'
    assert type(model.bbox_head).__name__ == head
    assert model.backbone.out_channels == width  # what the head reads
    assert model.backbone.in_channels == in_channels
    assert len(model.backbone.blocks) == 12
    assert model.backbone.blocks[0].attn.qkv.in_features == 384


# ------------------------------------------------------------- backbone


def test_scene_backbone_outputs_the_point_head_contract():
    from mmdet3d.registry import MODELS
    torch.manual_seed(0)
    small = dict(embed_dims=48, depth=1, num_heads=3, group_size=8)
    backbone = MODELS.build(
        dict(type='ACTSceneBackbone', in_channels=4, num_seeds=64,
             fp_channels=(32, ), **small)).eval()
    points = torch.rand(2, 700, 4) * 3
    out = backbone(points)
    xyz, feats, idx = (out[k][-1]
                       for k in ('fp_xyz', 'fp_features', 'fp_indices'))
    assert xyz.shape == (2, 64, 3) and feats.shape == (2, 32, 64)
    assert idx.shape == (2, 64) and idx.dtype == torch.int64
    assert torch.equal(xyz, torch.stack([points[b, idx[b], :3]
                                         for b in range(2)]))
    assert len(set(idx[0].tolist())) == 64  # FPS: distinct seeds
    # extra channels (height) are ignored: xyz only enter the network
    points2 = points.clone()
    points2[..., 3] = 7.
    assert torch.equal(backbone(points2)['fp_features'][-1], feats)
    with pytest.raises(ValueError, match='in_channels=4'):
        backbone(points[..., :3])
    with pytest.raises(ValueError, match='num_seeds'):
        backbone(points[:, :50])

    # upsampling to more seeds by feature propagation
    up = MODELS.build(
        dict(type='ACTSceneBackbone', num_seeds=64, num_fp_points=200,
             fp_channels=(40, ), **small)).eval()
    out = up(points)
    assert [t.shape[1] for t in out['fp_xyz']] == [64, 200]
    assert out['fp_features'][-1].shape == (2, 40, 200)
    up_idx = out['fp_indices'][-1]
    # FPS prefixes: the 64 token seeds are the first 64 of the 200
    assert torch.equal(up_idx[:, :64], out['fp_indices'][0])
    assert torch.equal(out['fp_xyz'][-1], torch.stack(
        [points[b, up_idx[b], :3] for b in range(2)]))
    with pytest.raises(ValueError, match='fp_channels'):
        MODELS.build(dict(type='ACTSceneBackbone', num_fp_points=2000))


def test_stage2_checkpoint_loads_with_no_missing_transformer_keys(tmp_path):
    """A Stage II checkpoint (the pretrainer's ``backbone.*`` student, an
    ACTPointTransformer with masking, beside its neck / head / teacher)
    loads into the scene backbone through init_cfg with a prefix."""
    from mmengine.runner.checkpoint import _load_checkpoint_with_prefix

    from mmdet3d.registry import MODELS
    torch.manual_seed(1)
    arch = dict(embed_dims=48, depth=2, num_heads=3, group_size=8)
    student = MODELS.build(
        dict(type='ACTPointTransformer', num_groups=16, mask_ratio=0.8,
             **arch))
    student.init_weights()
    state = {f'backbone.{k}': v for k, v in student.state_dict().items()}
    state.update({
        'neck.blocks.0.norm1.weight': torch.ones(48),
        'head.proj.weight': torch.zeros(48, 48),
        'target_generator.encoder.first_conv.0.weight': torch.zeros(1)
    })
    ckpt = tmp_path / 'stage2.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=300)), ckpt)

    scene = MODELS.build(
        dict(type='ACTSceneBackbone', num_seeds=128, fp_channels=(32, ),
             init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                           prefix='backbone.'), **arch))
    loaded = _load_checkpoint_with_prefix('backbone.', str(ckpt))
    missing, unexpected = scene.load_state_dict(loaded, strict=False)
    assert unexpected == []
    assert missing and all(k.startswith('out_mlp.') for k in missing)

    fresh = MODELS.build(
        dict(type='ACTSceneBackbone', num_seeds=128, fp_channels=(32, ),
             init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                           prefix='backbone.'), **arch))
    fresh.init_weights()
    theirs = student.state_dict()
    for key, value in fresh.state_dict().items():
        if not key.startswith('out_mlp.'):
            assert torch.equal(value, theirs[key]), key
    assert any(k.startswith('blocks.1.') for k in theirs)


# ------------------------------------------------------------- data


def test_stock_scannet_dataset_reads_the_synthetic_rooms(scannet_root,
                                                         tmp_path):
    from mmdet3d.registry import DATASETS
    cfg = _build_cfg(VOTENET, scannet_root, tmp_path)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert type(train.dataset).__name__ == 'ScanNetDataset'
    assert len(train) == 8
    with open(osp.join(scannet_root, 'scannet_infos_train.pkl'), 'rb') as f:
        info = pickle.load(f)
    for i in range(2):
        sample = train[i]
        points = sample['inputs']['points']
        gt = sample['data_samples'].gt_instances_3d
        assert points.shape == (NUM_POINTS, 4)  # xyz + height
        assert len(gt.bboxes_3d) == len(info['data_list'][i]['instances'])
        assert set(gt.labels_3d.tolist()) <= {0, 1, 2}
        # after GlobalAlignment (and the random flips / small rotation),
        # every box holds the sampled points of its object
        inside = gt.bboxes_3d.points_in_boxes_all(points[:, :3])
        assert (inside.sum(0) > 50).all()
        sem = sample['data_samples'].gt_pts_seg.pts_semantic_mask
        assert set(sem.unique().tolist()) <= {0, 1, 2, 18}
    test = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(test) == 8 and test[0]['inputs']['points'].shape[0] == \
        NUM_POINTS


# ------------------------------------------------------------- training


def test_groupfree3d_one_iteration_and_indoor_metric(scannet_root,
                                                     tmp_path):
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper

    from mmdet3d.registry import DATASETS, METRICS, MODELS
    cfg = _build_cfg(GROUPFREE, scannet_root, tmp_path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    train = DATASETS.build(cfg.train_dataloader.dataset)
    data = model.data_preprocessor(
        pseudo_collate([train[0], train[1]]), True)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.backbone.blocks[0].attn.qkv.weight.clone()
    losses = model(**data, mode='loss')
    assert 'sampling_objectness_loss' in losses
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    optim.update_params(loss)
    assert not torch.equal(before, model.backbone.blocks[0].attn.qkv.weight)

    model.eval()
    test = DATASETS.build(cfg.test_dataloader.dataset)
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = test.metainfo
    for i in range(len(test)):  # (the rooms hold all 3 classes)
        batch = pseudo_collate([test[i]])
        with torch.no_grad():
            outputs = model.test_step(batch)
        pred = outputs[0].pred_instances_3d  # (untrained: maybe no boxes)
        assert type(pred.bboxes_3d).__name__ == 'DepthInstance3DBoxes'
        assert len(pred.scores_3d) == len(pred.labels_3d)
        metric.process(batch, [o.to_dict() for o in outputs])
    result = metric.compute_metrics(metric.results)
    assert {'mAP_0.25', 'mAP_0.50'} <= set(result)
    assert 0. <= result['mAP_0.25'] <= 1.


def run(args):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout[-3000:] + proc.stderr[-5000:])
    return proc.stdout + proc.stderr


def _last_json(work):
    found = []
    for dirpath, _, files in os.walk(work):
        found += [osp.join(dirpath, f) for f in files if f.endswith('.json')
                  and not f.startswith('scalars')]
    assert found, f'no json results under {work}'
    return sorted(found)[-1]


def test_votenet_short_training_lifts_map_through_tools(scannet_root,
                                                       tmp_path):
    """tools/train.py then tools/test.py on the synthetic rooms: 100
    iterations (8 rooms, batch 4, the stock schedule's learning-rate steps
    at epochs 24 and 32) take mAP_0.25 on the 8 held-out rooms from ~0 to
    well above it (the README quotes the figure)."""
    cfg = small_config(tmp_path / 'votenet.py', VOTENET, scannet_root)
    work = str(tmp_path / 'work')
    log = run([
        'tools/train.py', cfg, '--work-dir', work, '--cfg-options',
        *pipeline_options(), 'train_dataloader.batch_size=4',
        'train_cfg.max_epochs=50', 'train_cfg.val_interval=50',
        'default_hooks.checkpoint.interval=50',
        'default_hooks.logger.interval=10', 'randomness.seed=0'
    ])
    assert re.search(r'Epoch\(train\) +\[1\]\[2/2\].*vote_loss', log)
    ckpt = osp.join(work, 'epoch_50.pth')
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert state['meta']['iter'] == 100
    assert 'backbone.blocks.1.attn.qkv.weight' in state['state_dict']

    log = run([
        'tools/test.py', cfg, ckpt, '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *pipeline_options()
    ])
    assert 'mAP_0.25' in log and 'mAP_0.50' in log
    result = [json.loads(line)
              for line in open(_last_json(tmp_path / 'test'))][-1]
    print('short run: mAP_0.25 %.4f, mAP_0.50 %.4f' %
          (result['mAP_0.25'], result['mAP_0.50']))
    assert result['mAP_0.25'] > 0.15  # measured 0.27-0.43; ~0.03 at 50
    assert 0. <= result['mAP_0.50'] <= result['mAP_0.25']


def test_groupfree3d_one_iteration_through_tools(scannet_root, tmp_path):
    """The GroupFree3D swap through mmdet3d's CLI as a user runs it: one
    training iteration with tools/train.py (4 rooms, batch 4), then
    tools/test.py on 2 held-out rooms with IndoorMetric."""
    cfg = small_config(tmp_path / 'groupfree3d.py', GROUPFREE, scannet_root)
    work = str(tmp_path / 'work')
    log = run([
        'tools/train.py', cfg, '--work-dir', work, '--cfg-options',
        *pipeline_options(), 'train_dataloader.batch_size=4',
        'train_dataloader.dataset.dataset.indices=4',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=10',
        'default_hooks.checkpoint.interval=1', 'randomness.seed=0'
    ])
    assert re.search(r'Epoch\(train\) +\[1\]\[1/1\].*sampling_objectness_'
                     r'loss', log)
    ckpt = osp.join(work, 'epoch_1.pth')
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert state['meta']['iter'] == 1
    assert 'backbone.blocks.1.attn.qkv.weight' in state['state_dict']
    assert any(k.startswith('bbox_head.decoder_layers.5.')
               for k in state['state_dict'])

    log = run([
        'tools/test.py', cfg, ckpt, '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *pipeline_options(),
        'test_dataloader.dataset.indices=2'
    ])
    result = [json.loads(line)
              for line in open(_last_json(tmp_path / 'test'))][-1]
    assert {'mAP_0.25', 'mAP_0.50'} <= set(result)
    assert 0. <= result['mAP_0.50'] <= result['mAP_0.25'] <= 1.
