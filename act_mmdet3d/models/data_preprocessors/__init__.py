from .point_data_preprocessor import (PointDataPreprocessor,
                                      build_data_preprocessor, stack_points)

__all__ = ['PointDataPreprocessor', 'build_data_preprocessor', 'stack_points']
