# The control of the demo's teacher: the same MiniLM architecture (6 BERT
# layers, 384 wide, read from the package's config.json) with RANDOM weights,
# trained exactly as act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py. Same idea, same
# transformer, no pretrained knowledge.
_base_ = ['./act-autoencoder_minilm-l6_1xb8-coslr-2e_shapenet55-demo.py']

model = dict(lm_random_init=True)
