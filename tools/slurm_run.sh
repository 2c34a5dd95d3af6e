#!/usr/bin/env bash
# Usage: [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS=...] \
#        tools/slurm_run.sh PARTITION JOB_NAME TOOL [TOOL args...]
# srun: GPUS tasks of tools/TOOL, each given TOOL's arguments as they stand
# (slurm_train.sh and slurm_test.sh name the tool and put --launcher=slurm
# among them).
set -x
DIR="$(cd "$(dirname "$0")" && pwd)"
GPUS_PER_NODE=${GPUS_PER_NODE:-8}

PYTHONPATH="$DIR/..":$PYTHONPATH \
srun -p "$1" \
    --job-name="$2" \
    --gres=gpu:${GPUS_PER_NODE} \
    --ntasks=${GPUS:-8} \
    --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK:-5} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} \
    "${PYTHON:-python}" -u "$DIR/$3" "${@:4}"
