#!/usr/bin/env bash
# The one GPU job of a lent device session (see DEVELOPERS.md, "GPU runs"):
#   1. the CUDA tests (training path, metrics on the GPU, losses),
#   2. the training benchmark (benchmarks/bench_train.py --device cuda),
#   3. the `paper` profile: Table 1 (all seeds) then the switching runs, as independent
#      `imgloss train` processes, PARALLEL at a time on the one GPU (`imgloss run --executor
#      local --workers PARALLEL`), until BUDGET seconds are spent (finished runs are kept and
#      reused by the next session; unfinished ones resume from their checkpoints).
# Results (JSON, curves, output crops; no weights) come back as $OUT/<profile>-results.tgz, laid
# out as under results/ (<source>/runs/<profile>/..., <source>/<profile>/<experiment>.json, where
# <source> names the data the runs used):
#   tar xzf paper-results.tgz -C results
# Usage there: OUT=... BUDGET=540 IMGLOSS_COMMIT=<sha> bash benchmarks/device_run.sh
# A rehearsal on the CPU (what tests/experiments/test_device_run.py does, in about a minute):
#   OUT=/tmp/out PROFILE=smoke DEVICE=cpu CHECKS=0 REUSE=0 RESULTS=/tmp/res \
#     bash benchmarks/device_run.sh
# (EXPERIMENTS picks the experiments, "table1 switching" by default).
set -uo pipefail
: "${OUT:?set OUT to the folder that comes back}"
BUDGET=${BUDGET:-540}
PARALLEL=${PARALLEL:-4}
PROFILE=${PROFILE:-paper}      # the runner profile to train
DEVICE=${DEVICE:-cuda}
CHECKS=${CHECKS:-1}            # 1: the CUDA tests and the training benchmark first
RESULTS=${RESULTS:-results-device}
EXPERIMENTS=${EXPERIMENTS:-table1 switching}
REUSE=${REUSE:-1}              # 1: start from the finished runs committed in results/runs
start=$(date +%s)
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TQDM_DISABLE=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
if [ -z "${IMGLOSS_DATA_ROOT:-}" ] && [ -d devdata ]; then export IMGLOSS_DATA_ROOT=$PWD/devdata; fi
export PROFILE RESULTS EXPERIMENTS
runs_file=$(mktemp)
mkdir -p "$OUT" "$RESULTS"
# The data source's tag (a bad data root stops the script here, with its one-line reason).
TAG=$(python3 -m imgloss.cli data source 2>> "$OUT/runs.log") || exit 1
export TAG
# Finished runs committed from earlier sessions on the same data are reused (metrics.json).
if [ "$REUSE" = 1 ] && [ -d "results/$TAG/runs/$PROFILE" ]; then
  mkdir -p "$RESULTS/$TAG/runs" && cp -rn "results/$TAG/runs/$PROFILE" "$RESULTS/$TAG/runs/"
  cp -n "results/$TAG/source.json" "$RESULTS/$TAG/"
fi
if [ "$CHECKS" = 1 ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
  python3 -c "import torch; print('torch', torch.__version__)" >> "$OUT/gpu.txt" 2>&1
  ls "${IMGLOSS_DATA_ROOT:-.}" >> "$OUT/gpu.txt" 2>&1

  timeout 150 python3 -m pytest -q -p no:cacheprovider tests/training/test_cuda_training.py tests/test_cuda.py tests/functional/test_triton_kernels.py \
    > "$OUT/pytest-gpu.log" 2>&1
  echo "pytest exit $? after $(( $(date +%s) - start )) s" >> "$OUT/pytest-gpu.log"

  timeout 150 python3 benchmarks/bench_train.py --device "$DEVICE" --rounds 10 \
    --json "$OUT/bench-train-gpu.json" --markdown "$OUT/bench-train-gpu.md" \
    > "$OUT/bench-train-gpu.log" 2>&1
  echo "bench exit $? after $(( $(date +%s) - start )) s" >> "$OUT/bench-train-gpu.log"
fi

python3 -m imgloss.cli run all --profile "$PROFILE" --results "$RESULTS" --list > "$runs_file"
left=$(( BUDGET - ($(date +%s) - start) - 25 ))
echo "runs: $(wc -l < "$runs_file") of the profile, $left s left" > "$OUT/runs.log"
RUNS_START=$(date +%s)
export RUNS_START
if [ "$left" -gt 30 ]; then
  # experiment by experiment (all of Table 1's seeds first: its wall time is a target), each a
  # pool of PARALLEL `imgloss train` processes on the GPU (imgloss.experiments.executors.run_local); a
  # timeout stops the pool and its processes, and their runs resume next time
  timeout "$left" bash -c 'for e in $EXPERIMENTS; do
      python3 -m imgloss.cli run "$e" --profile "$PROFILE" --device "$DEVICE" \
        --results "$RESULTS" --executor local --workers "$PARALLEL" --gpus "${GPUS-0}" \
        || exit $?
    done' >> "$OUT/runs.log" 2>&1
  echo "runs exit $? after $(( $(date +%s) - start )) s" >> "$OUT/runs.log"
fi
python3 - >> "$OUT/runs.log" 2>&1 <<'EOF'
import os

from imgloss.experiments import runner as R
from imgloss.results.records import SourceFolder
profile, results = os.environ["PROFILE"], os.environ["RESULTS"]
runs_start = float(os.environ["RUNS_START"])
for e in os.environ["EXPERIMENTS"].split():
    summary = R.summarize(e, profile, results=results)
    summary.save(SourceFolder(results, summary.source).summary(profile, e))
    print("summary", e)
    # wall time of the experiment in this call: when its last run finished (metrics.json is
    # written last), counted from the start of the runs
    prof = R.PROFILES[profile]
    files = [R.run_dir(results, r, prof) / "metrics.json" for r in R.experiment_runs(e, prof)]
    done = [f.stat().st_mtime for f in files if f.exists()]
    fresh = [t - runs_start for t in done if t >= runs_start]
    print(
        f"wall {e}: {len(done)} of {len(files)} runs finished, {len(fresh)} in this call"
        + (f", the last {max(fresh):.0f} s after the runs started" if fresh else "")
    )
EOF
# $OUT returns only shallow folders, and the next call's sync deletes files made here that the
# local tree lacks: bring everything back as one archive, in this call.
tar czf "$OUT/$PROFILE-results.tgz" --exclude='*.pt' --exclude='*-input.png' --exclude='*-target.png' \
  --exclude=".lock" -C "$RESULTS" "$TAG/$PROFILE" "$TAG/runs/$PROFILE" "$TAG/source.json" \
  2>> "$OUT/runs.log"
rm -f "$runs_file"
echo "done after $(( $(date +%s) - start )) s" >> "$OUT/runs.log"
