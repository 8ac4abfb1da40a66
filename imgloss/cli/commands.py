"""Command-line interface: ``imgloss COMMAND`` (``imgloss --help`` lists them).

This module builds the parser from the command groups and maps errors; each group is a module
of its own with its parsers (``add_parsers``) and handlers, joined by ``set_defaults(func=...)``.
The options several commands share are declared once (:mod:`imgloss.cli.options`), and so is the
workspace a command resolves from them. The work is the library's.

========== ================= ==============================================================
reproduce  ``cli.book``      the main job: demo, results and the book (``scripts/reproduce.sh``)
demo       ``cli.demos``     a figure and JSON comparing the losses on a photograph and a noisy copy
losses     ``cli.demos``     the names :func:`imgloss.losses.get` accepts
data       ``cli.datasets``  list, check or fetch the registered datasets; name a data root's source
baselines  ``cli.datasets``  Table 1's non-network columns (Noisy, Bilinear, Original JPEG)
train      ``cli.runs``      train and evaluate one run
run        ``cli.runs``      an experiment at a profile (locally, on a pool of GPUs or on Slurm)
status     ``cli.runs``      the state of each run of an experiment
bm3d       ``cli.datasets``  Table 1's BM3D column
report     ``cli.reports``   Table 1, loss switching and the paper's claims decided from the results
migrate    ``cli.reports``   bring an older results folder up to date (nothing retrained)
book       ``cli.book``      execute the notebooks and build the HTML book (and its PDF)
========== ================= ==============================================================

Errors (:mod:`imgloss.cli.errors`): a documented user error is one line on stderr and exit
status 1 (2 for a bad command line); any other exception keeps its traceback.

Examples::

    imgloss reproduce                          # the main job: results and the book
    imgloss run table1 --profile quick         # train what is missing on the data root's data
    imgloss run all --profile quick --estimate # how long the runs took and will take
    imgloss report --findings --json           # the paper's claims, decided
    imgloss book --pdf                         # the book, and the book as one PDF
    imgloss book --publish                     # the last build to origin's gh-pages branch
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from imgloss.cli import book, datasets, demos, reports, runs
from imgloss.cli.errors import user_error_line

#: The command groups, in the order ``imgloss --help`` lists their commands.
GROUPS = (demos, datasets, runs, reports, book)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``imgloss train: error: ...``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="imgloss",
        description="Loss functions of Zhao et al. (2017) for image processing, reproduced.",
    )
    from imgloss import __version__

    parser.add_argument("--version", action="version", version=f"imgloss {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status. A user error is one line on stderr and status 1
    (2 for a bad command line); an interrupted command says how to resume, status 130; any
    other exception is raised with its traceback."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "precision", None) is not None:
        from imgloss.training.precision import ENV

        os.environ[ENV] = args.precision  # read by every run this process or its jobs start
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader went away (`imgloss report | head -1`): exit quietly
        _silence_stdout()
        return 141  # 128 + SIGPIPE, as a Unix tool killed by the signal
    except KeyboardInterrupt:
        print(
            "interrupted: finished runs and checkpoints are kept; run the same command again "
            "to resume",
            file=sys.stderr,
        )
        return 130
    except Exception as err:
        line = user_error_line(err)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
