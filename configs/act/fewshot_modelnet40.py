# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./vit-s_1xb32-coslr-150e_modelnet40-fewshot.py']
work_dir = 'work_dirs/vit-s_1xb32-coslr-150e_modelnet40-fewshot'
