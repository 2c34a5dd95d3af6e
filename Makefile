# The two README commands: `make demo` (set-up + the main job on the embedded
# demo data) and `make test` (set-up + the test suite).
PY := .venv/bin/python
DEMO_CONFIG ?= configs/demo/finetune_modelnet40_demo.py

.PHONY: setup demo-data demo test bench clean-demo

setup:
	bash tools/setup_env.sh

demo-data: setup
	$(PY) tools/create_demo_data.py --out data/demo

demo: demo-data
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir work_dirs/demo

test: setup
	$(PY) -m pytest -q tests

bench: setup
	$(PY) tools/benchmark.py --out work_dirs/benchmark

clean-demo:
	rm -rf data/demo work_dirs/demo
