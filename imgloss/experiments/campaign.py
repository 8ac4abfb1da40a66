"""A batch of runs within a time budget (``imgloss run ... --budget 2h``).

The runs of the experiments are taken in their design order (each run once: experiments share runs).
Before a run starts, its remaining cost (its own training and that of any unfinished parent, plus
their evaluations) is turned into seconds with the measured throughput
(:mod:`imgloss.experiments.budget`); a run that would end past the budget is left for the next
batch, and so is everything after it, so that a batch never leaves the design's order with holes.
The batch reports what it finished and what is left with its estimated time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imgloss.design import tasks as T
from imgloss.design.experiments import Profile, RunSpec, run_data, unique_runs
from imgloss.experiments.budget import (
    EVAL_SHARE,
    Budget,
    Throughput,
    measured,
    run_seconds,
    timed_steps,
)
from imgloss.experiments.runner import is_finished, run_dir, run_one, save_summaries, train_config
from imgloss.results.workspace import Workspace
from imgloss.training.precision import choose as choose_precision


@dataclass
class Batch:
    """What a budgeted batch did: runs finished in it, runs left, their estimated seconds."""

    finished: list[RunSpec] = field(default_factory=list)
    left: list[RunSpec] = field(default_factory=list)
    left_s: float = 0.0
    throughput: Throughput | None = None

    def describe(self) -> list[str]:
        """What the batch did and what is left, for people (``imgloss run ... --budget``)."""
        lines = [f"budget: {len(self.finished)} runs finished in this batch; {len(self.left)} left"]
        if self.left:
            runs = ", ".join(f"{r.task} {r.label} seed {r.seed}" for r in self.left)
            lines.append(
                f"left, about {self.left_s / 3600:.1f} h at the measured throughput: {runs}"
            )
        return lines


def pending_patches(
    run: RunSpec, profile: Profile, ws: Workspace, done: frozenset = frozenset()
) -> tuple[int, int]:
    """``(training patches, evaluations)`` that :func:`imgloss.experiments.runner.run_one` would
    still make for ``run`` in the workspace ``ws``: its own phases beyond its parent's, and those
    of unfinished parents (runs in ``done`` count as finished)."""
    if run in done or is_finished(run_dir(ws, run, profile)):
        return 0, 0
    data = run_data(ws.source, T.get(run.task), profile)
    cfg = train_config(run, profile, data)
    parent = run.parent()
    if parent is None:
        return cfg.total_steps * cfg.batch_size, 1
    patches, evals = pending_patches(parent, profile, ws, done)
    parent_steps = train_config(parent, profile, data).total_steps
    return patches + (cfg.total_steps - parent_steps) * cfg.batch_size, evals + 1


def throughput(runs, profile: Profile, ws: Workspace) -> Throughput:
    """The measured throughput on the workspace's device: from finished runs, else from timed
    steps."""
    dev = ws.torch_device()
    network = "bfloat16-autocast" if choose_precision(dev.type, None).bfloat16 else "float32"
    found = measured(ws.folder.runs(profile.name), dev.type, network)
    if found is not None:
        return found
    first = runs[0]
    cfg = train_config(first, profile, run_data(ws.source, T.get(first.task), profile))
    per_patch = timed_steps(cfg, dev)
    eval_s = EVAL_SHARE * per_patch * profile.steps * profile.batch_size
    return Throughput(per_patch, eval_s, 0, dev.type, network)


def run_within(
    budget_s: float,
    experiments,
    profile: Profile,
    ws: Workspace,
    *,
    tasks=None,
    say: Callable[[str], Any] = print,
) -> Batch:
    """Run the unfinished runs of ``experiments`` in order while each fits in what is left
    of ``budget_s`` seconds, then write the experiments' summaries; return the
    :class:`Batch`."""
    budget = Budget(budget_s)
    runs = [
        r
        for r in unique_runs(experiments, profile, tasks)
        if not is_finished(run_dir(ws, r, profile))
    ]
    batch = Batch()
    if runs:
        batch.throughput = rate = throughput(runs, profile, ws)
        say(f"budget {budget_s / 3600:.2f} h; throughput {rate.describe()}")
        for i, run in enumerate(runs):
            estimate = run_seconds(*pending_patches(run, profile, ws), rate)
            if not budget.fits(estimate):
                batch.left = runs[i:]
                batch.left_s = _seconds_of(batch.left, profile, ws, rate)
                break
            say(
                f"start {run.task} {run.label} seed {run.seed}: about {estimate / 60:.0f} min "
                f"({budget.left / 60:.0f} min left in the budget)"
            )
            run_one(run, profile, ws)
            batch.finished.append(run)
    save_summaries(experiments, profile, ws, say=say)
    return batch


def _seconds_of(runs, profile, ws: Workspace, rate: Throughput) -> float:
    """The estimated seconds of ``runs`` one after another (a parent counted once)."""
    total, done = 0.0, frozenset[RunSpec]()
    for run in runs:
        total += run_seconds(*pending_patches(run, profile, ws, done), rate)
        done = done | {run, *_ancestors(run)}
    return total


def _ancestors(run: RunSpec) -> list[RunSpec]:
    parent = run.parent()
    return [] if parent is None else [parent, *_ancestors(parent)]
