# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./act_vit-s_1xb16-coslr-3e_shapenet55-demo-random-teacher.py']
work_dir = 'work_dirs/act_vit-s_1xb16-coslr-3e_shapenet55-demo-random-teacher'
