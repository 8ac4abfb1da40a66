#!/usr/bin/env bash
# The project's main job: the reproduction.
#   1. the demo figure comparing the paper's losses on one photograph (results/demo/),
#   2. Table 1's non-network columns with all nine measures (results/baselines/),
#   3. every network experiment of the profile (results/runs/, summaries in results/<profile>/):
#      `paper` when a CUDA GPU is present, `quick` otherwise (about an hour on 2 CPU cores);
#      override with IMGLOSS_PROFILE=smoke|quick|paper. Finished runs are reused, so an
#      interrupted job continues where it stopped.
# Data: $IMGLOSS_DATA_ROOT if set (see `imgloss data list`), else the photographs bundled with
# scikit-image; every results file names the data it was computed on.
# (The jupyter-book build joins this script with issue 5: `source scripts/setup_env.sh book`.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup_env.sh
source scripts/setup_env.sh dev  # explicit, so no arguments of ours leak into it
python -m imgloss.cli demo --out results/demo
python -m imgloss.cli baselines --out results/baselines
python -m imgloss.cli run all ${IMGLOSS_PROFILE:+--profile "$IMGLOSS_PROFILE"} --results results
echo "Results: $(pwd)/results (demo figure, baselines/<task>.json, runs/, <profile>/<experiment>.json)"
