"""A batch of runs within a time budget (``imgloss run ... --budget 2h``), and the time of the
runs before any starts (``imgloss run ... --estimate``).

The runs of the experiments are taken in their design order (each run once: experiments share runs).
Before a run starts, its remaining cost (its own training and that of any unfinished parent, plus
their evaluations) is turned into seconds with the throughput of its network architecture
(:func:`architecture`; :mod:`imgloss.experiments.budget`), measured from the finished runs of that
architecture, else timed on a few steps of its first pending run, once per architecture
(:class:`Rates`); a run that would end past the budget is left for the next batch, and so is
everything after it, so that a batch never leaves the design's order with holes. The batch
reports what it finished and what is left with its estimated time. :func:`forecast` makes the
same estimate for every unfinished run without training any, next to the recorded wall time of
the finished ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from imgloss.design import tasks as T
from imgloss.design.experiments import Profile, RunSpec, run_data, unique_runs
from imgloss.experiments.budget import (
    EVAL_SHARE,
    TIMED_STEPS,
    Budget,
    Throughput,
    duration,
    measured,
    run_seconds,
    timed_steps,
)
from imgloss.experiments.runner import is_finished, run_dir, run_one, save_summaries, train_config
from imgloss.results import estimate as recorded
from imgloss.results.records import open_view
from imgloss.results.workspace import Workspace
from imgloss.training.precision import choose as choose_precision


def architecture(run: RunSpec) -> str:
    """The network ``run`` trains, by name: its own (``RunSpec.network``), else its task's
    (``imgloss.design.tasks.Task.network``: PaperNet, SRCNN for super-resolution)."""
    return run.network or T.get(run.task).network


def throughput(
    run: RunSpec, profile: Profile, ws: Workspace, runs_folder: Path | None = None
) -> Throughput:
    """The throughput of ``run``'s :func:`architecture` on the workspace's device and
    precision: from the finished runs of that architecture under ``runs_folder`` (default: the
    workspace's runs of ``profile``), else from :data:`~imgloss.experiments.budget.TIMED_STEPS`
    timed training steps of ``run`` on the workspace's data, its evaluation then estimated at
    :data:`~imgloss.experiments.budget.EVAL_SHARE` of its training time."""
    dev = ws.torch_device()
    precision = "bfloat16-autocast" if choose_precision(dev.type, None).bfloat16 else "float32"
    name = architecture(run)
    folder = ws.folder.runs(profile.name) if runs_folder is None else runs_folder
    found = measured(folder, dev.type, precision, name)
    if found is not None:
        return found
    cfg = train_config(run, profile, run_data(ws.source, T.get(run.task), profile))
    per_patch = timed_steps(cfg, dev, TIMED_STEPS - 1, root=ws.root)
    eval_s = EVAL_SHARE * per_patch * profile.steps * profile.batch_size
    return Throughput(per_patch, eval_s, 0, dev.type, precision, name, TIMED_STEPS)


class Rates:
    """The :func:`throughput` of each architecture, computed once, when the first run of that
    architecture asks for it (so timed steps, where needed, time that architecture's first
    pending run); ``runs_folder`` as in :func:`throughput`, ``say`` hears each new one."""

    def __init__(
        self,
        profile: Profile,
        ws: Workspace,
        runs_folder: Path | None = None,
        say: Callable[[str], Any] | None = None,
    ) -> None:
        self.profile, self.ws, self.runs_folder, self.say = profile, ws, runs_folder, say
        self.known: dict[str, Throughput] = {}

    def __call__(self, run: RunSpec) -> Throughput:
        name = architecture(run)
        if name not in self.known:
            self.known[name] = throughput(run, self.profile, self.ws, self.runs_folder)
            if self.say is not None:
                self.say(f"throughput of {self.known[name].describe()}")
        return self.known[name]


@dataclass
class Batch:
    """What a budgeted batch did: runs finished in it, runs left, their estimated seconds, and
    the throughput of each architecture it estimated with."""

    finished: list[RunSpec] = field(default_factory=list)
    left: list[RunSpec] = field(default_factory=list)
    left_s: float = 0.0
    throughput: dict[str, Throughput] = field(default_factory=dict)

    def describe(self) -> list[str]:
        """What the batch did and what is left, for people (``imgloss run ... --budget``)."""
        lines = [f"budget: {len(self.finished)} runs finished in this batch; {len(self.left)} left"]
        if self.left:
            runs = ", ".join(f"{r.task} {r.label} seed {r.seed}" for r in self.left)
            lines.append(f"left, about {duration(self.left_s)} at the measured throughput: {runs}")
            names = dict.fromkeys(architecture(r) for r in self.left)
            lines += [f"throughput of {self.throughput[n].describe()}" for n in names]
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
    of ``budget_s`` seconds (each run's time at the throughput of its architecture,
    :class:`Rates`), then write the experiments' summaries; return the :class:`Batch`."""
    budget = Budget(budget_s)
    runs = [
        r
        for r in unique_runs(experiments, profile, tasks)
        if not is_finished(run_dir(ws, r, profile))
    ]
    batch = Batch()
    if runs:
        say(f"budget {budget_s / 3600:.2f} h")
        rates = Rates(profile, ws, say=say)
        for i, run in enumerate(runs):
            estimate = run_seconds(*pending_patches(run, profile, ws), rates(run))
            if not budget.fits(estimate):
                batch.left = runs[i:]
                batch.left_s = sum(_seconds_of(batch.left, profile, ws, rates).values())
                break
            say(
                f"start {run.task} {run.label} seed {run.seed}: about {estimate / 60:.0f} min "
                f"({budget.left / 60:.0f} min left in the budget)"
            )
            run_one(run, profile, ws)
            batch.finished.append(run)
        batch.throughput = dict(rates.known)
    save_summaries(experiments, profile, ws, say=say)
    return batch


def _seconds_of(
    runs, profile, ws: Workspace, rates: Callable[[RunSpec], Throughput]
) -> dict[str, float]:
    """The estimated seconds of ``runs`` one after another (a parent counted once), per
    architecture."""
    seconds: dict[str, float] = {}
    done = frozenset[RunSpec]()
    for run in runs:
        patches, evals = pending_patches(run, profile, ws, done)
        name = architecture(run)
        seconds[name] = seconds.get(name, 0.0) + run_seconds(patches, evals, rates(run))
        done = done | {run, *_ancestors(run)}
    return seconds


def _ancestors(run: RunSpec) -> list[RunSpec]:
    parent = run.parent()
    return [] if parent is None else [parent, *_ancestors(parent)]


@dataclass(frozen=True)
class Forecast:
    """The runs of some experiments at a profile, in the runs folder ``folder`` (one data
    source): the finished ones (``done``: their recorded wall time), the unfinished ones
    (``left``) with their estimated seconds per architecture (``left_s``) at the throughput of
    each (``rates``); timed steps, where a throughput needed them, trained on the data source
    ``timed_on``."""

    done: recorded.Estimate
    left: tuple[RunSpec, ...]
    left_s: dict[str, float]
    rates: dict[str, Throughput]
    folder: str
    timed_on: str

    def describe(self) -> list[str]:
        """A few lines for people: how long the finished runs took, how many are left and how
        long they will take, and each architecture's throughput with where it comes from."""
        d = self.done
        head = f"{', '.join(d.experiments)} at {d.profile}: "
        if d.runs:
            head += f"{d.runs} runs finished (took {duration(d.minutes * 60)} on "
            head += f"{', '.join(d.devices)}); "
        else:
            head += "no run finished; "
        if not self.left:
            lines = [head + "none left"]
        else:
            first = next(iter(self.rates.values()))
            lines = [
                head + f"{len(self.left)} left, about {duration(sum(self.left_s.values()))} on "
                f"{first.device} ({first.precision}) at the measured throughput"
            ]
        for name, rate in self.rates.items():
            count = sum(architecture(r) == name for r in self.left)
            timed = (
                f" on data source {self.timed_on}"
                if not rate.runs and self.timed_on != d.source
                else ""
            )
            lines.append(
                f"  {name}: {count} left, about {duration(self.left_s[name])}, at {rate.rate}, "
                f"from {rate.source}{timed}"
            )
        lines.append(f"runs of data source {d.source}: {self.folder}")
        return lines


def forecast(experiments, profile: Profile, ws: Workspace, *, tasks=None) -> Forecast:
    """How long the runs of ``experiments`` at ``profile`` took and will take, before any
    starts: each distinct run once, the finished ones at the wall time in their records
    (:func:`imgloss.results.estimate.of_runs`), the unfinished ones (a parent they share counted
    once) at the throughput of their architecture (:class:`Rates`: the finished runs of that
    architecture, else a few timed steps of its first unfinished run).

    The runs are those of the workspace's data source when it has a data root (what ``imgloss
    run`` trains there); without one, those of the results ``open_view`` shows (the
    committed ones on a fresh clone), else those of the embedded photographs. Timed steps train
    on the workspace's own data: a throughput belongs to the network and the device, not to the
    images."""
    source = ws.source
    if ws.root is None:
        shown = open_view(ws.results, profile.name).source
        source = shown if shown is not None else source
    where = replace(ws, source=source)
    folders = {r: run_dir(where, r, profile) for r in unique_runs(experiments, profile, tasks)}
    done = [folder for folder in folders.values() if is_finished(folder)]
    left = tuple(r for r, folder in folders.items() if not is_finished(folder))
    runs_folder = where.folder.runs(profile.name)
    rates = Rates(profile, ws, runs_folder=runs_folder)
    seconds = _seconds_of(left, profile, where, rates)
    return Forecast(
        recorded.of_runs(done, profile.name, source.tag, tuple(experiments)),
        left,
        seconds,
        dict(rates.known),
        str(runs_folder),
        ws.source.tag,
    )
