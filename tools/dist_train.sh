#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args...]
# Multi-node (run on every node): NNODES, NODE_RANK, MASTER_ADDR, PORT
# (README, "Scale and reliability"). Without GPUs the same
# command runs GPUS CPU processes over gloo. PYTHON: the interpreter.
exec bash "$(dirname "$0")/dist_run.sh" "$2" train.py "$1" \
    --launcher pytorch "${@:3}"
