"""Layer 10, the command line (``imgloss``, ``python -m imgloss.cli``): parsing and the
mapping of user errors to one line, nothing else. :mod:`imgloss.cli.commands` builds the parser
and runs a command; the options several commands share are declared once in
:mod:`imgloss.cli.options`, which also resolves a command's one workspace; the commands are
grouped by module (``demos``, ``datasets``, ``runs``, ``reports``, ``book``).

It may import every other layer.
"""

from imgloss.cli.commands import main

__all__ = ["main"]
