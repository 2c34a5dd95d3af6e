# Old name, kept for existing scripts (same config, same work dir):
_base_ = ['./act-autoencoder_vit-b-p16_1xb64-coslr-300e_shapenet55.py']
work_dir = 'work_dirs/act-autoencoder_vit-b-p16_1xb64-coslr-300e_shapenet55'
