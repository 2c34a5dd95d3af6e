"""Point-cloud transforms of the ACT / Point-BERT family.

Only what mmdet3d does not already have. Reuse mmdet3d's ``PointShuffle``,
``PointSample`` (random subset with replacement when needed),
``GlobalRotScaleTrans`` (rotation about z, isotropic scale) and
``RandomFlip3D`` where they fit.

Every random draw uses numpy's global RNG, in the order of the reference
code, so a seeded run (mmengine seeds numpy in each worker) is reproducible
(``PointSubsample(seed=...)`` can instead draw per sample, for evaluation).
mmdet3d's ``PointSample`` samples with replacement only when a cloud is too
small; the reference ShapeNetPart loader always does
(``PointSubsample(mode='choice')``).
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures.points import BasePoints
from .utils import farthest_point_sample

# Reference fine-tuning runner: FPS to this many candidates, then a random
# subset of ``num_points`` of them (``point_all`` in ``runner_finetune.py``).
_REFERENCE_FPS_CANDIDATES = {1024: 1200, 2048: 2400, 4096: 4800, 8192: 8192}


def _describe(results: dict) -> str:
    """Name the sample of ``results`` in error messages."""
    parts = []
    if 'lidar_path' in results:
        parts.append(str(results['lidar_path']))
    if 'index_in_file' in results:
        parts.append(f'index {results["index_in_file"]}')
    if 'sample_idx' in results:
        parts.append(f'sample_idx={results["sample_idx"]}')
    return ', '.join(parts) if parts else 'sample'


def _get_points(results: dict, name: str) -> BasePoints:
    if 'points' not in results:
        raise KeyError(f'{name}: results have no "points" key')
    points = results['points']
    if not isinstance(points, BasePoints):
        raise TypeError(f'{name}: results["points"] must be an mmdet3d '
                        f'BasePoints, got {type(points).__name__}')
    return points


def _normal_dims(points: BasePoints) -> Optional[list]:
    dims = (points.attribute_dims or {}).get('normal')
    if dims is None:
        return None
    return [dims] if isinstance(dims, int) else list(dims)


@TRANSFORMS.register_module()
class NormalizePointsToUnitSphere(BaseTransform):
    """Centre the cloud at its centroid and scale it into the unit sphere.

    The reference ``pc_normalize`` / ``pc_norm``: ``xyz -= mean(xyz)``;
    ``xyz /= max ||xyz||``. Only xyz changes (normals and other attributes
    are kept), computed in float32 numpy exactly as the reference does.

    Required Keys:

    - points (:obj:`BasePoints`)

    Modified Keys:

    - points

    Added Keys:

    - pcd_norm_centroid (np.ndarray): (3,) subtracted centroid.
    - pcd_norm_scale (float): the radius the cloud was divided by.
    """

    def transform(self, results: dict) -> dict:
        points = _get_points(results, 'NormalizePointsToUnitSphere')
        xyz = points.tensor[:, :3].numpy().astype(np.float32)
        if xyz.shape[0] == 0:
            raise ValueError('NormalizePointsToUnitSphere: empty cloud '
                             f'({_describe(results)})')
        centroid = np.mean(xyz, axis=0)
        xyz = xyz - centroid
        radius = np.max(np.sqrt(np.sum(xyz**2, axis=1)))
        if not np.isfinite(radius) or radius <= 0:
            raise ValueError(
                'NormalizePointsToUnitSphere: cannot normalise a cloud whose '
                f'points all coincide (max radius {radius}) '
                f'({_describe(results)})')
        xyz = xyz / radius
        points.tensor[:, :3] = torch.from_numpy(xyz).to(points.tensor.dtype)
        results['pcd_norm_centroid'] = centroid
        results['pcd_norm_scale'] = float(radius)
        return results


@TRANSFORMS.register_module()
class PointcloudScaleAndTranslate(BaseTransform):
    """Random per-axis (or isotropic) scale then translation of xyz.

    The reference ``PointcloudScaleAndTranslate`` (ACT pretraining and the
    test-time vote): ``s ~ U[scale_low, scale_high]^3``,
    ``t ~ U[-translate_range, translate_range]^3``, ``xyz = xyz * s + t``,
    drawn in that order from numpy's global RNG. Normals are left as they
    are (the reference has none at this point).

    With ``isotropic=True`` one scale ``s ~ U[scale_low, scale_high]`` is
    drawn for all three axes: the part-segmentation training of the
    reference (``provider.random_scale_point_cloud`` with 0.8 - 1.25, then
    ``provider.shift_point_cloud`` with 0.1, per cloud, on xyz only) is
    ``PointcloudScaleAndTranslate(0.8, 1.25, 0.1, isotropic=True)``.

    Required Keys:

    - points (:obj:`BasePoints`)

    Modified Keys:

    - points

    Added Keys:

    - pcd_scale_factor (np.ndarray): (3,) per-axis scale.
    - pcd_trans (np.ndarray): (3,) translation.

    Args:
        scale_low (float): lower scale bound. Defaults to 2/3.
        scale_high (float): upper scale bound. Defaults to 3/2.
        translate_range (float): translation bound. Defaults to 0.2.
        isotropic (bool): one scale for all axes. Defaults to False.
    """

    def __init__(self,
                 scale_low: float = 2. / 3.,
                 scale_high: float = 3. / 2.,
                 translate_range: float = 0.2,
                 isotropic: bool = False) -> None:
        if scale_low > scale_high:
            raise ValueError(f'scale_low={scale_low} must be <= '
                             f'scale_high={scale_high}')
        if translate_range < 0:
            raise ValueError(
                f'translate_range must be >= 0, got {translate_range}')
        self.scale_low = scale_low
        self.scale_high = scale_high
        self.translate_range = translate_range
        self.isotropic = isotropic

    def transform(self, results: dict) -> dict:
        points = _get_points(results, 'PointcloudScaleAndTranslate')
        if self.isotropic:
            scale = np.full(
                3, np.random.uniform(self.scale_low, self.scale_high))
        else:
            scale = np.random.uniform(
                low=self.scale_low, high=self.scale_high, size=[3])
        trans = np.random.uniform(
            low=-self.translate_range, high=self.translate_range, size=[3])
        tensor = points.tensor
        tensor[:, :3] = tensor[:, :3] * torch.from_numpy(scale).float() \
            + torch.from_numpy(trans).float()
        results['pcd_scale_factor'] = scale.astype(np.float32)
        results['pcd_trans'] = trans.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale_low={self.scale_low}, '
                f'scale_high={self.scale_high}, '
                f'translate_range={self.translate_range}, '
                f'isotropic={self.isotropic})')


@TRANSFORMS.register_module()
class PointcloudRotate(BaseTransform):
    """Random rotation about one coordinate axis (default: y, the up axis).

    The reference ``PointcloudRotate`` used for fine-tuning: angle
    ``a ~ U[0, 2*pi)`` and, for rotation about y,
    ``R = [[cos a, 0, sin a], [0, 1, 0], [-sin a, 0, cos a]]`` applied to
    row vectors, ``xyz = xyz @ R``. ScanObjectNN and ModelNet40 are y-up,
    so this spins objects about their vertical axis; mmdet3d's
    ``GlobalRotScaleTrans`` rotates about z instead. For another ``axis``
    the same pattern is used on the two remaining axes (i < j):
    ``R[i, i] = R[j, j] = cos a``, ``R[i, j] = sin a``, ``R[j, i] = -sin a``.
    Normals (``attribute_dims['normal']``) are rotated with the points.

    Required Keys:

    - points (:obj:`BasePoints`)

    Modified Keys:

    - points

    Added Keys:

    - pcd_rotation (torch.Tensor): (3, 3) matrix R, ``new = old @ R``.
    - pcd_rotation_angle (float): the angle a.

    Args:
        axis (int): rotation axis, 0 (x), 1 (y) or 2 (z). Defaults to 1.
        angle_range (Sequence[float]): angle bounds in radians.
            Defaults to (0, 2*pi), the reference.
    """

    def __init__(self,
                 axis: int = 1,
                 angle_range: Sequence[float] = (0., 2 * math.pi)) -> None:
        if axis not in (0, 1, 2):
            raise ValueError(f'axis must be 0, 1 or 2, got {axis}')
        if len(angle_range) != 2 or angle_range[0] > angle_range[1]:
            raise ValueError(f'angle_range must be (low, high) with low <= '
                             f'high, got {angle_range}')
        self.axis = axis
        self.angle_range = tuple(float(a) for a in angle_range)

    @staticmethod
    def rotation_matrix(angle: float, axis: int = 1) -> np.ndarray:
        """The (3, 3) float32 matrix R of the reference (``xyz @ R``)."""
        i, j = [k for k in range(3) if k != axis]
        cosval, sinval = np.cos(angle), np.sin(angle)
        rot = np.eye(3)
        rot[i, i] = cosval
        rot[j, j] = cosval
        rot[i, j] = sinval
        rot[j, i] = -sinval
        return rot.astype(np.float32)

    def transform(self, results: dict) -> dict:
        points = _get_points(results, 'PointcloudRotate')
        angle = np.random.uniform(*self.angle_range)
        rot = torch.from_numpy(self.rotation_matrix(angle, self.axis))
        tensor = points.tensor
        tensor[:, :3] = torch.matmul(tensor[:, :3], rot.to(tensor.dtype))
        normal = _normal_dims(points)
        if normal is not None and len(normal) == 3:
            tensor[:, normal] = torch.matmul(tensor[:, normal],
                                             rot.to(tensor.dtype))
        results['pcd_rotation'] = rot
        results['pcd_rotation_angle'] = float(angle)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(axis={self.axis}, '
                f'angle_range={self.angle_range})')


@TRANSFORMS.register_module()
class PointSubsample(BaseTransform):
    """Keep ``num_points`` points of a cloud.

    Modes:

    - ``'random'``: a random subset without replacement (ShapeNet-55
      pretraining: shuffle the indices, keep the first ``num_points``).
    - ``'first'``: the first ``num_points`` (an FPS-ordered cache such as
      ``modelnet40_*_8192pts_fps.dat``: its first M points are an FPS of M).
    - ``'fps'``: farthest point sampling (the reference's ``misc.fps`` at
      test time).
    - ``'fps_random'``: FPS to ``num_candidates`` points, then a random
      subset of ``num_points`` of them (the reference fine-tuning runner:
      1024 of an FPS of 1200, 2048 of 2400, 4096 of 4800, 8192 of 8192;
      the candidates are capped at the cloud size as there).
    - ``'choice'``: ``np.random.choice(N, num_points, replace=True)``, with
      replacement whatever N is (the reference's ShapeNetPart loader, in
      training and in testing; shapes can have fewer points than
      ``num_points``).

    Except in ``'choice'`` mode a cloud with fewer than ``num_points``
    points is an error naming the sample's file, never a silent duplicate.

    Random draws use numpy's global RNG (as the reference; mmengine seeds
    it in each worker). With ``seed`` set they come instead from
    ``np.random.RandomState([seed, sample_idx])``: the same points of a
    sample in every run and epoch, whatever the number of workers or the
    order of the samples (deterministic evaluation, e.g. of ShapeNetPart,
    whose reference draws a fresh random subset at each test).

    Required Keys:

    - points (:obj:`BasePoints`)
    - sample_idx (int, only with ``seed``)
    - pts_semantic_mask (np.ndarray, optional)
    - pts_instance_mask (np.ndarray, optional)

    Modified Keys:

    - points
    - pts_semantic_mask (optional)
    - pts_instance_mask (optional)

    Args:
        num_points (int): number of points to keep.
        mode (str): 'random', 'first', 'fps', 'fps_random' or 'choice'.
            Defaults to 'random'.
        num_candidates (int, optional): FPS candidates of 'fps_random'.
            Defaults to the reference's table, else ceil(1.171875 * N).
        fps_start (str): first FPS point: 'first' (index 0, the CUDA
            kernel; deterministic) or 'random' (the reference numpy FPS).
            Defaults to 'first'.
        seed (int, optional): draw from a generator seeded with
            (seed, sample_idx) instead of the global RNG. Defaults to None.
    """

    MODES = ('random', 'first', 'fps', 'fps_random', 'choice')

    def __init__(self,
                 num_points: int,
                 mode: str = 'random',
                 num_candidates: Optional[int] = None,
                 fps_start: str = 'first',
                 seed: Optional[int] = None) -> None:
        if not isinstance(num_points, int) or num_points <= 0:
            raise ValueError(
                f'num_points must be a positive int, got {num_points!r}')
        if mode not in self.MODES:
            raise ValueError(f'mode must be one of {self.MODES}, got '
                             f'{mode!r}')
        if fps_start not in ('first', 'random'):
            raise ValueError("fps_start must be 'first' or 'random', got "
                             f'{fps_start!r}')
        if num_candidates is None:
            num_candidates = _REFERENCE_FPS_CANDIDATES.get(
                num_points, int(math.ceil(num_points * 1200 / 1024)))
        if num_candidates < num_points:
            raise ValueError(f'num_candidates={num_candidates} must be >= '
                             f'num_points={num_points}')
        if seed is not None and (isinstance(seed, bool)
                                 or not isinstance(seed, int) or seed < 0):
            raise ValueError(f'seed must be a non-negative int or None, got '
                             f'{seed!r}')
        self.num_points = num_points
        self.mode = mode
        self.num_candidates = num_candidates
        self.fps_start = fps_start
        self.seed = seed

    def _fps(self, xyz: np.ndarray, num: int, rng) -> np.ndarray:
        start = 0
        if self.fps_start == 'random':
            start = rng.randint(0, xyz.shape[0])
        return farthest_point_sample(xyz, num, start=start)

    def choose(self, xyz: np.ndarray, rng=np.random) -> np.ndarray:
        """Indices (num_points,) of the kept points of an (N, 3) cloud.

        ``rng`` is ``np.random`` (the global RNG) or a
        ``np.random.RandomState``.
        """
        total = xyz.shape[0]
        if self.mode == 'first':
            return np.arange(self.num_points)
        if self.mode == 'choice':
            return rng.choice(total, self.num_points, replace=True)
        if self.mode == 'random':
            perm = np.arange(total)
            rng.shuffle(perm)
            return perm[:self.num_points]
        if self.mode == 'fps':
            return self._fps(xyz, self.num_points, rng)
        num_all = min(self.num_candidates, total)
        cand = self._fps(xyz, num_all, rng)
        return cand[rng.choice(num_all, self.num_points, False)]

    def _rng(self, results: dict):
        if self.seed is None:
            return np.random
        idx = results.get('sample_idx')
        if idx is None or int(idx) < 0:
            raise KeyError('PointSubsample: seed is set but the results '
                           f'have no valid "sample_idx" (got {idx!r}; '
                           f'{_describe(results)})')
        return np.random.RandomState([self.seed, int(idx)])

    def transform(self, results: dict) -> dict:
        points = _get_points(results, 'PointSubsample')
        total = points.shape[0]
        if total == 0 or (total < self.num_points and self.mode != 'choice'):
            raise ValueError(
                f'PointSubsample: the cloud has {total} points, fewer than '
                f'num_points={self.num_points} ({_describe(results)})')
        choices = self.choose(points.tensor[:, :3].numpy(),
                              self._rng(results))
        results['points'] = points[torch.from_numpy(choices)]
        for key in ('pts_semantic_mask', 'pts_instance_mask'):
            if results.get(key) is not None:
                results[key] = results[key][choices]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_points={self.num_points}, '
                f'mode={self.mode!r}, num_candidates={self.num_candidates}, '
                f'fps_start={self.fps_start!r}, seed={self.seed})')


__all__: Tuple[str, ...] = ('NormalizePointsToUnitSphere',
                            'PointcloudScaleAndTranslate',
                            'PointcloudRotate', 'PointSubsample')
