"""Layer 10, the command line (``imgloss``, ``python -m imgloss.cli``): parsing and the
mapping of user errors to one line (:mod:`imgloss.cli.commands`).

It may import every other layer.
"""

from imgloss.cli.commands import main

__all__ = ["main"]
