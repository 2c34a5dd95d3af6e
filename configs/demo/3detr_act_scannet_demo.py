# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./3detr_act-vit-s_1xb8-40e_scannet-3d-demo.py']
work_dir = 'work_dirs/3detr_act-vit-s_1xb8-40e_scannet-3d-demo'
