"""tools/analysis_tools/visualize.py and act_mmdet3d.visualization: every
mode writes a PNG of the requested size that decodes and is not blank,
different inputs give different pictures, curves read a real training run's
scalars.json, the hook draws at the right epochs, bad input fails with a
clear message.

Tiny models (2-3 blocks, 32 wide) on the demo data; no display needed."""
import glob
import os
import os.path as osp
import pickle
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from _helpers import load_tool

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

AE = osp.join(ROOT, 'configs/demo/act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py')
PRETRAIN = osp.join(ROOT, 'configs/demo/act_vit-s_1xb16-coslr-3e_shapenet55-demo.py')
PARTSEG = osp.join(ROOT, 'configs/demo/vit-s_1xb16-coslr-4e_shapenetpart-demo.py')
CLS = osp.join(ROOT, 'configs/demo/vit-s_1xb16-coslr-6e_modelnet40-demo.py')
TINY_TEACHER = [
    'model.encoder_dims=32', 'model.num_tokens=64', 'model.tokens_dims=32',
    'model.decoder_dims=32', 'model.vit_name=test_vit', 'model.num_prompts=2',
    'model.num_groups=16', 'model.group_size=16'
]
TINY_BACKBONE = [
    'model.backbone.embed_dims=32', 'model.backbone.depth=2',
    'model.backbone.num_heads=2', 'model.backbone.num_groups=32',
    'model.backbone.group_size=16'
]
TINY_SEG = [
    'model.backbone.embed_dims=32', 'model.backbone.depth=3',
    'model.backbone.num_heads=2', 'model.backbone.out_indices=[0,1,2]',
    'model.backbone.num_groups=16', 'model.backbone.group_size=16',
    'model.decode_head.in_channels=96',
    'model.decode_head.fp_channels=[64,32]',
    'model.decode_head.mid_channels=32', 'model.decode_head.channels=32',
    'test_dataloader.dataset.pipeline.1.num_points=256'
]


def png(path, size=None):
    """The decoded RGB picture; checks its size and that it is not blank."""
    assert osp.isfile(path), path
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        arr = np.asarray(im.convert('RGB')).astype(np.int16)
    if size is not None:
        assert (arr.shape[1], arr.shape[0]) == tuple(size), arr.shape
    colours = np.unique(arr.reshape(-1, 3), axis=0)
    assert len(colours) > 20 and arr.std() > 5, f'{path} looks blank'
    return arr


def differ(a, b):
    """Fraction of pixels that differ between two pictures."""
    return float((np.abs(a - b).sum(-1) > 30).mean())


def title(fig):
    return fig._suptitle.get_text()


def save_state(module, path):
    torch.save({'state_dict': module.state_dict()}, path)
    return str(path)


def build_random(mode, config, options, seed=0):
    """The module ``mode`` builds, randomly initialised (no checkpoint)."""
    from mmdet3d.registry import MODELS

    from act_mmdet3d.visualization.api import load_config, module_config
    cfg = load_config(config, options)
    sub, _ = module_config(mode, cfg)
    torch.manual_seed(seed)
    return MODELS.build(sub), cfg


@pytest.fixture(scope='module')
def cloud():
    """A unit sphere of 512 points, its 16 x 32 groups."""
    from act_mmdet3d.models.layers.point_tokenizer import PointGrouper
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(512, 3)).astype(np.float32)
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    pts[:, 1] *= 1.5  # taller than wide: views differ
    groups = PointGrouper(16, 32)(torch.from_numpy(pts)[None])
    return pts, groups.centers[0], groups.neighbor_idx[0]


