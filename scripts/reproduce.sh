#!/usr/bin/env bash
# The project's main job: the reproduction.
#   1. the demo figure comparing the paper's losses on one photograph (results/demo/),
#   2. Table 1's non-network columns with all nine measures (results/baselines/),
#   3. every network experiment of the profile (results/runs/, summaries in results/<profile>/):
#      `paper` when a CUDA GPU is present, `quick` otherwise (about 80 minutes on 2 CPU cores);
#      override with IMGLOSS_PROFILE=smoke|quick|paper. Finished runs are reused, so an
#      interrupted job continues where it stopped.
#   4. the book: every notebook executed with papermill at that profile (reusing the runs), then
#      built with jupyter-book into _build/html/ (MathJax and the widget manager served locally:
#      it reads offline). Rerun one notebook with `imgloss book --only NAME -p NAME=VALUE`.
# Data: $IMGLOSS_DATA_ROOT if set (see `imgloss data list`), else the photographs bundled with
# scikit-image; every results file names the data it was computed on.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup_env.sh
source scripts/setup_env.sh book  # explicit, so no arguments of ours leak into it
python -m imgloss.cli demo --out results/demo
python -m imgloss.cli baselines --out results/baselines
python -m imgloss.cli run all ${IMGLOSS_PROFILE:+--profile "$IMGLOSS_PROFILE"} --results results
python -m imgloss.cli book ${IMGLOSS_PROFILE:+--profile "$IMGLOSS_PROFILE"}
echo "Results: $(pwd)/results (demo figure, baselines/<task>.json, runs/, <profile>/<experiment>.json)"
echo "Book: $(pwd)/_build/html/index.html"
