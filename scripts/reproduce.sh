#!/usr/bin/env bash
# The project's main job: results and the book (`imgloss reproduce`, see `imgloss reproduce -h`).
#   1. the demo figure comparing the paper's losses on one photograph (results/demo/),
#   2. with a data root ($IMGLOSS_DATA_ROOT): the baselines and every run of the profile that is
#      not finished on that data (finished runs, the committed ones included, are reused);
#      without one nothing is trained (IMGLOSS_TRAIN_EMBEDDED=1 trains on the photographs bundled
#      with scikit-image, kept apart in results/embedded/),
#   3. what the book shows: how many runs, on which data, from which commits, and how long they
#      took (measured: `imgloss run all --profile quick --estimate`),
#   4. the book: every notebook executed with papermill, built with jupyter-book into
#      _build/html/ (MathJax and the widget manager served locally: it reads offline).
# The profile is `paper` when a CUDA GPU is present and `quick` otherwise;
# IMGLOSS_PROFILE=smoke|quick|paper overrides it. IMGLOSS_RESULTS picks another results folder
# (e.g. an empty one, to re-make every run from scratch). Interrupted runs resume.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup_env.sh
source scripts/setup_env.sh book  # explicit, so no arguments of ours leak into it
args=(reproduce --results "${IMGLOSS_RESULTS:-results}")
if [ -n "${IMGLOSS_PROFILE:-}" ]; then args+=(--profile "$IMGLOSS_PROFILE"); fi
if [ "${IMGLOSS_TRAIN_EMBEDDED:-0}" = 1 ]; then args+=(--train-embedded); fi
exec python -m imgloss.cli "${args[@]}"
