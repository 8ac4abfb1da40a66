"""Bring a results folder written before schema 2 (:data:`imgloss.results.records.SCHEMA_VERSION`)
up to date, without retraining anything.

Schema 1 kept every data source in one tree (``results/runs/<profile>/...``, ``results/baselines``,
``results/bm3d``, ``results/<profile>/<experiment>.json``), keyed runs by their settings only, and
named the data by the local path it was read from. :func:`migrate` moves each file under the folder
of the data source it was made on (``results/<source>/...``), records the datasets by name and
checksum (read from the registry's manifest, which the data were verified against when the run read
them), gives each run the key it has today (:func:`imgloss.experiments.runner.run_key`), rewrites
the summaries from the migrated runs, and notes the migration in each file's provenance. Measures,
curves and crops are kept as they are.

Command line: ``imgloss migrate --results results --root DATA_ROOT`` (the data root the registered
datasets were read from; it is only scanned for which datasets it holds).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

from imgloss.core.errors import InputError
from imgloss.core.provenance import now_utc, write_json
from imgloss.data.source import DataSource, dataset_ref, embedded_source, resolve
from imgloss.design import tasks as T
from imgloss.design.experiments import PROFILES, RunSpec, experiment_runs, label_phases, run_data
from imgloss.metrics import MetricTable
from imgloss.results.records import BaselineRecord, BM3DRecord, RunRecord, SourceFolder, folder_for


class MigrationError(InputError):
    """A schema 1 file cannot be mapped onto today's layout (the message names it)."""


def _data_record(record: dict) -> dict:
    """A schema 1 data record without its local path, with the dataset's checksum."""
    ref = dataset_ref(record["name"])
    out = {k: v for k, v in record.items() if k != "source"}
    origin = "registered dataset (pixel checksums verified)"
    if record["name"].startswith("embedded_"):
        origin = str(record["source"])
    return out | {"checksum": ref.checksum, "source": origin}


def _source_of(names: list[str], registered: DataSource | None, what: Path) -> DataSource:
    if all(n.startswith("embedded_") for n in names):
        return embedded_source()
    if registered is None or not set(names) <= set(registered.names):
        have = ", ".join(registered.names) if registered else "no data root"
        raise MigrationError(
            f"{what}: made on {', '.join(names)}, which the data root does not hold ({have}); "
            "give the data root it was made with (--root)"
        )
    return registered


def _note(commit: str) -> dict:
    return {"from_schema": 1, "date_utc": now_utc(), "by_commit": commit}


#: Profile fields that say which runs a profile holds, not how a run is made: a run made when
#: they were different is still the same run.
_NOT_RUN_SETTINGS = ("seeds", "all_seeds", "experiments")


def _run_settings(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k not in _NOT_RUN_SETTINGS}


def _migrate_run(path: Path, results: Path, registered, note: dict) -> tuple[str, Path]:
    from imgloss.experiments.runner import run_dir, train_config

    old = json.loads(path.read_text())
    prov, training = old["provenance"], old["training"]
    profile = PROFILES[prov["profile"]]
    settings = _run_settings(json.loads(json.dumps(asdict(profile))))
    if _run_settings(prov["profile_settings"]) != settings:
        raise MigrationError(f"{path}: made with other settings of profile {profile.name}")
    losses = tuple(
        (p["loss"], tuple(sorted((k, float(v)) for k, v in p["options"].items())))
        for p in prov["config"]["phases"]
    )
    run = RunSpec(old["run"]["task"], losses, int(old["run"]["seed"]))
    names = [training["train_data"]["name"], training["val_data"]["name"]]
    names += [d["name"] for d in prov["test_data"]]
    source = _source_of(names, registered, path)
    data = run_data(source, T.get(run.task), profile)
    used = [data.train.name, data.val.name, *(d.name for d in data.test)]
    if used != names:
        raise MigrationError(f"{path}: used {names}, today's run would use {used}")
    cfg = train_config(run, profile, data).to_dict()
    training = training | {
        "train_data": _data_record(training["train_data"]),
        "val_data": _data_record(training["val_data"]),
    }
    provenance = prov | {
        "config": cfg,
        "source": source.tag,
        "train_data": training["train_data"],
        "test_data": [_data_record(d) for d in prov["test_data"]],
        "migrated": note,
    }
    record = RunRecord(
        task=run.task,
        schedule=run.label,
        seed=run.seed,
        profile=profile.name,
        data=data,
        test={n: MetricTable.from_dict(t) for n, t in old["test"].items()},
        training=training,
        provenance=provenance,
        output_clipped_to_unit_range=bool(old["output_clipped_to_unit_range"]),
    )
    folder_for(results, source)
    new = run_dir(results, run, profile, source)
    new.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path.parent, new)
    record.save(new / "metrics.json")
    curves = new / "curves.json"
    if curves.is_file():
        c = json.loads(curves.read_text())
        for row in c["curves"]:
            row["loss"] = label_phases(run.label)[row["phase"]]
        write_json(curves, {"config": cfg, "curves": c["curves"]})
    return source.tag, new


def _migrate_baseline(path: Path, results: Path, registered, note: dict) -> Path:
    old = json.loads(path.read_text())
    source = _source_of(list(old["datasets"]), registered, path)
    keys = {"metrics", "mean", "per_image"}
    record = BaselineRecord(
        task=old["task"],
        column=old["column"],
        seed=int(old["seed"]),
        source=source.tag,
        tables={d: MetricTable.from_dict(t) for d, t in old["datasets"].items()},
        extras={
            d: {k: v for k, v in t.items() if k not in keys} for d, t in old["datasets"].items()
        },
        paper=old["paper"],
        provenance=old["provenance"]
        | {
            "source": source.tag,
            "data": [_data_record(d) for d in old["provenance"]["data"]],
            "migrated": note,
        },
    )
    target = folder_for(results, source).baseline(record.task)
    record.save(target)
    path.unlink()
    return target


