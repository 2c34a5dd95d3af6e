#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# (NNODES, NODE_RANK, MASTER_ADDR, PORT, PYTHON: as dist_train.sh)
exec bash "$(dirname "$0")/dist_run.sh" "$3" test.py "$1" "$2" \
    --launcher pytorch "${@:4}"
