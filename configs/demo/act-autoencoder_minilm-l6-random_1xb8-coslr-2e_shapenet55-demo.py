# The demo teacher's control: MiniLM's architecture, random weights.
# Notes, sources and results: README.md beside this file.
_base_ = ['./act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py']

model = dict(lm_random_init=True)
