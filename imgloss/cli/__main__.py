"""``python -m imgloss.cli``: the command line."""

import sys

from imgloss.cli.commands import main

sys.exit(main())
