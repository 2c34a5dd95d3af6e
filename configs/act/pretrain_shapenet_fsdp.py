# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./act_vit-s_8xb128-fsdp-coslr-300e_shapenet55.py']
work_dir = 'work_dirs/act_vit-s_8xb128-fsdp-coslr-300e_shapenet55'
