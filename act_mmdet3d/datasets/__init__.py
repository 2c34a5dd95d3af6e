"""Datasets and transforms of ACT (registered in mmdet3d's registries)."""
from .modelnet40 import MODELNET40_CLASSES, ModelNet40Dataset
from .modelnet_fewshot import ModelNetFewShotDataset
from .scanobjectnn import SCANOBJECTNN_CLASSES, ScanObjectNNDataset
from .shapenet55 import SHAPENET55_SYNSETS, ShapeNet55Dataset
from .shapenet_part import (SHAPENETPART_CATEGORIES, SHAPENETPART_NUM_PARTS,
                            SHAPENETPART_SEG_CLASSES, ShapeNetPartDataset)
from .transforms import (NormalizePointsToUnitSphere, PackPointClsInputs,
                         PointcloudRotate, PointcloudScaleAndTranslate,
                         PointSubsample)

__all__ = [
    'ShapeNet55Dataset', 'ModelNet40Dataset', 'ModelNetFewShotDataset',
    'ScanObjectNNDataset', 'NormalizePointsToUnitSphere',
    'PointcloudScaleAndTranslate', 'PointcloudRotate', 'PointSubsample',
    'PackPointClsInputs', 'MODELNET40_CLASSES', 'SCANOBJECTNN_CLASSES',
    'SHAPENET55_SYNSETS', 'ShapeNetPartDataset', 'SHAPENETPART_CATEGORIES',
    'SHAPENETPART_SEG_CLASSES', 'SHAPENETPART_NUM_PARTS'
]
