"""tools/dataset_converters/sweethome3d.py: Sweet Home 3D catalogues ->
ShapeNet-55 + ModelNet40 layouts, on small catalogues written here."""
import filecmp
import importlib.util
import json
import os
import os.path as osp
import pickle
import zipfile

import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    'sweethome3d', osp.join(ROOT, 'tools/dataset_converters/sweethome3d.py'))
sh3d = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sh3d)

CUBE = ('# a cube, quads, v/vt/vn faces\n' + ''.join(
    f'v {x} {y} {z}\n' for x in (0, 1) for y in (0, 2) for z in (0, 3)) +
    'vt 0 0\nvn 0 0 1\ng body\n'
    'f 1/1/1 2/1/1 4/1/1 3/1/1\nf 5/1/1 7/1/1 8/1/1 6/1/1\n'
    'f 1 5 6 2\nf 3 4 8 7\nf 1 3 7 5\nf -7 -5 -1 -3\n')
TETRA = 'v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\n' \
    'f 1 3 4\nf 2 3 4\n'


def write_catalogue(path, models, extra=None):
    """models: (index, name, category, obj text)."""
    lines = ['# Sweet Home 3D furniture catalogue', 'id=test']
    with zipfile.ZipFile(path, 'w') as zf:
        for i, name, category, obj in models:
            lines += [f'name#{i}={name}', f'category#{i}={category}',
                      f'creator#{i}=Someone {i}',
                      f'model#{i}=/m{i}/model{i}.obj',
                      f'width#{i}=50']
            zf.writestr(f'm{i}/model{i}.obj', obj)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
        zf.writestr('PluginFurnitureCatalog.properties',
                    '\n'.join(lines).encode('latin-1'))


@pytest.fixture
def catalogue(tmp_path):
    models = []
    for k in range(4):
        models += [(3 * k + 1, f'Arm chair {k}', 'Living room', CUBE),
                   (3 * k + 2, f'Table \\u00e0 manger {k}', 'Kitchen',
                    TETRA),
                   (3 * k + 3, f'Female {k}', 'Characters', TETRA)]
    models.append((99, 'Mysterious thing', 'Miscellaneous', CUBE))
    path = tmp_path / 'Test.sh3f'
    write_catalogue(path, models)
    return path


def test_properties_and_labels():
    props = sh3d.parse_properties(
        '# c\nname#1=Table \\u00e0 manger\ncategory#1 : Kitchen\n'
        'tags#1=a,\\\n   b\n! other comment\n')
    assert props == {'name#1': 'Table à manger', 'category#1': 'Kitchen',
                     'tags#1': 'a,b'}
    assert sh3d.classify('Arm chair', 'Living room') == 'chair'
    assert sh3d.classify('Sitting man', 'Characters') == 'person'
    assert sh3d.classify('Round table', 'Kitchen') == 'table'
    assert sh3d.classify('Mysterious thing', 'Miscellaneous') is None


def test_obj_and_surface_sampling():
    v, f = sh3d.parse_obj(CUBE.encode(), 'cube')
    assert v.shape == (8, 3) and f.shape == (12, 3)  # 6 quads -> 12 tris
    rng = np.random.default_rng(0)
    p, n = sh3d.sample_surface(v, f, 2000, rng)
    assert p.shape == n.shape == (2000, 3)
    assert np.abs(np.linalg.norm(p, axis=1).max() - 1) < 1e-9
    assert np.allclose(np.linalg.norm(n, axis=1), 1)
    # every sample lies on a face of the (shifted, scaled) 1 x 2 x 3 box
    lo, hi = p.min(0), p.max(0)
    assert np.allclose((hi - lo) / (hi - lo)[0], [1, 2, 3], rtol=0.02)
    on_face = (np.isclose(p, lo, atol=1e-9) | np.isclose(p, hi, atol=1e-9))
    assert on_face.any(1).all()
    # the two 2 x 3 faces hold about 2 * 6 / (2 * (2 + 6 + 3)) of the points
    share = on_face[:, 0].mean()
    assert share == pytest.approx(6 / 11, abs=0.04)


