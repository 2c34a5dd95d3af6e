"""Point ops with a pure-PyTorch path (CPU) and mmcv kernels for CUDA tensors."""
