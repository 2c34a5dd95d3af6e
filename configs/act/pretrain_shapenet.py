# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./act_vit-s_1xb128-coslr-300e_shapenet55.py']
work_dir = 'work_dirs/act_vit-s_1xb128-coslr-300e_shapenet55'
