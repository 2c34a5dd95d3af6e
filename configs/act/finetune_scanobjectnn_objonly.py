# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./vit-s_1xb32-coslr-300e_scanobjectnn-objonly.py']
work_dir = 'work_dirs/vit-s_1xb32-coslr-300e_scanobjectnn-objonly'
