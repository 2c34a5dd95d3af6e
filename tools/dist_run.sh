#!/usr/bin/env bash
# Usage: tools/dist_run.sh GPUS TOOL [TOOL args...]
# torchrun: GPUS processes of tools/TOOL on this node, each given TOOL's
# arguments as they stand (dist_train.sh and dist_test.sh name the tool and
# put --launcher pytorch among them).
# Multi-node (run on every node): NNODES, NODE_RANK, MASTER_ADDR, PORT
# (README, "Scale and reliability"). Without GPUs the same
# command runs GPUS CPU processes over gloo.
DIR="$(cd "$(dirname "$0")" && pwd)"

PYTHONPATH="$DIR/..":$PYTHONPATH \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$1" \
    --master_port="${PORT:-29500}" \
    "$DIR/$2" "${@:3}"