# ------------------------------------------------- drawing functions
def test_every_draw_function_writes_the_requested_size(cloud, tmp_path):
    from mmdet3d.structures import DepthInstance3DBoxes

    from act_mmdet3d import visualization as vis
    pts, centers, idx = cloud
    mask = torch.zeros(16, dtype=torch.bool)
    mask[:13] = True
    labels = (pts[:, 1] > 0).astype(np.int64) + 12  # Chair parts 12, 13
    boxes = DepthInstance3DBoxes(torch.tensor([[0., 0., -1., 2., 2., 3.,
                                                0.3]]))
    records = [dict(iter=i, loss=1. / i, lr=1e-3) for i in range(1, 9)]
    records.append(dict(step=1, overall_acc=50.))
    emb = vis.embed_tsne(np.random.default_rng(0).normal(size=(30, 8)))
    figures = {
        'groups': lambda s: vis.draw_groups(pts, centers, idx, size=s),
        'mask': lambda s: vis.draw_mask(pts, centers, idx, mask, size=s),
        'reconstruction': lambda s: vis.draw_reconstruction(
            pts, pts[::4], pts * 1.01, 12.3, size=s),
        'partseg': lambda s: vis.draw_partseg(pts, labels, labels,
                                              [12, 13, 14, 15], 'Chair',
                                              size=s),
        'detection': lambda s: vis.draw_detection(pts, boxes, boxes, [0.8],
                                                  size=s),
        'curves': lambda s: vis.draw_curves({'run': records}, size=s),
        'tsne': lambda s: vis.draw_tsne(emb, np.arange(30) % 3, size=s),
    }
    assert set(figures) == set(vis.MODES)
    for mode, draw in figures.items():
        sizes = ((333, 211), (640, 480)) if mode == 'groups' else ((333,
                                                                    211), )
        for size in sizes:
            path = vis.save_figure(draw(size), str(tmp_path / f'{mode}.png'))
            png(path, size)
    # 8-bit palette PNGs (for pictures kept in the repository): smaller,
    # same size, same look
    full = png(path)
    small = vis.save_figure(figures['tsne']((333, 211)),
                            str(tmp_path / 'palette.png'), palette=True)
    with Image.open(small) as im:
        assert im.mode == 'P'
    assert os.path.getsize(small) < os.path.getsize(path)
    assert differ(png(small, (333, 211)), full) < 0.01


def test_titles_name_the_sample_model_and_checkpoint(cloud):
    from act_mmdet3d.visualization import draw_groups
    pts, centers, idx = cloud
    fig = draw_groups(pts, centers, idx, size=(900, 500), sample='test[3]',
                      model='ACTClassifier (x.py)', checkpoint='a/epoch_6.pth')
    text = title(fig)
    assert '16 FPS centres x 32' in text
    assert 'test[3]' in text and 'ACTClassifier (x.py)' in text
    assert 'epoch_6.pth' in text and 'a/epoch_6' not in text
    assert 'random init' in title(draw_groups(pts, centers, idx,
                                              checkpoint=''))


def test_views_share_equal_axis_scales(cloud):
    from act_mmdet3d.visualization import draw_reconstruction
    pts, _, _ = cloud
    fig = draw_reconstruction(pts, pts[::4] * 0.5, pts * 2., None,
                              up='z')
    axes = [ax for ax in fig.axes if ax.name == '3d']
    assert len(axes) == 9  # 3 rows x 3 views
    limits = {(ax.get_xlim(), ax.get_ylim(), ax.get_zlim()) for ax in axes}
    assert len(limits) == 1  # every panel the same box
    (x, y, z), = limits
    spans = np.array([x[1] - x[0], y[1] - y[0], z[1] - z[0]])
    # the largest cloud (x2, 1.5 taller along y) fits, box edges in
    # proportion to the ranges
    assert spans[1] > 5.9 and spans[1] > spans[0]
    aspect = axes[0].get_box_aspect()
    np.testing.assert_allclose(aspect / aspect.max(), spans / spans.max(),
                               rtol=1e-6)


