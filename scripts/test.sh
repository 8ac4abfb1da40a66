#!/usr/bin/env bash
# Run the test suite in the project's virtualenv (created on first use, with the book extras:
# the suite builds the book at the smoke profile and checks it in headless Chromium, which it
# skips when no `chromium` is installed, e.g. `apt-get install chromium`).
#   bash scripts/test.sh                      # all tests, quiet
#   bash scripts/test.sh -q tests/cli/test_demo_cli.py -k json
# Arguments are passed to pytest unchanged; pytest's exit code is this script's exit code.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup_env.sh
source scripts/setup_env.sh book
if [ "$#" -eq 0 ]; then
    set -- -q
fi
exec python -m pytest "$@"
