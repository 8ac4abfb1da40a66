"""The errors a user can fix from their message alone.

A :class:`UserError` (bad input, a missing or damaged file, a missing optional package, a
training that diverged) carries a message that names what is wrong and how to fix it. The
command line (``imgloss.cli``) prints such an error as one line, ``error: <message>``, with
exit status 1; any other exception is a bug and keeps its traceback.

:class:`InputError` is the user error of a value that cannot be used (an option, a name, a
path, a file's contents); it is also a ``ValueError``, so that library callers that catch
``ValueError`` keep doing so. The package's own error classes derive from these two
(``DataRootError``, ``ResultsFileError``, ``CheckpointError``, ...).
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix; its message says what is wrong and what to do."""


class InputError(UserError, ValueError):
    """A value the user gave (an option, a name, a path, a file's contents) that cannot be
    used; a ``ValueError`` too."""
