# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./vit-s_1xb16-coslr-4e_shapenetpart-demo.py']
work_dir = 'work_dirs/vit-s_1xb16-coslr-4e_shapenetpart-demo'
