# The control of the demo's teacher: the same MiniLM architecture (6 BERT
# layers, 384 wide, read from the package's config.json) with RANDOM weights,
# trained exactly as autoencoder_shapenet_demo.py. Same idea, same
# transformer, no pretrained knowledge.
_base_ = ['./autoencoder_shapenet_demo.py']

model = dict(lm_random_init=True)
