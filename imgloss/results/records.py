"""The results files, as typed records: what the runner writes and the report, figures and
notebooks read.

Every results file is JSON with a ``kind`` and a ``schema_version`` (:data:`SCHEMA_VERSION`).
Loading validates it: a missing, truncated, foreign or outdated file raises
:class:`ResultsFileError`, whose message names the file and says how to fix it.

* :class:`RunRecord`: ``<source>/runs/<profile>/<task>/<schedule>/seed<k>-<key>/metrics.json``,
  written by ``imgloss train`` and ``imgloss run``;
* :class:`ExperimentSummary`: ``<source>/<profile>/<experiment>.json``, written by ``imgloss run``;
* :class:`BaselineRecord`: ``<source>/baselines/<task>.json``, written by ``imgloss baselines``;
* :class:`BM3DRecord`: ``<source>/bm3d/demosaic.json``, written by ``imgloss bm3d``;
* the data source: ``<source>/source.json`` (:meth:`SourceFolder.register`), written by any of them;
* :class:`imgloss.experiments.figure_inputs.FigureInputs`:
  ``<source>/<profile>/figure-inputs/<task>/``, the figures' input and reference crops, written by
  ``imgloss run``.

``<source>`` is the tag of the data the results were made on (:class:`imgloss.data.DataSource`):
``embedded`` for the photographs bundled with scikit-image, ``registered-<8 hex>`` for the
registered datasets of a data root. Results on different data live in different folders and are
never pooled: a :class:`View` (:func:`open_view`) reads one profile of one source.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from imgloss.core.errors import InputError
from imgloss.core.provenance import write_json
from imgloss.data.source import EMBEDDED_TAG, DataSource, RunData
from imgloss.metrics import MetricTable

#: The version of the results files' layout that this imgloss writes and reads.
SCHEMA_VERSION = 2

#: What to do about a bad file of each kind (the second half of a ResultsFileError message).
FIXES = {
    "run": "delete the run's folder and run it again (`imgloss run` trains what is missing)",
    "summary": "write it again from the runs with `imgloss run EXPERIMENT --profile P`",
    "baseline": "write it again with `imgloss baselines`",
    "bm3d": "write it again with `imgloss bm3d`",
    "source": "delete it; the next `imgloss run` or `imgloss baselines` writes it again",
    "figure-inputs": "delete its folder and write it again with `imgloss run EXPERIMENT "
    "--profile P` and the data root the results were made on",
}
_MIGRATE = "migrate the folder with `imgloss migrate --results DIR --root DATA_ROOT`"


class ResultsFileError(InputError):
    """A results file is missing, unreadable, truncated, foreign or of another schema."""

    def __init__(self, path: str | os.PathLike, problem: str, fix: str):
        super().__init__(f"{path}: {problem}; {fix}")
        self.path, self.problem, self.fix = Path(path), problem, fix


def read_record(path: str | os.PathLike, kind: str) -> dict:
    """The JSON object of a results file of ``kind``, validated (a :class:`ResultsFileError`
    names the file and the fix otherwise)."""
    path = Path(path)
    fix = FIXES[kind]
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ResultsFileError(path, "missing", fix) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ResultsFileError(path, f"unreadable ({err})", fix) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        problem = f"not valid JSON ({err.msg} at line {err.lineno}; truncated or damaged?)"
        raise ResultsFileError(path, problem, fix) from None
    if not isinstance(obj, dict):
        raise ResultsFileError(
            path, f"not an imgloss {kind} record (a JSON {type(obj).__name__})", fix
        )
    version = obj.get("schema_version")
    if version is None:
        if "provenance" in obj:  # schema 1 files had no version
            raise ResultsFileError(path, "written by imgloss before schema 2", _MIGRATE)
        raise ResultsFileError(path, f"not an imgloss {kind} record (no schema_version)", fix)
    if obj.get("kind") != kind:
        raise ResultsFileError(
            path, f"an imgloss {obj.get('kind')!r} record where a {kind!r} record belongs", fix
        )
    if version != SCHEMA_VERSION:
        newer = isinstance(version, int) and version > SCHEMA_VERSION
        problem = f"schema version {version!r}, this imgloss reads {SCHEMA_VERSION}"
        raise ResultsFileError(path, problem, "upgrade imgloss" if newer else _MIGRATE)
    return obj


def parse_record(path: Path, kind: str, build):
    """``build(read_record(path, kind))``, with a missing or malformed field named."""
    obj = read_record(path, kind)
    try:
        return build(obj)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        what = f"field {err}" if isinstance(err, KeyError) else str(err)
        raise ResultsFileError(path, f"malformed {kind} record ({what})", FIXES[kind]) from None


def record_header(kind: str) -> dict:
    return {"kind": kind, "schema_version": SCHEMA_VERSION}


# ------------------------------------------------------------------------------------ runs
@dataclass(frozen=True)
class WeightsEntry:
    """The final weights a run record vouches for: the file in the run folder
    (``model.safetensors``), its SHA-256 and size; loading checks the checksum."""

    file: str
    sha256: str
    bytes: int

    @classmethod
    def of(cls, path: Path) -> WeightsEntry:
        from imgloss.training.weights import sha256

        return cls(path.name, sha256(path), path.stat().st_size)

    def to_dict(self) -> dict:
        return {"file": self.file, "sha256": self.sha256, "bytes": self.bytes}

    @classmethod
    def from_dict(cls, d: dict) -> WeightsEntry:
        return cls(str(d["file"]), str(d["sha256"]), int(d["bytes"]))


@dataclass
class RunRecord:
    """A finished run (``metrics.json``): its test measures, training record and provenance.

    ``test[dataset]`` holds the nine measures (and the colour bias) per image; ``data`` names
    the datasets by checksum; ``provenance`` has the commit, versions, device, date, profile
    settings, training configuration and wall time.
    """

    task: str
    schedule: str
    seed: int
    profile: str
    data: RunData
    test: dict[str, MetricTable]
    training: dict
    provenance: dict
    output_clipped_to_unit_range: bool = True
    weights: WeightsEntry | None = None  # runs made before weights were kept have none

    def to_dict(self) -> dict:
        weights = {} if self.weights is None else {"weights": self.weights.to_dict()}
        return (
            record_header("run")
            | weights
            | {
                "run": {"task": self.task, "schedule": self.schedule, "seed": self.seed},
                "profile": self.profile,
                "data": self.data.to_dict(),
                "test": {name: table.to_dict() for name, table in self.test.items()},
                "output_clipped_to_unit_range": self.output_clipped_to_unit_range,
                "training": self.training,
                "provenance": self.provenance,
            }
        )

    @classmethod
    def from_dict(cls, d: dict) -> RunRecord:
        return cls(
            task=d["run"]["task"],
            schedule=d["run"]["schedule"],
            seed=int(d["run"]["seed"]),
            profile=d["profile"],
            data=RunData.from_dict(d["data"]),
            test={name: MetricTable.from_dict(t) for name, t in d["test"].items()},
            training=d["training"],
            provenance=d["provenance"],
            output_clipped_to_unit_range=bool(d["output_clipped_to_unit_range"]),
            weights=WeightsEntry.from_dict(d["weights"]) if "weights" in d else None,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> RunRecord:
        return parse_record(Path(path), "run", cls.from_dict)

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict())


# ------------------------------------------------------------------------------- summaries
@dataclass(frozen=True)
class Cell:
    """One measure of one schedule on one test set: the mean over seeds, the half-width of its
    95% confidence interval (``None`` for one seed), and the per-seed values."""

    mean: float
    ci95: float | None
    seeds: int
    values: tuple[float, ...] = ()

    def to_dict(self) -> dict:
        return {
            "mean": self.mean,
            "ci95": self.ci95,
            "seeds": self.seeds,
            "values": list(self.values),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Cell:
        ci = d["ci95"]
        return cls(
            float(d["mean"]),
            None if ci is None else float(ci),
            int(d["seeds"]),
            tuple(float(v) for v in d.get("values", ())),
        )


@dataclass(frozen=True)
class RunEntry:
    """A finished run counted in a summary; ``folder`` is relative to the source's folder."""

    task: str
    schedule: str
    seed: int
    folder: str
    wall_s: float

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "schedule": self.schedule,
            "seed": self.seed,
            "folder": self.folder,
            "wall_s": self.wall_s,
        }

    @classmethod
    def from_dict(cls, d: dict) -> RunEntry:
        return cls(d["task"], d["schedule"], int(d["seed"]), d["folder"], float(d["wall_s"]))


