# The two README commands: `make demo` (set-up + the main job on the embedded
# demo data) and `make test` (set-up + the test suite).
PY := .venv/bin/python

.PHONY: setup demo-data demo test bench clean-demo

setup:
	bash tools/setup_env.sh

demo-data: setup
	$(PY) tools/create_demo_data.py --out data/demo

# Stage I -> Stage II -> fine-tune (pretrained vs scratch): tools/demo_pipeline.py
demo: demo-data
	$(PY) tools/demo_pipeline.py --work-dir work_dirs/demo

test: setup
	$(PY) -m pytest -q tests

bench: setup
	$(PY) tools/benchmark.py --out work_dirs/benchmark

clean-demo:
	rm -rf data/demo work_dirs/demo
