"""act_mmdet3d.utils.scalars: mmengine's vis_data/scalars.json, read once
for the tools (multi_seed, demo_pipeline, ablate) and the curves."""
import json

import pytest

from act_mmdet3d.utils import (find_scalars, last_val, read_scalars,
                               train_curve, val_curve)

RECORDS = [
    dict(lr=0.1, loss=2.0, iter=1, epoch=1),
    dict(lr=0.1, loss=1.5, iter=2, epoch=1),
    dict(overall_acc=40.0, step=1),
    dict(lr=0.05, loss=1.0, iter=3, epoch=2),
    dict(overall_acc=55.0, step=2),
]


def _run(work_dir, stamp, records):
    log = work_dir / stamp / 'vis_data'
    log.mkdir(parents=True)
    (log / 'scalars.json').write_text(
        ''.join(json.dumps(r) + '\n' for r in records) + '\n')
    return log / 'scalars.json'


def test_newest_run_of_a_work_dir(tmp_path):
    _run(tmp_path, '20260101_000000', RECORDS[:1])
    newest = _run(tmp_path, '20260102_000000', RECORDS)
    assert find_scalars(str(tmp_path)) == str(newest)
    assert read_scalars(str(tmp_path)) == RECORDS  # blank lines skipped
    assert read_scalars(str(newest)) == RECORDS  # the file itself


def test_training_and_validation_curves():
    assert train_curve(RECORDS, 'loss') == ([1, 2, 3], [2.0, 1.5, 1.0])
    assert val_curve(RECORDS, 'overall_acc') == ([1, 2], [40.0, 55.0])
    assert val_curve(RECORDS, 'loss') == ([], [])
    assert last_val(RECORDS, 'overall_acc') == 55.0
    with pytest.raises(KeyError, match="no validation 'loss'"):
        last_val(RECORDS, 'loss')


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='no mmengine log'):
        find_scalars(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='no such work dir'):
        find_scalars(str(tmp_path / 'missing'))
    empty = _run(tmp_path, '20260101_000000', [])
    with pytest.raises(ValueError, match='no records'):
        read_scalars(str(empty))
    empty.write_text('{"loss": 1.0, "iter": 1}\n{"loss": ')
    with pytest.raises(ValueError, match=r'scalars.json, line 2: not JSON'):
        read_scalars(str(tmp_path))