#: ``cells[task][schedule][dataset][metric]``
Cells = dict[str, dict[str, dict[str, dict[str, Cell]]]]


@dataclass
class ExperimentSummary:
    """An experiment's runs on one data source at one profile, summarised over seeds."""

    experiment: str
    profile: str
    source: str  # the data source's tag
    evaluation: dict
    cells: Cells
    images: dict[str, dict[str, list[str]]]  # task -> test set -> the images scored
    data: dict[str, RunData]  # task -> the datasets its runs used
    runs: tuple[RunEntry, ...]
    commits: tuple[str, ...]
    devices: tuple[str, ...]
    metrics: tuple[str, ...]

    def cell(self, task: str, schedule: str, dataset: str, metric: str) -> Cell | None:
        return self.cells.get(task, {}).get(schedule, {}).get(dataset, {}).get(metric)

    def measures(self, task: str, schedule: str, dataset: str) -> dict[str, Cell]:
        """``{metric: Cell}`` of one schedule on one test set (empty if not run)."""
        return self.cells.get(task, {}).get(schedule, {}).get(dataset, {})

    def schedules(self, task: str) -> list[str]:
        return list(self.cells.get(task, {}))

    def datasets(self, task: str) -> list[str]:
        return sorted({d for cells in self.cells.get(task, {}).values() for d in cells})

    def to_dict(self) -> dict:
        return record_header("summary") | {
            "experiment": self.experiment,
            "profile": self.profile,
            "source": self.source,
            "evaluation": self.evaluation,
            "tasks": {
                task: {
                    label: {
                        ds: {m: c.to_dict() for m, c in per_metric.items()}
                        for ds, per_metric in datasets.items()
                    }
                    for label, datasets in schedules.items()
                }
                for task, schedules in self.cells.items()
            },
            "images": self.images,
            "data": {task: d.to_dict() for task, d in self.data.items()},
            "runs": [r.to_dict() for r in self.runs],
            "provenance": {
                "git_commits": list(self.commits),
                "devices": list(self.devices),
                "metrics": list(self.metrics),
            },
        }

    @classmethod
    def from_dict(cls, d: dict) -> ExperimentSummary:
        cells = {
            task: {
                label: {
                    ds: {m: Cell.from_dict(c) for m, c in per_metric.items()}
                    for ds, per_metric in datasets.items()
                }
                for label, datasets in schedules.items()
            }
            for task, schedules in d["tasks"].items()
        }
        return cls(
            experiment=d["experiment"],
            profile=d["profile"],
            source=d["source"],
            evaluation=d["evaluation"],
            cells=cells,
            images=d["images"],
            data={task: RunData.from_dict(x) for task, x in d["data"].items()},
            runs=tuple(RunEntry.from_dict(r) for r in d["runs"]),
            commits=tuple(d["provenance"]["git_commits"]),
            devices=tuple(d["provenance"]["devices"]),
            metrics=tuple(d["provenance"]["metrics"]),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> ExperimentSummary:
        return parse_record(Path(path), "summary", cls.from_dict)

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict())