def test_partseg_perfect_vs_wrong_prediction(cloud, tmp_path):
    from act_mmdet3d.evaluation import PartSegMetric
    from act_mmdet3d.visualization import draw_partseg, save_figure
    pts, _, _ = cloud
    gt = (pts[:, 1] > 0).astype(np.int64) + 12
    wrong = gt.copy()
    wrong[pts[:, 0] > 0.3] = 14
    figs = {
        name: draw_partseg(pts, pred, gt, [12, 13, 14, 15], 'Chair',
                           size=(480, 360))
        for name, pred in (('perfect', gt), ('wrong', wrong))
    }
    assert 'shape mIoU 100.0%' in title(figs['perfect'])
    # the title's mIoU is PartSegMetric's instance mIoU of that shape
    metric = PartSegMetric()
    metric.dataset_meta = dict(
        classes=('Airplane', 'Bag', 'Cap', 'Car', 'Chair'),
        seg_classes={'Airplane': [0, 1, 2, 3], 'Bag': [4, 5], 'Cap': [6, 7],
                     'Car': [8, 9, 10, 11], 'Chair': [12, 13, 14, 15]})
    metric.process({}, [dict(category=4,
                             gt_pts_seg=dict(pts_semantic_mask=gt),
                             pred_pts_seg=dict(pts_semantic_mask=wrong))])
    miou = metric.compute_metrics(metric.results)['instance_mIoU']
    assert miou < 90
    assert f'shape mIoU {miou:.1f}%' in title(figs['wrong'])
    a = png(save_figure(figs['perfect'], str(tmp_path / 'a.png')))
    b = png(save_figure(figs['wrong'], str(tmp_path / 'b.png')))
    assert differ(a, b) > 0.01


def test_detection_from_a_hand_built_data_sample(tmp_path):
    """mmdet3d's generic outputs: pred_instances_3d + eval_ann_info."""
    from mmdet3d.structures import (Det3DDataSample, DepthInstance3DBoxes,
                                    LiDARInstance3DBoxes)
    from mmengine.structures import InstanceData

    from act_mmdet3d.visualization import (BOX_EDGES, draw_detection,
                                           draw_sample, save_figure)
    from act_mmdet3d.visualization.detection import up_axis_of

    gt = DepthInstance3DBoxes(
        torch.tensor([[1., 1., 0., 1., .6, .8, .4], [3., 2., 0., 1.2, 1.2,
                                                      1., 0.]]))
    # the 12 edges of every box: 4 along each of its sizes
    corners = gt.corners[0]
    lengths = sorted(float((corners[i] - corners[j]).norm())
                     for i, j in BOX_EDGES)
    assert len(BOX_EDGES) == 12
    np.testing.assert_allclose(lengths, sorted([.6] * 4 + [.8] * 4 +
                                               [1.] * 4), atol=1e-5)
    assert up_axis_of(gt) == 'z' and up_axis_of(
        LiDARInstance3DBoxes(gt.tensor)) == 'z'

    rng = np.random.default_rng(0)
    points = np.c_[rng.uniform(0, 4, (3000, 2)), rng.uniform(0, 1, 3000)]
    sample = Det3DDataSample(metainfo=dict(lidar_path='scene0000_00.bin'))
    sample.eval_ann_info = dict(gt_bboxes_3d=gt, gt_labels_3d=np.array([0,
                                                                        1]))

    class FakeDetector(torch.nn.Module):
        def test_step(self, data):
            (s, ) = data['data_samples']
            s.pred_instances_3d = InstanceData(
                bboxes_3d=DepthInstance3DBoxes(gt.tensor + 0.1),
                scores_3d=torch.tensor([0.9, 0.2]),
                labels_3d=torch.tensor([0, 1]))
            return [s]

    item = dict(inputs=dict(points=torch.from_numpy(points).float()),
                data_samples=sample)
    dataset = _ListDataset([item], dict(classes=('chair', 'table')))
    fig = draw_sample('detection', FakeDetector(), dataset, 0,
                      draw_kwargs=dict(size=(600, 300), score_thr=0.5))
    text = title(fig)
    assert '1 of 2 predictions drawn (score >= 0.5), 2 ground-truth' in text
    assert 'scene0000_00.bin' in text
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ['ground truth (2)', 'chair 0.90']
    with_boxes = png(save_figure(fig, str(tmp_path / 'a.png')), (600, 300))
    no_boxes = png(save_figure(
        draw_detection(points, None, None, size=(600, 300)),
        str(tmp_path / 'b.png')))
    assert differ(with_boxes, no_boxes) > 0.005


