# ACT fine-tune: ScanObjectNN PB_T50_RS (hardest).
# Notes, sources and results: README.md beside this file.
_base_ = ['./vit-s_1xb32-coslr-300e_scanobjectnn-objbg.py']

variant = 'hardest'
train_dataloader = dict(dataset=dict(variant=variant))
val_dataloader = dict(dataset=dict(variant=variant))
test_dataloader = val_dataloader
