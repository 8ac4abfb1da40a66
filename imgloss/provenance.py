"""Provenance and atomic writes for every results file imgloss produces.

Every number in the book is loaded from a results file that says which code (git commit,
library versions), which data, which profile and which device made it, and when.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def git_commit() -> str:
    """The repository's ``HEAD`` commit (``+dirty`` if the work tree has changes), or
    ``$IMGLOSS_COMMIT``, or ``"unknown"`` outside a git checkout."""
    if os.environ.get("IMGLOSS_COMMIT"):
        return os.environ["IMGLOSS_COMMIT"]
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return (head + ("+dirty" if dirty else "")) if head else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_name(device: torch.device | str) -> str:
    """A human-readable description of ``device`` (GPU model, or the CPU and its threads)."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def library_versions() -> dict[str, str]:
    import numpy

    import imgloss

    out = {
        "imgloss": imgloss.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
    }
    try:
        import PIL

        out["pillow"] = PIL.__version__
    except ImportError:  # pragma: no cover - pillow is a dependency
        pass
    return out


def provenance(device: torch.device | str = "cpu", **extra: Any) -> dict[str, Any]:
    """The common provenance record: commit, versions, device, date, plus ``extra`` fields."""
    return {
        "git_commit": git_commit(),
        "versions": library_versions(),
        "device": device_name(device),
        "date_utc": now_utc(),
        **extra,
    }


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it into
    place, so a reader never sees a half-written file (also when the process is killed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, allow_nan=True) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
