"""Provenance and atomic writes for every results file imgloss produces.

Every number in the book is loaded from a results file that says which code (git commit,
library versions), which data, which profile and which device made it, and when.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

#: What git looks at to judge a work tree dirty: everything but ``results/``, the outputs. A
#: campaign that rewrites a committed summary there still runs committed code.
_CODE = ["--", ":(top,exclude)results"]


def git_commit(where: Path | None = None) -> str:
    """The ``HEAD`` commit of the repository holding ``where`` (default: this package), or
    ``$IMGLOSS_COMMIT``, or ``"unknown"`` outside a git checkout. A work tree with uncommitted
    changes to tracked files outside ``results/`` gives ``<commit>+dirty.<12 hex>``: the hex digits
    hash ``git diff HEAD`` of those files, so two results made from the same uncommitted changes say
    so, and the report flags them (:func:`is_dirty`). Changes under ``results/`` are outputs, not
    code, and leave the commit clean."""
    if os.environ.get("IMGLOSS_COMMIT"):
        return os.environ["IMGLOSS_COMMIT"]
    here = where or Path(__file__).resolve().parent
    try:
        head = _git(here, "rev-parse", "HEAD").decode().strip()
        dirty = _git(here, "status", "--porcelain", "--untracked-files=no", *_CODE).strip()
        if not head:
            return "unknown"
        return head + (f"+dirty.{_diff_hash(here)}" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _git(here: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=here, capture_output=True, timeout=30, check=True
    ).stdout


def _diff_hash(here: Path) -> str:
    diff = _git(here, "diff", "HEAD", "--no-ext-diff", "--binary", *_CODE)
    return hashlib.sha256(diff).hexdigest()[:12]


def is_dirty(commit: str) -> bool:
    """Whether a recorded commit names a work tree with uncommitted changes."""
    return "+dirty" in commit


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
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, flush it to disk, then
    rename it into place, so a reader never sees a half-written file (also when the process is
    killed or the machine loses power). The file gets the permissions of a newly created file
    (``0o666`` less the umask), not the private ``0o600`` of a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)  # elsewhere: set and restore (not thread-safe, but only there)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without folder handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that killed writes of :func:`atomic_write` left in
    ``folder`` (call it only where no other writer can be at work, e.g. under a run's lock)."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, allow_nan=True) + "\n"
    atomic_write(path, lambda tmp: _write_text(tmp, text))


def _write_text(path: str, text: str) -> None:
    Path(path).write_text(text)
