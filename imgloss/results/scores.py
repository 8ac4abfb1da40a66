"""Per-image scores, as the claims' statistics read them, and their pairing.

:class:`Scores` holds one schedule's scores on one test set and measure: ``images x seeds``. A
:class:`ScoreSource` gives them for trainings (its ``runs``) and for the fixed columns of Table 1
(its ``column``: the task's non-network input, ``"baseline"``, and CFA-BM3D, ``"bm3d"``).
:class:`ViewScores` reads them from a results :class:`imgloss.results.records.View`; a test can
build its own source (the paper's Table 1 means, say). :func:`paired` turns two of them into signed
paired differences on the images and seeds both were scored on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from imgloss.design.experiments import EXPERIMENTS
from imgloss.metrics import LOWER_IS_BETTER
from imgloss.results.records import RunRecord, View


@dataclass(frozen=True)
class Scores:
    """Per-image values of one measure: ``values[i, s]`` for ``images[i]`` and ``seeds[s]``
    (a fixed column has the one seed ``-1``)."""

    images: tuple[str, ...]
    seeds: tuple[int, ...]
    values: np.ndarray


class ScoreSource(Protocol):
    """Where the claims read scores from (one profile on one data source)."""

    def runs(self, task: str, dataset: str, schedule: str, measure: str) -> Scores | None: ...

    def column(self, task: str, dataset: str, column: str, measure: str) -> Scores | None: ...

    def schedules(self, task: str) -> list[str]: ...

    def datasets(self, task: str, schedule: str) -> list[str]:
        """The test sets ``schedule`` (or the fixed column ``baseline``/``bm3d``) was scored on."""
        ...


FIXED_SEED = -1


@dataclass
class ViewScores:
    """The :class:`ScoreSource` of a results view: its runs' ``metrics.json`` records and its
    baseline and BM3D records (BM3D scored on crops is not comparable and is left out)."""

    view: View
    _records: dict = field(default_factory=dict, repr=False)

    def _runs_of(self, task: str, schedule: str) -> dict[int, RunRecord]:
        if (task, schedule) not in self._records:
            out = {}
            for entry in self.view.runs():
                if (entry.task, entry.schedule) == (task, schedule):
                    assert self.view.folder is not None  # a view with runs has a folder
                    path = self.view.folder.path / entry.folder / "metrics.json"
                    out[entry.seed] = RunRecord.load(path)
            self._records[(task, schedule)] = out
        return self._records[(task, schedule)]

    def runs(self, task: str, dataset: str, schedule: str, measure: str) -> Scores | None:
        found = self._runs_of(task, schedule)
        tables = {s: r.test[dataset] for s, r in sorted(found.items()) if dataset in r.test}
        if not tables or any(measure not in t.metrics for t in tables.values()):
            return None
        images = sorted(set.intersection(*(set(t.rows) for t in tables.values())))
        if not images:
            return None
        values = np.array([[tables[s].rows[i][measure] for s in tables] for i in images], float)
        return Scores(tuple(images), tuple(tables), values)

    def column(self, task: str, dataset: str, column: str, measure: str) -> Scores | None:
        if column == "baseline":
            record = self.view.baseline(task)
            table = None if record is None else record.tables.get(dataset)
        elif column == "bm3d":
            bm3d = self.view.bm3d()
            # BM3D scored on centre crops is not comparable with whole images
            usable = bm3d is not None and bm3d.task == task and not bm3d.settings.get("crop")
            table = bm3d.tables.get(dataset) if bm3d is not None and usable else None
        else:
            raise ValueError(f"unknown fixed column {column!r} (baseline, bm3d)")
        if table is None or measure not in table.metrics:
            return None
        images = sorted(table.rows)
        values = np.array([[table.rows[i][measure]] for i in images], dtype=np.float64)
        return Scores(tuple(images), (FIXED_SEED,), values)

    def schedules(self, task: str) -> list[str]:
        return sorted({e.schedule for e in self.view.runs() if e.task == task})

    def datasets(self, task: str, schedule: str) -> list[str]:
        if schedule in ("baseline", "bm3d"):
            record = self.view.baseline(task) if schedule == "baseline" else self.view.bm3d()
            return [] if record is None else list(record.tables)
        for experiment in EXPERIMENTS:
            summary = self.view.summary(experiment)
            if summary is None:
                continue
            datasets = summary.datasets(task)
            if datasets and summary.measures(task, schedule, datasets[0]):
                return datasets
        return []


def signed(a: np.ndarray, b: np.ndarray, measure: str) -> np.ndarray:
    """``a - b`` where higher is better, ``b - a`` where lower is better: positive = a better."""
    return b - a if measure in LOWER_IS_BETTER else a - b


def paired(a: Scores, b: Scores, measure: str) -> tuple[np.ndarray, float] | None:
    """``(differences images x seeds, b's mean)`` of ``a`` against ``b`` on the images both hold
    and the seeds both hold (every seed of ``a`` when ``b`` is a fixed column); ``None`` if they
    share none. Positive differences favour ``a``."""
    fixed = b.seeds == (FIXED_SEED,)
    seeds = list(a.seeds) if fixed else sorted(set(a.seeds) & set(b.seeds))
    images = sorted(set(a.images) & set(b.images))
    if not seeds or not images:
        return None
    rows_a = [a.images.index(i) for i in images]
    rows_b = [b.images.index(i) for i in images]
    cols_a = [a.seeds.index(s) for s in seeds]
    va = a.values[np.ix_(rows_a, cols_a)]
    vb = b.values[np.ix_(rows_b, [0] * len(seeds) if fixed else [b.seeds.index(s) for s in seeds])]
    return signed(va, vb, measure), float(vb.mean())