def ci95(values: list[float]) -> float | None:
    """Half-width of the 95% Student-t confidence interval of the mean (``None`` for one
    value)."""
    n = len(values)
    if n < 2:
        return None
    from statistics import stdev

    from scipy.stats import t

    return float(t.ppf(0.975, n - 1)) * stdev(values) / math.sqrt(n)


def summarize_runs(
    experiment: str,
    profile: str,
    source: str,
    evaluation: dict,
    records: list[tuple[str, RunRecord]],
) -> ExperimentSummary:
    """Means and 95% intervals over seeds of ``records`` (``(folder relative to the source's
    folder, record)`` pairs, all of one source and profile)."""
    values: dict = {}
    images: dict = {}
    data: dict[str, RunData] = {}
    runs: list[RunEntry] = []
    commits: set[str] = set()
    devices: set[str] = set()
    metrics: tuple[str, ...] = ()
    for folder, r in records:
        if r.profile != profile:
            raise InputError(f"{folder}: a run of profile {r.profile}, not {profile}")
        if data.setdefault(r.task, r.data).train != r.data.train:
            raise InputError(f"{folder}: trained on other data than the other {r.task} runs")
        commits.add(r.provenance["git_commit"])
        devices.add(r.provenance["device"])
        runs.append(RunEntry(r.task, r.schedule, r.seed, folder, float(r.provenance["wall_s"])))
        for dataset, table in r.test.items():
            metrics = metrics or table.metrics
            cell = values.setdefault(r.task, {}).setdefault(r.schedule, {}).setdefault(dataset, {})
            for metric, value in table.mean().items():
                cell.setdefault(metric, []).append(value)
            images.setdefault(r.task, {}).setdefault(dataset, sorted(table.rows))
    cells = {
        task: {
            label: {
                ds: {
                    m: Cell(math.fsum(v) / len(v), ci95(v), len(v), tuple(v)) for m, v in pm.items()
                }
                for ds, pm in datasets.items()
            }
            for label, datasets in schedules.items()
        }
        for task, schedules in values.items()
    }
    return ExperimentSummary(
        experiment=experiment,
        profile=profile,
        source=source,
        evaluation=evaluation,
        cells=cells,
        images=images,
        data=data,
        runs=tuple(runs),
        commits=tuple(sorted(commits)),
        devices=tuple(sorted(devices)),
        metrics=tuple(m for m in metrics),
    )


