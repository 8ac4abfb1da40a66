"""``python -m imgloss``: the command-line interface (as the ``imgloss`` command)."""

import sys

from .cli import main

sys.exit(main())
