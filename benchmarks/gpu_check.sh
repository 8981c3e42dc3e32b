#!/usr/bin/env bash
# The CUDA path end to end in under 8 minutes (see benchmarks/gpu_check.py):
#   bash benchmarks/gpu_check.sh [--out FILE] [--dataset NAME]
# Needs a GPU and dcbench installed (make venv); Fashion-MNIST from Debian's package or
# DCBENCH_DATA_ROOT. Writes benchmarks/results/gpu_check.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
exec timeout 480 "$PY" benchmarks/gpu_check.py "$@"
