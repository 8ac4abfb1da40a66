"""How long an experiment's runs take, read from the wall times in their records.

The one source of the time estimates that the README, ``scripts/reproduce.sh`` and the CLI
quote: ``imgloss run all --profile quick --estimate`` sums the measured wall time (training and
evaluation) of every distinct run of the profile's experiments, on the data source the results
were made on (the committed ones on a fresh clone).
"""

from __future__ import annotations

from dataclasses import dataclass

from imgloss.results.records import View


@dataclass(frozen=True)
class Estimate:
    """The runs of ``experiments`` at ``profile`` on data source ``source``, and their wall
    time in all (minutes, one after another) on ``devices``."""

    profile: str
    source: str | None
    experiments: tuple[str, ...]
    runs: int
    minutes: float
    devices: tuple[str, ...]


def of_view(view: View, experiments: tuple[str, ...] | list[str]) -> Estimate:
    """The :class:`Estimate` of ``experiments`` from the summaries of ``view`` (each run once:
    the experiments share runs)."""
    seen: dict[str, float] = {}
    devices: set[str] = set()
    for experiment in experiments:
        summary = view.summary(experiment)
        if summary is None:
            continue
        devices.update(summary.devices)
        for r in summary.runs:
            seen.setdefault(r.folder, r.wall_s)
    return Estimate(
        view.profile,
        view.tag,
        tuple(experiments),
        len(seen),
        sum(seen.values()) / 60,
        tuple(sorted(devices)),
    )


def describe(e: Estimate) -> str:
    """One line: ``"quick (table1, switching, fig8, alpha): 27 runs, 41 min on cpu: ..."``."""
    what = f"{e.profile} ({', '.join(e.experiments)})"
    if not e.runs:
        return f"{what}: no finished runs to estimate from"
    return (
        f"{what}: {e.runs} runs took {e.minutes:.0f} min of wall time, one after another, on "
        f"{', '.join(e.devices)} (data source {e.source})"
    )