class _ListDataset:
    """A list of packed items with a metainfo, like an mmengine dataset."""

    def __init__(self, items, metainfo):
        self.items, self.metainfo = items, metainfo

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


# ------------------------------------------------ configs + checkpoints
def test_mask_ratio_0_vs_08_through_the_cli(tmp_path):
    visualize = load_tool('tools/analysis_tools/visualize.py')
    base = ['mask', PRETRAIN, '--cfg-options', *TINY_BACKBONE, '--size',
            '400', '300', '--index', '2']
    (zero, ) = visualize.main(base + ['--mask-ratio', '0', '--out',
                                      str(tmp_path / 'r0')])
    (eighty, ) = visualize.main(base + ['--mask-ratio', '0.8', '--out',
                                        str(tmp_path / 'r8')])
    assert osp.basename(zero) == 'mask_act_vit-s_1xb16-coslr-3e_shapenet55-demo_train2.png'
    assert differ(png(zero, (400, 300)), png(eighty, (400, 300))) > 0.01

    # the masks themselves: none vs round(0.8 * 32) = 26 of 32 groups, the
    # same with the same seed, from the config's ratio by default
    from act_mmdet3d.visualization.api import build_dataset, build_model
    from act_mmdet3d.visualization.api import load_config
    from act_mmdet3d.visualization.model_pictures import (mask_arrays,
                                                          sample_points,
                                                          seeded)
    cfg = load_config(PRETRAIN, TINY_BACKBONE)
    student = build_model('mask', cfg)
    dataset, _ = build_dataset(cfg)
    points = sample_points(dataset[2])
    with seeded(0):
        m0 = mask_arrays(student, points, 0.)['mask']
    with seeded(0):
        m8 = mask_arrays(student, points)['mask']
    with seeded(0):
        again = mask_arrays(student, points)['mask']
    assert int(m0.sum()) == 0 and int(m8.sum()) == 26
    assert torch.equal(m8, again) and student.mask_ratio == 0.8


def test_reconstruction_and_groups_from_a_stage1_checkpoint(tmp_path):
    from act_mmdet3d.evaluation.metrics import ChamferDistanceMetric
    from act_mmdet3d.visualization import draw_sample, render
    from act_mmdet3d.visualization.api import build_dataset, build_model
    from act_mmdet3d.visualization.model_pictures import (sample_points,
                                                          seeded)
    teacher, cfg = build_random('reconstruction', AE, TINY_TEACHER)
    ckpt = save_state(teacher, tmp_path / 'stage1.pth')
    paths = render('reconstruction', AE, ckpt, indices=[0, 1],
                   out_dir=str(tmp_path), cfg_options=TINY_TEACHER,
                   draw_kwargs=dict(size=(480, 400)))
    pictures = [png(p, (480, 400)) for p in paths]
    assert differ(*pictures) > 0.01  # two different clouds
    paths = render('groups', AE, ckpt, out_dir=str(tmp_path),
                   cfg_options=TINY_TEACHER,
                   draw_kwargs=dict(size=(400, 300)))
    assert osp.basename(paths[0]) == (
        'groups_act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo_test0.png')
    png(paths[0], (400, 300))

    # the CD-L1 in the title is ChamferDistanceMetric's for that sample
    model = build_model('reconstruction', cfg, ckpt)
    dataset, split = build_dataset(cfg)
    fig = draw_sample('reconstruction', model, dataset, 1, split=split)
    with seeded(0):
        points = sample_points(dataset[1])
        out = model.predict(points)
    metric = ChamferDistanceMetric()
    metric.process({}, out)
    cd = metric.compute_metrics(metric.results)['CDL1']
    assert f'CD-L1 x1000 = {cd:.2f}' in title(fig)
    assert 'stage1.pth' not in title(fig)  # given as a model, no path


