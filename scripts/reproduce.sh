#!/usr/bin/env bash
# The project's main job. For now: a demo comparing the paper's losses (l2, l1, SSIM_5, SSIM_9,
# MS-SSIM, Mix) on a real photograph and a noisy copy, written to results/demo/.
# Later issues grow this into the full reproduction (training runs, Table 1, figures) and the
# jupyter-book build (that step will use `source scripts/setup_env.sh book`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup_env.sh
source scripts/setup_env.sh dev  # explicit, so no arguments of ours leak into it
python -m imgloss.cli demo --out results/demo
echo "Figure: $(pwd)/results/demo/losses.png (values and provenance: results/demo/losses.json)"
