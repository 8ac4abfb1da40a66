"""Which errors the command line prints as one line, and that line.

A documented user error (:class:`imgloss.core.errors.UserError` and its subclasses, among them
the book's :class:`~imgloss.book.build.BookError` and the network demo's
:class:`~imgloss.teaching.network_demo.NetworkDemoError`), a missing file, a file that cannot be
written (a full disk, a read-only folder) and a missing optional package become one line on
stderr, ``error: ...``, and exit status 1 (:func:`user_error_line`). Any other exception is a
bug: it keeps its traceback. A value the user gave that a library checks with a plain
``ValueError`` becomes a user error only where the command passes it in (:func:`user_input`).
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

from imgloss.core.errors import InputError, UserError

#: Optional packages and the extra of imgloss that installs them.
EXTRAS = {
    "papermill": "book",
    "jupyter_book": "book",
    "ipykernel": "book",
    "ipywidgets": "book",
    "nbformat": "book",
    "playwright": "book",
    "bm3d": "bm3d",
}


def one_line(err: BaseException) -> str:
    """The message of ``err`` on one line (a multi-line message is joined with ``; ``)."""
    return "; ".join(line.strip() for line in str(err).splitlines() if line.strip())


def _os_error_line(err: OSError) -> str:
    where = err.filename or "a file"
    if err.errno == errno.ENOSPC:
        fix = "free some space, or pass --results DIR on another disk"
    elif err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        fix = "the folder is not writable: make it writable, or pass --results DIR"
    else:
        fix = "check the path and try again"
    return f"cannot write or read {where}: {err.strerror or err}; {fix}"


def user_error_line(err: BaseException) -> str | None:
    """The one line the CLI prints for a user error (bad input, damaged or missing files, a full
    disk, a non-finite loss, a missing extra), or ``None`` for a bug (its traceback is shown)."""
    from imgloss.training.trainer import NonFiniteLossError

    if isinstance(err, ModuleNotFoundError) and err.name and err.name.split(".")[0] in EXTRAS:
        extra = EXTRAS[err.name.split(".")[0]]
        return f"the optional package {err.name} is missing: pip install 'imgloss[{extra}]'"
    if isinstance(err, NonFiniteLossError):
        return one_line(err) + " (lower the learning rate or check the data, then run again)"
    if isinstance(err, UserError | FileNotFoundError):  # documented: printed as their message
        return one_line(err)
    if isinstance(err, OSError):
        return _os_error_line(err)
    return None


@contextlib.contextmanager
def user_input() -> Iterator[None]:
    """Inside, a ``ValueError`` or ``TypeError`` is the user's: the value the command passes in
    came from the command line (e.g. a loss option or a measure's name checked by a library).
    It is raised again as an :class:`~imgloss.core.errors.InputError` with the same message."""
    try:
        yield
    except UserError:
        raise
    except (ValueError, TypeError) as err:
        raise InputError(str(err)) from err
