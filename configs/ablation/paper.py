# The ACT analysis at the paper's scale.
# Notes, sources and results: README.md beside this file.
_base_ = ['./_base_/axes.py']

stages = dict(
    stage1='configs/act/'
    'act-autoencoder_vit-b-p16_1xb64-coslr-300e_shapenet55.py',
    stage2='configs/act/act_vit-s_1xb128-coslr-300e_shapenet55.py',
    finetune='configs/act/vit-s_1xb32-coslr-300e_modelnet40.py')

grid = dict(teacher=['pretrained', 'random', 'none'])
seeds = [0, 1, 2]

variables = dict(vit_weights=None, lm_path=None)
common = {}
svm = dict(C=1.0)  # ACT's own LinearSVC()
figures = [
    ('Stage I val CD-L1 x1000', 'stage1', 'CDL1'),
    ('Stage II last loss', 'stage2', 'loss'),
    ('SVM acc. %', 'svm', 'accuracy'),
    ('fine-tune OA %', 'finetune', 'overall_acc'),
]