def _migrate_bm3d(folder: Path, results: Path, registered, note: dict) -> list[Path]:
    out = []
    old_file = folder / "demosaic.json"
    target_dir = None
    if old_file.is_file():
        old = json.loads(old_file.read_text())
        source = _source_of(list(old["datasets"]), registered, old_file)
        record = BM3DRecord(
            settings=old["settings"],
            source=source.tag,
            tables={d: MetricTable.from_dict(t) for d, t in old["datasets"].items()},
            provenance=old["provenance"]
            | {
                "source": source.tag,
                "data": [_data_record(d) for d in old["provenance"]["data"]],
                "migrated": note,
            },
        )
        target = folder_for(results, source).bm3d()
        record.save(target)
        old_file.unlink()
        target_dir = target.parent
        out.append(target)
    layouts = folder / "layouts.json"
    if layouts.is_file():
        old = json.loads(layouts.read_text())
        source = _source_of([old["dataset"]["name"]], registered, layouts)
        target_dir = folder_for(results, source).bm3d().parent
        old["dataset"] = _data_record(old["dataset"])
        old["provenance"] = old["provenance"] | {"migrated": note}
        write_json(target_dir / "layouts.json", old)
        layouts.unlink()
        out.append(target_dir / "layouts.json")
    if (folder / "cache").is_dir() and target_dir is not None:
        shutil.move(folder / "cache", target_dir / "cache")
    return out


def _prune(folder: Path) -> None:
    """Remove ``folder`` if nothing but empty folders and lock files is left in it."""
    if not folder.is_dir():
        return
    if all(p.is_dir() or p.name == ".lock" for p in folder.rglob("*")):
        shutil.rmtree(folder)


def _refuse_current(results: Path) -> None:
    """Touch nothing when ``results`` holds files of today's schema where schema 1 kept its own
    (``--results`` pointing at a data source's folder, say): checked before anything moves."""
    from imgloss.results.records import SCHEMA_VERSION

    if (results / "source.json").is_file():
        raise MigrationError(
            f"{results} is the folder of one data source (it holds source.json), already in "
            "today's layout; pass the results folder above it (nothing was changed)"
        )
    for path in sorted((results / "runs").glob("*/*/*/seed*/metrics.json")):
        try:
            version = json.loads(path.read_text()).get("schema_version", 1)
        except (OSError, ValueError):
            continue  # a damaged file is reported by the migration itself
        if version >= 2:
            raise MigrationError(
                f"{path}: already schema {version} (today's is {SCHEMA_VERSION}); nothing to "
                "migrate, and nothing was changed"
            )


def migrate(
    results: str | os.PathLike = "results", root: str | os.PathLike | None = None
) -> list[str]:
    """Migrate a schema 1 results folder; return what was done, one line per file.

    All or nothing: the migration runs on a copy beside ``results`` (``<name>.migrating``),
    which replaces ``results`` by renaming only once it has succeeded; on any error (or an
    interrupt) the copy is removed and ``results`` is as it was. Summaries are rewritten from the
    migrated runs (``runner.summarize``); a schema 1 summary and its ``REPORT.md`` are removed
    (``imgloss report`` writes the report again).
    """
    results = Path(results)
    _refuse_current(results)
    staging = results.with_name(results.name + ".migrating")
    if staging.exists():  # left by a killed migration: nothing of it was ever used
        shutil.rmtree(staging)
    shutil.copytree(results, staging, symlinks=True)
    try:
        log = _migrate_in_place(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    before = results.with_name(results.name + ".before-migration")
    os.replace(results, before)
    os.replace(staging, results)
    shutil.rmtree(before)
    return log


def _migrate_in_place(results: Path, root: str | os.PathLike | None) -> list[str]:
    from imgloss.core.provenance import git_commit
    from imgloss.experiments.runner import summarize

    registered = None
    if root is not None or os.environ.get("IMGLOSS_DATA_ROOT"):
        registered = resolve(root)
    note = _note(git_commit())
    log: list[str] = []
    touched: dict[str, set[str]] = {}
    for path in sorted((results / "runs").glob("*/*/*/seed*/metrics.json")):
        tag, new = _migrate_run(path, results, registered, note)
        touched.setdefault(tag, set()).add(new.relative_to(results / tag).parts[1])
        log.append(f"run {path.parent.relative_to(results)} -> {new.relative_to(results)}")
    for path in sorted((results / "baselines").glob("*.json")):
        log.append(
            f"baseline {path.relative_to(results)} -> {_migrate_baseline(path, results, registered, note).relative_to(results)}"
        )
    for target in _migrate_bm3d(results / "bm3d", results, registered, note):
        log.append(f"bm3d -> {target.relative_to(results)}")
    for profile in PROFILES:
        old = results / profile
        for path in sorted(old.glob("*.json")) + sorted(old.glob("REPORT.md")):
            path.unlink()
            log.append(f"removed {path.relative_to(results)} (rewritten from the runs)")
        _prune(old)
    for tag, profiles in touched.items():
        source = SourceFolder(results, tag).load_source()
        for name in sorted(profiles):
            for experiment in PROFILES[name].experiments:
                if not experiment_runs(experiment, PROFILES[name]):
                    continue
                summary = summarize(experiment, name, results=results, source=source)
                if summary.runs:
                    summary.save(SourceFolder(results, tag).summary(name, experiment))
                    log.append(f"summary {tag}/{name}/{experiment}.json ({len(summary.runs)} runs)")
    for folder in ("runs", "baselines", "bm3d"):
        _prune(results / folder)
    return log
