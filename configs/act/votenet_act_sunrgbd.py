# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./votenet_act-vit-s_8xb16_sunrgbd-3d.py']
work_dir = 'work_dirs/votenet_act-vit-s_8xb16_sunrgbd-3d'