def test_partseg_cli_path(tmp_path):
    visualize = load_tool('tools/analysis_tools/visualize.py')
    seg, _ = build_random('partseg', PARTSEG, TINY_SEG)
    ckpt = save_state(seg, tmp_path / 'seg.pth')
    paths = visualize.main(['partseg', PARTSEG, ckpt, '--index', '0', '3',
                            '--out', str(tmp_path), '--size', '360', '300',
                            '--cfg-options', *TINY_SEG])
    assert [osp.basename(p) for p in paths] == [
        'partseg_vit-s_1xb16-coslr-4e_shapenetpart-demo_test0.png',
        'partseg_vit-s_1xb16-coslr-4e_shapenetpart-demo_test3.png'
    ]
    for path in paths:
        png(path, (360, 300))


def test_tsne_of_60_clouds(tmp_path):
    from act_mmdet3d.visualization import render
    from act_mmdet3d.visualization.model_pictures import dataset_features
    (path, ) = render('tsne', CLS, None, out_dir=str(tmp_path),
                      cfg_options=TINY_BACKBONE, max_samples=60,
                      draw_kwargs=dict(size=(500, 400)))
    assert osp.basename(path) == 'tsne_vit-s_1xb16-coslr-6e_modelnet40-demo_test.png'
    png(path, (500, 400))
    # 60 clouds evenly spaced over the split cover every class
    from act_mmdet3d.visualization.api import (build_dataset, build_model,
                                               load_config)
    cfg = load_config(CLS, TINY_BACKBONE)
    dataset, _ = build_dataset(cfg)
    feats, labels = dataset_features(build_model('tsne', cfg), dataset, 60)
    assert feats.shape == (60, 64) and np.isfinite(feats).all()
    assert len(set(labels.tolist())) == len(dataset.metainfo['classes'])


def _scannet_scene(root):
    """One scene in mmdet3d's ScanNet v2 info format, two boxes."""
    os.makedirs(osp.join(root, 'points'))
    rng = np.random.default_rng(0)
    pts = np.c_[rng.uniform(0, 4, (2000, 3)),
                rng.uniform(0, 255, (2000, 3))].astype(np.float32)
    pts.tofile(osp.join(root, 'points', 'scene0000_00.bin'))
    info = dict(
        metainfo=dict(dataset='scannet', info_version='1.1'),
        data_list=[
            dict(
                sample_idx='scene0000_00',
                lidar_points=dict(num_pts_feats=6,
                                  lidar_path='scene0000_00.bin'),
                pts_instance_mask_path='scene0000_00.bin',
                pts_semantic_mask_path='scene0000_00.bin',
                axis_align_matrix=np.eye(4).tolist(),
                instances=[
                    dict(bbox_3d=[1., 1., .5, 1., .8, 1.], bbox_label_3d=2),
                    dict(bbox_3d=[3., 2.5, .4, 1.5, 1., .8], bbox_label_3d=6),
                ])
        ])
    with open(osp.join(root, 'scannet_infos_val.pkl'), 'wb') as f:
        pickle.dump(info, f)


@pytest.fixture(scope='module')
def scannet_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('scannet'))
    _scannet_scene(root)
    return root


