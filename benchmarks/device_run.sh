#!/usr/bin/env bash
# The one GPU check of a lent device session (see benchmarks/README.md): GPU benchmarks first
# (their results are the point of the lease), then the CUDA tests. Results go to $OUT.
# Usage there: IMGLOSS_COMMIT=<sha> bash benchmarks/device_run.sh
set -uo pipefail
OUT=${OUT:-results/device}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
timeout 240 python3 benchmarks/bench_losses.py --device cuda --rounds 30 --step-batch 64 4096 \
  --json "$OUT/bench-gpu.json" --markdown "$OUT/bench-gpu.md" 2>&1 | tee "$OUT/bench-gpu.log"
timeout 200 python3 -m pytest -q -p no:cacheprovider -x tests/test_cuda.py tests/test_reference_libraries.py \
  2>&1 | tee "$OUT/pytest-gpu.log" | tail -15
