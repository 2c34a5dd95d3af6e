# Old name, kept for existing scripts (same config, same work dir):
_base_ = [
    './act-autoencoder_minilm-l6-random_1xb8-coslr-2e_shapenet55-demo.py'
]
work_dir = 'work_dirs/' \
    'act-autoencoder_minilm-l6-random_1xb8-coslr-2e_shapenet55-demo'