# ------------------------------------------------------------------------------- baselines
@dataclass
class BaselineRecord:
    """Table 1's non-network column of one task (Noisy, Bilinear or Original JPEG) on every test
    set of a source; ``extras[dataset]`` holds the noise analysis (demosaicking)."""

    task: str
    column: str
    seed: int
    source: str
    tables: dict[str, MetricTable]
    extras: dict[str, dict]
    paper: dict
    provenance: dict

    def to_dict(self) -> dict:
        return record_header("baseline") | {
            "task": self.task,
            "column": self.column,
            "seed": self.seed,
            "source": self.source,
            "datasets": {
                ds: table.to_dict() | self.extras.get(ds, {}) for ds, table in self.tables.items()
            },
            "paper": self.paper,
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, d: dict) -> BaselineRecord:
        table_keys = {"metrics", "mean", "per_image"}
        return cls(
            task=d["task"],
            column=d["column"],
            seed=int(d["seed"]),
            source=d["source"],
            tables={ds: MetricTable.from_dict(t) for ds, t in d["datasets"].items()},
            extras={
                ds: {k: v for k, v in t.items() if k not in table_keys}
                for ds, t in d["datasets"].items()
            },
            paper=d["paper"],
            provenance=d["provenance"],
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> BaselineRecord:
        return parse_record(Path(path), "baseline", cls.from_dict)

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict())


@dataclass
class BM3DRecord:
    """Table 1's BM3D column (demosaicking): per-image measures per test set, and its settings
    (mosaic layout, seed, centre crop, number of images)."""

    settings: dict
    source: str
    tables: dict[str, MetricTable]
    provenance: dict
    task: str = "demosaic"
    column: str = "BM3D"

    def to_dict(self) -> dict:
        return record_header("bm3d") | {
            "task": self.task,
            "column": self.column,
            "settings": self.settings,
            "source": self.source,
            "datasets": {ds: t.to_dict() for ds, t in self.tables.items()},
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, d: dict) -> BM3DRecord:
        return cls(
            settings=d["settings"],
            source=d["source"],
            tables={ds: MetricTable.from_dict(t) for ds, t in d["datasets"].items()},
            provenance=d["provenance"],
            task=d["task"],
            column=d["column"],
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> BM3DRecord:
        return parse_record(Path(path), "bm3d", cls.from_dict)

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict())


# -------------------------------------------------------------------------- the folders
@dataclass(frozen=True)
class SourceFolder:
    """The results of one data source: ``<results>/<tag>/``."""

    results: Path
    tag: str

    @property
    def path(self) -> Path:
        return Path(self.results) / self.tag

    def runs(self, profile: str) -> Path:
        return self.path / "runs" / profile

    def summary(self, profile: str, experiment: str) -> Path:
        return self.path / profile / f"{experiment}.json"

    def baseline(self, task: str) -> Path:
        return self.path / "baselines" / f"{task}.json"

    def bm3d(self) -> Path:
        return self.path / "bm3d" / "demosaic.json"

    def source_file(self) -> Path:
        return self.path / "source.json"

    def load_source(self) -> DataSource:
        def build(d):
            source = DataSource.from_dict(d["source"])
            if source.tag != self.tag:
                raise ValueError(f"it describes source {source.tag}, not {self.tag}")
            return source

        return parse_record(self.source_file(), "source", build)

    def register(self, source: DataSource) -> None:
        """Write ``source.json`` (once): which datasets, by checksum, these results were made on."""
        if source.tag != self.tag:
            raise ValueError(f"source {source.tag} does not belong in {self.path}")
        if not self.source_file().is_file():
            write_json(self.source_file(), record_header("source") | {"source": source.to_dict()})
        else:
            self.load_source()  # validate what is there


