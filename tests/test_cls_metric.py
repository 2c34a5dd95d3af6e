"""PointClsMetric against hand-computed accuracies."""

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import act_mmdet3d  # noqa: F401  (registers the modules)
from _helpers import free_port
from act_mmdet3d.evaluation import PointClsMetric
from mmdet3d.registry import METRICS
from mmdet3d.structures import Det3DDataSample

CLASSES = ('a', 'b', 'c', 'd')
# class 2 ('c') is never predicted, class 3 ('d') never occurs
GT = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
PRED = [0, 0, 0, 1, 1, 0, 0, 0, 1, 1]
# OA = (3 + 1 + 0) / 10; mAcc = mean(3/4, 1/2, 0/4) over classes in GT
EXPECTED_OA = 40.
EXPECTED_MACC = 100. * (0.75 + 0.5 + 0.) / 3


def one_hot_score(label, num_classes=4):
    score = torch.full((num_classes, ), 0.1)
    score[label] = 0.7
    return score


def make_samples(gt, pred, as_dict=True, with_label=True):
    samples = []
    for g, p in zip(gt, pred):
        sample = Det3DDataSample()
        sample.gt_label = torch.LongTensor([g])
        sample.pred_score = one_hot_score(p)
        if with_label:
            sample.pred_label = torch.LongTensor([p])
        samples.append(sample.to_dict() if as_dict else sample)
    return samples


def run_metric(samples, classes=CLASSES, batch_size=3, **kwargs):
    metric = METRICS.build(dict(type='PointClsMetric', **kwargs))
    metric.dataset_meta = dict(classes=classes)
    for i in range(0, len(samples), batch_size):
        metric.process({}, samples[i:i + batch_size])
    return metric.evaluate(len(samples))


def test_hand_computed_accuracy():
    metrics = run_metric(make_samples(GT, PRED))
    assert metrics['overall_acc'] == pytest.approx(EXPECTED_OA)
    assert metrics['mean_acc'] == pytest.approx(EXPECTED_MACC)
    # the reference's scikit-learn scores
    sklearn_metrics = pytest.importorskip('sklearn.metrics')
    assert metrics['overall_acc'] == pytest.approx(
        100 * sklearn_metrics.accuracy_score(GT, PRED))
    assert metrics['mean_acc'] == pytest.approx(
        100 * sklearn_metrics.balanced_accuracy_score(GT, PRED))


def test_sample_types_and_score_only():
    # Det3DDataSample objects, and pred_score without pred_label
    for samples in (make_samples(GT, PRED, as_dict=False),
                    make_samples(GT, PRED, with_label=False)):
        metrics = run_metric(samples)
        assert metrics['overall_acc'] == pytest.approx(EXPECTED_OA)
        assert metrics['mean_acc'] == pytest.approx(EXPECTED_MACC)


def test_perfect_and_uniform():
    gt = [i % 4 for i in range(20)]
    metrics = run_metric(make_samples(gt, gt))
    assert metrics == dict(overall_acc=100., mean_acc=100.)
    # uniform scores: argmax is class 0 for every sample
    samples = []
    for g in gt:
        sample = Det3DDataSample()
        sample.gt_label = torch.LongTensor([g])
        sample.pred_score = torch.full((4, ), 0.25)
        samples.append(sample.to_dict())
    metrics = run_metric(samples)
    assert metrics['overall_acc'] == pytest.approx(25.)
    assert metrics['mean_acc'] == pytest.approx(25.)


def test_classwise_and_table(monkeypatch):
    logged = []
    import act_mmdet3d.evaluation.metrics.point_cls_metric as module
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    metrics = run_metric(make_samples(GT, PRED), classwise=True)
    assert metrics['a_acc'] == pytest.approx(75.)
    assert metrics['b_acc'] == pytest.approx(50.)
    assert metrics['c_acc'] == 0.
    assert 'd_acc' not in metrics
    table = logged[-1]
    for name in CLASSES:
        assert f'| {name} ' in table
    assert '40.00 / 41.67' in table
    # without dataset classes the table uses indices
    metric = PointClsMetric()
    metric.process({}, make_samples(GT, PRED))
    metric.evaluate(len(GT))
    assert '| 2 ' in logged[-1]


def test_errors():
    metric = PointClsMetric()
    with pytest.raises(KeyError, match='gt_label'):
        metric.process({}, [dict(pred_label=torch.LongTensor([0]))])
    with pytest.raises(KeyError, match='pred_score'):
        metric.process({}, [dict(gt_label=torch.LongTensor([0]))])
    with pytest.raises(ValueError, match='no results'):
        metric.compute_metrics([])


def _dist_worker(rank, world_size, port, queue):
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=world_size)
    try:
        # 9 samples over 2 ranks: mmengine's DefaultSampler shards them
        # interleaved and pads the last rank with a repeated sample, which
        # evaluate(size) drops again
        samples = make_samples(GT[:9], PRED[:9])
        shard = samples[rank::world_size]
        if len(shard) < (len(samples) + world_size - 1) // world_size:
            shard = shard + samples[:1]
        metric = PointClsMetric()
        metric.dataset_meta = dict(classes=CLASSES)
        metric.process({}, shard)
        queue.put((rank, metric.evaluate(len(samples))))
    finally:
        dist.destroy_process_group()


def test_distributed_collect():
    world_size = 2
    # fork: the children need not import the whole stack again
    ctx = mp.get_context('fork')
    queue = ctx.SimpleQueue()
    mp.start_processes(
        _dist_worker,
        args=(world_size, free_port(), queue),
        nprocs=world_size,
        join=True,
        start_method='fork')
    results = dict(queue.get() for _ in range(world_size))
    # OA = 4 / 9; mAcc = mean(3/4, 1/2, 0/3) as for the full list
    for rank in range(world_size):
        assert results[rank]['overall_acc'] == pytest.approx(100. * 4 / 9)
        assert results[rank]['mean_acc'] == pytest.approx(EXPECTED_MACC)
