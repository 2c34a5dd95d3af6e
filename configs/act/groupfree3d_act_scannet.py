# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./groupfree3d_act-vit-s_head-L6-O256_4xb8_scannet-seg.py']
work_dir = 'work_dirs/groupfree3d_act-vit-s_head-L6-O256_4xb8_scannet-seg'
