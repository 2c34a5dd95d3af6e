# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./vit-s_1xb8-coslr-4e_scanobjectnn-objbg-demo.py']
work_dir = 'work_dirs/vit-s_1xb8-coslr-4e_scanobjectnn-objbg-demo'
