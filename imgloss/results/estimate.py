"""How long an experiment's runs took, read from the wall times in their records.

The one source of the time that the README, ``scripts/reproduce.sh`` and the CLI quote: the
measured wall time (training and evaluation) of every distinct finished run of the profile's
experiments, on the data source the results were made on (the committed ones on a fresh clone),
summed from the experiments' summaries (:func:`of_view`) or from the run records themselves
(:func:`of_runs`). ``imgloss run all --profile quick --estimate`` prints it, with the estimated
time of the runs still to train (:func:`imgloss.experiments.campaign.forecast`, which turns
their patches into seconds at the measured throughput).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from imgloss.results.records import RunRecord, View


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


def of_runs(
    folders: Iterable[Path],
    profile: str,
    source: str | None,
    experiments: tuple[str, ...] | list[str],
) -> Estimate:
    """The :class:`Estimate` of the finished runs in ``folders`` (run folders of ``profile`` on
    the data source ``source``; each counted once), from the wall time and device in their
    ``metrics.json``; a damaged record raises
    :class:`~imgloss.results.records.ResultsFileError`."""
    seen: dict[Path, float] = {}
    devices: set[str] = set()
    for folder in folders:
        if Path(folder) in seen:
            continue
        record = RunRecord.load(Path(folder) / "metrics.json")
        seen[Path(folder)] = float(record.provenance["wall_s"])
        devices.add(str(record.provenance["device"]))
    return Estimate(
        profile,
        source,
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