def test_detection_cli_on_an_mmdet3d_detector_config(tmp_path,
                                                     scannet_root):
    """The CLI path with any mmdet3d detector config: a stand-in
    detector (known predictions) on a ScanNet-format scene."""
    visualize = load_tool('tools/analysis_tools/visualize.py')
    from mmdet3d.registry import MODELS
    from mmengine.model import BaseModel
    from mmengine.structures import InstanceData

    @MODELS.register_module(name='_VisTestDetector', force=True)
    class _VisTestDetector(BaseModel):
        """Predicts the ground truth shifted by ``shift`` metres in x."""

        def __init__(self, data_preprocessor=None, init_cfg=None):
            super().__init__(data_preprocessor=dict(
                type='Det3DDataPreprocessor'), init_cfg=init_cfg)
            self.shift = torch.nn.Parameter(torch.tensor(0.))

        def forward(self, inputs, data_samples=None, mode='predict'):
            for s in data_samples:
                boxes = s.eval_ann_info['gt_bboxes_3d'].clone()
                boxes.translate([float(self.shift), 0., 0.])
                s.pred_instances_3d = InstanceData(
                    bboxes_3d=boxes,
                    scores_3d=torch.tensor([0.95, 0.4]),
                    labels_3d=torch.as_tensor(
                        s.eval_ann_info['gt_labels_3d']))
            return data_samples

    root = scannet_root
    config = tmp_path / 'det.py'
    config.write_text(f"""
default_scope = 'mmdet3d'
model = dict(type='_VisTestDetector')
test_dataloader = dict(dataset=dict(
    type='ScanNetDataset', data_root={root!r},
    ann_file='scannet_infos_val.pkl', data_prefix=dict(pts='points'),
    box_type_3d='Depth', test_mode=True,
    pipeline=[dict(type='LoadPointsFromFile', coord_type='DEPTH',
                   load_dim=6, use_dim=[0, 1, 2]),
              dict(type='Pack3DDetInputs', keys=['points'])]))
""")
    torch.save({'state_dict': {'shift': torch.tensor(0.3)}},
               tmp_path / 'det.pth')
    (path, ) = visualize.main(['detection', str(config),
                               str(tmp_path / 'det.pth'), '--out',
                               str(tmp_path), '--size', '700', '320',
                               '--score-thr', '0.1'])
    png(path, (700, 320))
    assert osp.basename(path) == 'detection_det_test0.png'
    # the checkpoint's shift was loaded: the predictions sit 0.3 m off
    from act_mmdet3d.visualization.api import (build_dataset, build_model,
                                               load_config)
    from act_mmdet3d.visualization.model_pictures import detection_arrays
    cfg = load_config(str(config))
    model = build_model('detection', cfg, str(tmp_path / 'det.pth'))
    dataset, _ = build_dataset(cfg)
    arrays = detection_arrays(model, dataset[0], dataset.metainfo)
    shift = arrays['pred_boxes'].tensor[:, 0] - arrays['gt_boxes'].tensor[:, 0]
    np.testing.assert_allclose(shift.numpy(), 0.3, atol=1e-6)
    # labels and class names from the dataset (ScanNet's 18 classes)
    names = [arrays['class_names'][i] for i in arrays['gt_labels']]
    assert names == ['chair', 'window']


def test_detection_cli_on_the_act_votenet_config(tmp_path, scannet_root):
    """configs/act/votenet_act-vit-s_8xb8_scannet-3d.py (mmdet3d's VoteNet, ACT
    backbone), shrunk, a randomly initialised checkpoint, on CPU."""
    visualize = load_tool('tools/analysis_tools/visualize.py')
    config = osp.join(ROOT, 'configs/act/votenet_act-vit-s_8xb8_scannet-3d.py')
    opts = [
        'model.backbone.embed_dims=32', 'model.backbone.depth=2',
        'model.backbone.num_heads=2', 'model.backbone.num_seeds=256',
        'model.backbone.group_size=16',
        f'test_dataloader.dataset.data_root={scannet_root}'
    ]
    detector, _ = build_random('detection', config, opts)
    ckpt = save_state(detector, tmp_path / 'votenet.pth')
    (path, ) = visualize.main(['detection', config, ckpt, '--out',
                               str(tmp_path), '--size', '640', '300',
                               '--cfg-options', *opts])
    assert osp.basename(path) == 'detection_votenet_act-vit-s_8xb8_scannet-3d_test0.png'
    png(path, (640, 300))


