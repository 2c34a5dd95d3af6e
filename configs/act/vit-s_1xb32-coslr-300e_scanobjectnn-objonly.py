# ACT fine-tune: ScanObjectNN OBJ_ONLY.
# Notes, sources and results: README.md beside this file.
_base_ = ['./vit-s_1xb32-coslr-300e_scanobjectnn-objbg.py']

variant = 'obj_only'
train_dataloader = dict(dataset=dict(variant=variant))
val_dataloader = dict(dataset=dict(variant=variant))
test_dataloader = val_dataloader
