# shellcheck shell=bash
# Create (if needed) and activate the project's virtualenv in <repo>/.venv.
#
# Source it, don't run it:   source scripts/setup_env.sh [dev|book]
#   dev  (default) installs imgloss in editable mode with the [dev] extras (tests, reference libs)
#        and [bm3d] (the BM3D baseline; non-commercial licence, so it is never a core dependency)
#   book           also installs the [book] extras (jupyter-book, papermill, ipykernel, ipywidgets)
#
# Idempotent: a stamp file (.venv/.imgloss-stamp) records a hash of pyproject.toml, the extras and
# the torch version; when it matches, nothing is reinstalled and sourcing takes a fraction of a second.
# Environment: IMGLOSS_TORCH_VERSION (default 2.13.0) pins torch; PYTHON picks the interpreter.

_imgloss_setup() {
    local profile="${1:-dev}"
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
    local venv="$root/.venv"
    local python="${PYTHON:-python3}"
    local torch_version="${IMGLOSS_TORCH_VERSION:-2.13.0}"
    local extras
    case "$profile" in
        dev) extras="dev,bm3d" ;;
        book) extras="dev,bm3d,book" ;;
        *) echo "setup_env.sh: unknown profile '$profile' (use 'dev' or 'book')" >&2; return 2 ;;
    esac

    if [ ! -x "$venv/bin/python" ]; then
        if ! command -v "$python" >/dev/null 2>&1; then
            echo "setup_env.sh: '$python' not found; imgloss needs Python >= 3.11" >&2
            return 1
        fi
        if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
            echo "setup_env.sh: imgloss needs Python >= 3.11, but '$python' is" \
                "$("$python" -c 'import platform; print(platform.python_version())')." \
                "Install a newer Python or set PYTHON=/path/to/python3.11" >&2
            return 1
        fi
        echo "setup_env.sh: creating $venv" >&2
        "$python" -m venv "$venv" || return 1
    fi

    local stamp="$venv/.imgloss-stamp"
    local want
    want="$( (cat "$root/pyproject.toml"; echo "extras=$extras torch=$torch_version") \
        | "$venv/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')" \
        || return 1
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "setup_env.sh: installing imgloss[$extras] into $venv (torch==$torch_version)" >&2
        "$venv/bin/python" -m pip install --quiet --upgrade pip || return 1
        # torch first, pinned: on this CPU-only machine pip finds a local CPU wheel of 2.13.0
        # (find-links), so nothing large is downloaded; elsewhere pip picks the normal wheel
        # for the platform from PyPI.
        "$venv/bin/python" -m pip install --quiet "torch==$torch_version" || return 1
        (cd "$root" && "$venv/bin/python" -m pip install --quiet -e ".[$extras]") || return 1
        echo "$want" >"$stamp"
    fi

    # shellcheck disable=SC1091
    source "$venv/bin/activate" || return 1
}

_imgloss_status=0
_imgloss_setup "$@" || _imgloss_status=$?
unset -f _imgloss_setup
if [ "$_imgloss_status" -ne 0 ]; then
    echo "setup_env.sh: environment set-up failed (status $_imgloss_status)" >&2
    unset _imgloss_status
    return 1 2>/dev/null || exit 1
fi
unset _imgloss_status