def test_convert_layouts_determinism_and_datasets(catalogue, tmp_path):
    from act_mmdet3d.datasets import ModelNet40Dataset, ShapeNet55Dataset
    out = tmp_path / 'real'
    s = sh3d.convert([str(catalogue)], str(out), seed=0, test_ratio=0.25,
                     min_per_class=3)
    assert s['classes'] == ['person', 'chair', 'table']
    assert s['per_class'] == {c: dict(train=3, test=1)
                              for c in s['classes']}
    # pretraining: everything but the 3 held-out shapes (incl. unlabelled)
    assert s['pretrain'] == dict(train=10, test=3)
    mn = out / 'ModelNet/modelnet40_normal_resampled'
    assert (mn / 'modelnet40_shape_names.txt').read_text() == \
        'person\nchair\ntable\n'
    rows = np.loadtxt(mn / 'chair/chair_0001.txt', delimiter=',')
    assert rows.shape == (10000, 6)
    with open(mn / 'modelnet40_train_8192pts_fps.dat', 'rb') as f:
        points, labels = pickle.load(f)
    assert len(points) == 9 and points[0].shape == (8192, 6)
    assert points[0].dtype == np.float32 and labels[0].dtype == np.int32
    # the FPS cache holds rows of the txt files
    ids = (mn / 'modelnet40_train.txt').read_text().split()
    txt = np.loadtxt(mn / ids[0].rsplit('_', 1)[0] / f'{ids[0]}.txt',
                     delimiter=',').astype(np.float32)
    assert (points[0][:, None] == txt[None]).all(-1).any(1).all()
    ds = ModelNet40Dataset(data_root=str(mn), split='test', format='dat',
                           num_points=1024, pipeline=[])
    assert len(ds) == 3
    assert sorted(ds[i]['gt_label'] for i in range(3)) == [0, 1, 2]
    sn = ShapeNet55Dataset(data_root=str(out / 'ShapeNet55-34'),
                           split='train', pipeline=[])
    assert len(sn) == 10
    cloud = np.load(sn[0]['lidar_path'])
    assert cloud.shape == (8192, 3) and cloud.dtype == np.float32
    credits = (out / 'CREDITS.tsv').read_text().splitlines()
    assert len(credits) == 14 and 'Someone 99\tunlabelled' in credits[-1] \
        or any('Someone 99\tunlabelled' in c for c in credits)
    # the same seed gives the same bytes; another seed another split
    out2 = tmp_path / 'again'
    sh3d.convert([str(catalogue)], str(out2), seed=0, test_ratio=0.25,
                 min_per_class=3)
    files = sorted(osp.relpath(osp.join(d, f), out)
                   for d, _, names in os.walk(out) for f in names)
    assert files == sorted(osp.relpath(osp.join(d, f), out2)
                           for d, _, names in os.walk(out2) for f in names)
    # 13 npy + 2 split lists; 12 txt + names + 2 lists + 2 .dat; 3 meta
    assert len(files) == 13 + 2 + 12 + 5 + 3
    assert all(filecmp.cmp(out / f, out2 / f, shallow=False) for f in files)
    s3 = sh3d.convert([str(catalogue)], str(tmp_path / 'seed1'), seed=1,
                      test_ratio=0.25, min_per_class=3)
    assert s3['per_class'] == s['per_class']
    test0 = (out / 'ShapeNet55-34/ShapeNet-55/test.txt').read_text()
    test1 = (tmp_path / 'seed1/ShapeNet55-34/ShapeNet-55/test.txt') \
        .read_text()
    assert test0 != test1
    assert json.loads((out / 'summary.json').read_text())['models'] == 13


def test_corrupt_inputs_are_named_and_destroy_nothing(catalogue, tmp_path):
    bad = tmp_path / 'Bad.sh3f'
    write_catalogue(bad, [(1, 'Chair', 'Kitchen', CUBE),
                          (2, 'Chair two', 'Kitchen',
                           'v 0 0 0\nv 1 x 0\nf 1 2 1\n')])
    with pytest.raises(sh3d.CatalogueError,
                       match=r'Bad\.sh3f:m2/model2\.obj.*Chair two'):
        sh3d.convert([str(bad)], str(tmp_path / 'o1'), min_per_class=1,
                     classes=['chair', 'person'])
    assert not (tmp_path / 'o1').exists()
    broken = tmp_path / 'Broken.sh3f'
    broken.write_bytes(b'PK\x03\x04 not really a zip')
    with pytest.raises(sh3d.CatalogueError, match='Broken.sh3f'):
        sh3d.read_catalogue(str(broken))
    empty = tmp_path / 'Faces.sh3f'
    write_catalogue(empty, [(1, 'Chair', 'Kitchen', 'v 0 0 0\n')])
    with pytest.raises(sh3d.CatalogueError, match='Faces.sh3f.*no vert'):
        sh3d.convert([str(empty)], str(tmp_path / 'o2'), min_per_class=1,
                     classes=['chair', 'table'])
    # an existing folder that is not an earlier conversion is kept
    keep = tmp_path / 'mine'
    keep.mkdir()
    (keep / 'precious.txt').write_text('x')
    with pytest.raises(FileExistsError, match='mine'):
        sh3d.convert([str(catalogue)], str(keep), min_per_class=3)
    assert (keep / 'precious.txt').read_text() == 'x'