# ------------------------------------------------------------- errors
def test_clear_errors(tmp_path, capsys):
    visualize = load_tool('tools/analysis_tools/visualize.py')

    from act_mmdet3d.visualization import draw_sample, render
    with pytest.raises(SystemExit):
        visualize.main(['sketch', AE])
    assert "invalid choice: 'sketch'" in capsys.readouterr().err
    with pytest.raises(ValueError, match='unknown visualization mode'):
        render('sketch', AE)
    with pytest.raises(FileNotFoundError, match='checkpoint not found: '
                       'nowhere.pth'):
        render('reconstruction', AE, 'nowhere.pth',
               cfg_options=TINY_TEACHER)
    with pytest.raises(ValueError, match='partseg" draws a trained model: '
                       'give its CHECKPOINT'):
        render('partseg', PARTSEG, None, cfg_options=TINY_SEG)
    with pytest.raises(IndexError, match=r'sample index 70 is out of range: '
                       r'the test split has 70 samples \(0..69\)'):
        render('groups', PARTSEG, None, indices=[70], out_dir=str(tmp_path),
               cfg_options=TINY_SEG)
    with pytest.raises(TypeError, match='mode "mask" needs'):
        render('mask', AE, None, cfg_options=TINY_TEACHER)
    with pytest.raises(FileNotFoundError, match='no such work dir'):
        visualize.main(['curves', str(tmp_path / 'missing')])
    with pytest.raises(FileNotFoundError, match='vis_data/scalars.json'):
        visualize.main(['curves', str(tmp_path)])
    with pytest.raises(SystemExit):
        visualize.main(['groups', AE, 'a.pth', 'b.pth'])
    # a checkpoint of another model names the file and the mismatch
    wrong = save_state(torch.nn.Linear(2, 2), tmp_path / 'linear.pth')
    with pytest.raises(RuntimeError, match='linear.pth does not match'):
        render('reconstruction', AE, wrong, cfg_options=TINY_TEACHER)
    with pytest.raises(IndexError, match='out of range'):
        draw_sample('groups', torch.nn.Identity(), _ListDataset([], {}), 0)


# ------------------------------------------ training run, curves, hook
@pytest.fixture(scope='module')
def train_run(tmp_path_factory):
    """tools/train.py, 3 epochs of a tiny classifier on the demo ModelNet
    data, the hook drawing every 2 epochs, scalars to LocalVisBackend and
    TensorboardVisBackend."""
    tmp = tmp_path_factory.mktemp('train')
    data_root = osp.join(ROOT, 'data/demo/ModelNet/modelnet40_normal_'
                         'resampled')
    config = tmp / 'tiny_vis.py'
    config.write_text(f"""
_base_ = [{osp.join(ROOT, 'tests/data/tiny_cls.py')!r}]
model = dict(head=dict(num_classes=10))
train_dataloader = dict(dataset=dict(data_root={data_root!r}, indices=16))
val_dataloader = dict(dataset=dict(data_root={data_root!r}, indices=8))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=3, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=3))
custom_hooks = [dict(type='ACTVisualizationHook', draw=True, interval=2,
                     modes=['groups'], indices=[0, 5], size=(320, 240))]
visualizer = dict(type='Visualizer', vis_backends=[
    dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
""")
    work_dir = tmp / 'work'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/train.py'), str(config),
         '--work-dir', str(work_dir)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work_dir, proc.stdout + proc.stderr


def test_hook_draws_at_the_right_epochs(train_run):
    work_dir, log = train_run
    assert sorted(os.listdir(work_dir / 'vis')) == ['epoch_2']
    for index in (0, 5):
        png(str(work_dir / 'vis' / 'epoch_2' / f'groups_val{index}.png'),
            (320, 240))
    assert 'ACTVisualizationHook: 2 pictures' in log


