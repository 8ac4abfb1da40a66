"""``python -m imgloss``: the command-line interface (as the ``imgloss`` command)."""

import sys

from imgloss.cli.commands import main

sys.exit(main())
