"""The options several commands share, each declared once (:data:`SHARED`), their types, and
the one workspace a command resolves from them (:func:`workspace`).

A command adds the shared options it takes with :func:`add`; it may give one its own help text
(or, for ``--device``, its own default), never another spelling or type. ``tests/cli/test_cli.py``
checks that no command declares a shared option itself.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgloss.design.experiments import EXPERIMENTS, PROFILES, TABLE1_LOSSES

if TYPE_CHECKING:
    from imgloss.design.experiments import Profile
    from imgloss.results.workspace import Workspace

#: The tasks, in the order of Table 1.
TASK_NAMES = tuple(TABLE1_LOSSES)


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def results_folder(text: str) -> str:
    """An argparse type: a results folder (existing or not), never an existing file."""
    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r} is a file; pass the results folder (default: results)"
        )
    return text


@dataclass(frozen=True)
class Option:
    """One shared option: its flags and ``add_argument`` keywords."""

    flags: tuple[str, ...]
    keywords: dict[str, Any] = field(default_factory=dict)


#: Every option that more than one command takes, by name.
SHARED: dict[str, Option] = {
    "results": Option(
        ("--results",),
        {
            "default": "results",
            "type": results_folder,
            "metavar": "DIR",
            "help": "results folder (default: results)",
        },
    ),
    "root": Option(
        ("--root",),
        {"default": None, "metavar": "DIR", "help": "data root (default: $IMGLOSS_DATA_ROOT)"},
    ),
    "profile": Option(
        ("--profile",),
        {
            "default": None,
            "choices": list(PROFILES),
            "help": "default: paper on a GPU, quick otherwise",
        },
    ),
    "device": Option(
        ("--device",),
        {"default": None, "help": "default: cuda if available, else cpu"},
    ),
    "no_progress": Option(
        ("--no-progress",),
        {"action": "store_true", "help": "no progress bars or per-run summary lines (for logs)"},
    ),
    "precision": Option(
        ("--precision",),
        {
            "default": None,
            "choices": ["auto", "bfloat16", "float32"],
            "help": "the network's arithmetic for new runs (default auto: bfloat16 autocast on CUDA "
            "and on CPUs with native bf16, else float32; sets $IMGLOSS_PRECISION for worker "
            "processes)",
        },
    ),
    "tasks": Option(("--tasks",), {"nargs": "*", "default": None, "choices": list(TASK_NAMES)}),
    "experiment": Option(("experiment",), {"choices": [*EXPERIMENTS, "all"]}),
    "seed": Option(("--seed",), {"type": int, "default": 0}),
    "datasets": Option(
        ("--datasets",),
        {
            "nargs": "*",
            "default": None,
            "help": "test sets (default: the task's test sets present under the data root, else "
            "the embedded scikit-image photographs)",
        },
    ),
}

#: What a command that trains takes: where, on which data, on which device, how loudly.
RUN_OPTIONS = ("profile", "results", "device", "root", "precision", "no_progress")

#: May differ between commands: the help text, and the default device (the baselines' is cpu).
_OVERRIDABLE = {"help", "default"}


def add(parser: argparse.ArgumentParser | Any, *names: str, **overrides: dict[str, Any]) -> None:
    """Add the shared options ``names`` to ``parser``; ``overrides[name]`` gives one of them its
    own help text or default."""
    for name in names:
        option = SHARED[name]
        own = overrides.get(name, {})
        if set(own) - _OVERRIDABLE:
            raise TypeError(f"{name}: only {sorted(_OVERRIDABLE)} may differ between commands")
        parser.add_argument(*option.flags, **(option.keywords | own))


def default_profile(name: str | None) -> str:
    """``name``, else ``paper`` on a machine with CUDA, else ``quick``."""
    if name:
        return name
    import torch

    return "paper" if torch.cuda.is_available() else "quick"


def profile_of(args: argparse.Namespace) -> Profile:
    """The profile a command runs at (:func:`default_profile` of ``--profile``)."""
    return PROFILES[default_profile(args.profile)]


def experiments_of(args: argparse.Namespace, profile: Profile) -> tuple[str, ...]:
    """The experiments of ``args.experiment`` (``all``: the profile's)."""
    return tuple(profile.experiments) if args.experiment == "all" else (args.experiment,)


def workspace(args: argparse.Namespace) -> Workspace:
    """The one workspace of a command, from its shared options (``--results``, ``--root``,
    ``--device``, ``--no-progress``): the data root is resolved into its data source here, once
    (a data root that is set but unusable is refused here)."""
    from imgloss.results.workspace import Workspace

    return Workspace.resolve(
        args.results,
        getattr(args, "root", None),
        device=getattr(args, "device", None),
        progress=not getattr(args, "no_progress", False),
    )
