# The two README commands: `make demo` (set-up + the main job on the embedded
# demo data) and `make test` (set-up + the test suite).
PY := .venv/bin/python

.PHONY: setup demo-data demo test bench clean-demo

setup:
	bash tools/setup_env.sh

# the procedural clouds (tests, fallback) and the real shapes: Debian's
# sweethome3d-furniture converted to the ShapeNet-55 / ModelNet40 layouts
demo-data: setup
	$(PY) tools/dataset_converters/create_demo_data.py --out data/demo
	@if [ -f data/real/summary.json ]; then echo "real shapes: data/real (converted before)"; \
	elif bash tools/dataset_converters/fetch_sweethome3d.sh data/sweethome3d; then \
		$(PY) tools/dataset_converters/sweethome3d.py data/sweethome3d/usr/share/sweethome3d/furniture --out data/real; \
	else echo "real shapes unavailable (no Debian package manager): the demo uses the procedural data"; fi

# (a) pretrained teacher, (b) random teacher, (c) scratch: tools/demo_pipeline.py,
# in float32 (--amp, bfloat16 autocast, is faster, but the README's 3-seed study
# found its fine-tunes off float32's by more than the seed spread)
demo: demo-data
	$(PY) tools/demo_pipeline.py --work-dir work_dirs/demo

test: setup
	$(PY) -m pytest -q tests

bench: setup
	$(PY) tools/analysis_tools/benchmark.py --out work_dirs/benchmark

clean-demo:
	rm -rf data/demo data/real data/sweethome3d work_dirs/demo