def test_scalars_go_to_local_and_tensorboard_backends(train_run):
    work_dir, _ = train_run
    (vis_data, ) = glob.glob(str(work_dir / '*' / 'vis_data'))
    assert osp.isfile(osp.join(vis_data, 'scalars.json'))
    assert glob.glob(osp.join(vis_data, 'events.out.tfevents.*'))


def test_curves_read_a_training_run(train_run, tmp_path):
    visualize = load_tool('tools/analysis_tools/visualize.py')

    from act_mmdet3d.utils import read_scalars
    from act_mmdet3d.visualization import draw_curves
    work_dir, _ = train_run
    records = read_scalars(str(work_dir))
    assert {'loss', 'lr', 'acc'} <= set(records[0])
    assert [r['step'] for r in records if 'overall_acc' in r] == [1, 2, 3]
    fig = draw_curves({'tiny': records})
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ['training loss', 'learning rate',
                      'training accuracy (%)', 'validation OA (%)']
    assert [ax.get_xlabel() for ax in fig.axes] == ['iteration'] * 3 + [
        'epoch'
    ]
    loss = fig.axes[0].lines[0]
    np.testing.assert_allclose(
        loss.get_ydata(), [r['loss'] for r in records if 'loss' in r])
    # two runs overlaid: a work dir and its scalars.json file
    (scalars, ) = glob.glob(str(work_dir / '*' / 'vis_data' /
                                'scalars.json'))
    (path, ) = visualize.main(['curves', str(work_dir), scalars, '--labels',
                               'run A', 'run B', '--out', str(tmp_path),
                               '--size', '900', '500'])
    png(path, (900, 500))


def test_hook_keeps_the_training_random_streams(tmp_path):
    """Drawing restores the RNG states, draws nothing when ``draw=False``
    and rejects an index beyond the dataset before training."""
    from act_mmdet3d.models.layers.point_tokenizer import PointGrouper
    from act_mmdet3d.visualization import ACTVisualizationHook
    rng = np.random.default_rng(0)
    items = [
        dict(inputs=dict(points=torch.from_numpy(
            rng.normal(size=(128, 3)).astype(np.float32))),
             data_samples=_sample(i)) for i in range(3)
    ]
    model = torch.nn.Sequential(PointGrouper(8, 16))
    runner = SimpleNamespace(
        model=model, work_dir=str(tmp_path), epoch=3,
        cfg=SimpleNamespace(filename='x.py'), val_loop=None,
        train_dataloader=SimpleNamespace(dataset=_ListDataset(items, {})),
        logger=SimpleNamespace(info=lambda msg: None))
    hook = ACTVisualizationHook(draw=True, interval=2, indices=[0, 2],
                                size=(200, 160))
    torch.manual_seed(1)
    np.random.seed(1)
    expected = torch.rand(3), np.random.rand(3)
    torch.manual_seed(1)
    np.random.seed(1)
    hook.after_train_epoch(runner)  # epoch 4: draws
    assert torch.equal(torch.rand(3), expected[0])
    np.testing.assert_array_equal(np.random.rand(3), expected[1])
    assert sorted(os.listdir(tmp_path / 'vis' / 'epoch_4')) == [
        'groups_train0.png', 'groups_train2.png'
    ]
    assert model.training  # its mode restored
    runner.epoch = 4  # epoch 5: not a multiple of 2
    hook.after_train_epoch(runner)
    ACTVisualizationHook(interval=1).after_train_epoch(runner)  # draw=False
    assert os.listdir(tmp_path / 'vis') == ['epoch_4']
    with pytest.raises(IndexError, match=r'indices \[3\] are out of range: '
                       'the train set has 3 samples'):
        ACTVisualizationHook(draw=True, indices=[0, 3]).before_train(runner)
    with pytest.raises(ValueError, match='unknown visualization mode'):
        ACTVisualizationHook(modes=['curves'])


def _sample(i):
    from mmdet3d.structures import Det3DDataSample
    return Det3DDataSample(metainfo=dict(sample_idx=i))