def folder_for(results: str | os.PathLike, source: DataSource) -> SourceFolder:
    """The results folder of ``source`` (registering the source there)."""
    folder = SourceFolder(Path(results), source.tag)
    folder.register(source)
    return folder


def source_tags(results: str | os.PathLike) -> list[str]:
    """The data sources with results under ``results`` (folders holding a ``source.json``)."""
    root = Path(results)
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob("*/source.json"))


@dataclass
class View:
    """One profile's results on one data source, as the report, figures and notebooks read them.

    Every reader takes a View, so a page never mixes results made on different data. ``tag`` is
    ``None`` when there are no results at all.
    """

    results: Path
    profile: str
    tag: str | None
    _summaries: dict = field(default_factory=dict, repr=False)

    @property
    def folder(self) -> SourceFolder | None:
        return None if self.tag is None else SourceFolder(self.results, self.tag)

    @cached_property
    def source(self) -> DataSource | None:
        return None if self.folder is None else self.folder.load_source()

    def summary(self, experiment: str) -> ExperimentSummary | None:
        """The experiment's summary, or ``None`` if it has none (a damaged file raises)."""
        if experiment not in self._summaries:
            path = None if self.folder is None else self.folder.summary(self.profile, experiment)
            self._summaries[experiment] = (
                ExperimentSummary.load(path) if path is not None and path.is_file() else None
            )
        return self._summaries[experiment]

    def summaries(self) -> dict[str, ExperimentSummary]:
        from imgloss.design.experiments import EXPERIMENTS

        return {e: s for e in EXPERIMENTS if (s := self.summary(e)) is not None}

    def baseline(self, task: str) -> BaselineRecord | None:
        path = None if self.folder is None else self.folder.baseline(task)
        return BaselineRecord.load(path) if path is not None and path.is_file() else None

    def bm3d(self) -> BM3DRecord | None:
        path = None if self.folder is None else self.folder.bm3d()
        return BM3DRecord.load(path) if path is not None and path.is_file() else None

    def run_folder(self, task: str, schedule: str, seed: int = 0) -> Path | None:
        """The folder of a finished run counted in one of the summaries (``None`` if none)."""
        for summary in self.summaries().values():
            for r in summary.runs:
                if (r.task, r.schedule, r.seed) == (task, schedule, seed):
                    assert self.folder is not None  # a view with summaries has a folder
                    return self.folder.path / r.folder
        return None

    def runs(self) -> list[RunEntry]:
        """Every run counted in the summaries, once."""
        seen: dict[str, RunEntry] = {}
        for summary in self.summaries().values():
            for r in summary.runs:
                seen.setdefault(r.folder, r)
        return list(seen.values())


def _run_count(results: Path, tag: str, profile: str) -> int:
    view = View(results, profile, tag)
    return len(view.runs())


def open_view(
    results: str | os.PathLike = "results",
    profile: str = "quick",
    *,
    source: str = "auto",
    root: str | os.PathLike | None = None,
) -> View:
    """The results of ``profile`` on one data source.

    ``source`` is a tag (``embedded``, ``registered-...``) or ``"auto"``: the current data root's
    source (``root``, else ``$IMGLOSS_DATA_ROOT``) if it is real data with results at this
    profile; else the registered source with the most runs at this profile; else the embedded
    photographs' results. Results on real data are thus never replaced by results on the
    embedded photographs (ask for those by name: ``source="embedded"``).
    """
    results = Path(results)
    tags = source_tags(results)
    if source != "auto":
        if source not in tags:
            known = ", ".join(tags) or "none"
            raise ResultsFileError(
                results / source,
                "no results of this data source",
                f"choose one of the sources with results ({known}) or 'auto'",
            )
        return View(results, profile, source)
    from imgloss.data.source import resolve

    counts = {tag: _run_count(results, tag, profile) for tag in tags}
    current = resolve(root).tag
    if current != EMBEDDED_TAG and counts.get(current):
        return View(results, profile, current)
    registered = [t for t in tags if t != EMBEDDED_TAG and counts[t]]
    if registered:
        return View(results, profile, max(registered, key=lambda t: (counts[t], t)))
    if counts.get(EMBEDDED_TAG):
        return View(results, profile, EMBEDDED_TAG)
    # no runs anywhere: the current source if it has other results (baselines), else nothing
    return View(results, profile, current if current in tags else None)
