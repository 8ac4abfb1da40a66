"""The typed results layer: every committed results file loads, damaged or foreign files are
named with the fix, and the schema 1 migration re-creates the committed layout exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from imgloss.data import DatasetRef, embedded_source
from imgloss.experiments import runner
from imgloss.results import records
from imgloss.results.records import (
    BaselineRecord,
    BM3DRecord,
    ExperimentSummary,
    ResultsFileError,
    RunRecord,
    SourceFolder,
)

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "results"


def _committed(pattern: str) -> list[Path]:
    found = sorted(RESULTS.glob(pattern))
    assert found, f"no committed {pattern}"  # part of the repository: never skipped
    return found


def test_every_committed_results_file_loads_as_its_record():
    tags = records.source_tags(RESULTS)
    assert tags and all(t.startswith("registered-") for t in tags)  # embedded results: never
    for tag in tags:
        source = SourceFolder(RESULTS, tag).load_source()
        assert source.tag == tag and "BSDS_train" in source.names
    for path in _committed("*/runs/*/*/*/seed*/metrics.json"):
        r = RunRecord.load(path)
        assert r.provenance["source"] == path.relative_to(RESULTS).parts[0]
        assert r.data.train.name == "BSDS_train" and r.test
    for path in _committed("*/*/table1.json") + _committed("*/*/switching.json"):
        s = ExperimentSummary.load(path)
        assert s.source == path.parts[-3] and s.runs
        for entry in s.runs:  # the summary's index points at finished runs of the same source
            assert (path.parents[1] / entry.folder / "metrics.json").is_file()
    for path in _committed("*/baselines/*.json"):
        assert BaselineRecord.load(path).source == path.parts[-3]
    for path in _committed("*/bm3d/demosaic.json"):
        assert BM3DRecord.load(path).tables


def test_committed_results_name_data_by_checksum_never_by_a_local_path():
    for path in RESULTS.rglob("*.json"):
        text = path.read_text()
        assert "/work/" not in text and "/home/" not in text and "/tmp/" not in text, path


def test_the_committed_summaries_are_what_the_runs_give_today():
    """Re-summarising the committed runs rewrites the committed summaries byte for byte, so the
    main command with the data root leaves them untouched."""
    view = records.open_view(RESULTS, "quick", root=None)
    source = view.source
    for experiment, summary in view.summaries().items():
        again = runner.summarize(experiment, "quick", results=RESULTS, source=source)
        assert again.to_dict() == summary.to_dict(), experiment


@pytest.fixture
def run_file(tmp_path):
    path = _committed("*/runs/quick/demosaic/l1/seed0-*/metrics.json")[0]
    copy = tmp_path / "metrics.json"
    shutil.copy(path, copy)
    return copy


def test_a_truncated_file_is_named_with_the_fix(run_file):
    run_file.write_text(run_file.read_text()[:500])
    with pytest.raises(ResultsFileError) as err:
        RunRecord.load(run_file)
    message = str(err.value)
    assert str(run_file) in message and "not valid JSON" in message
    assert "run it again" in message


@pytest.mark.parametrize(
    "content, problem",
    [
        ("[1, 2]", "not an imgloss run record (a JSON list)"),
        ('{"hello": 1}', "no schema_version"),
        ('{"kind": "summary", "schema_version": 2}', "an imgloss 'summary' record where a 'run'"),
        ('{"kind": "run", "schema_version": 99}', "schema version 99"),
        ('{"kind": "run", "schema_version": 2, "run": {}}', "malformed run record (field 'task')"),
        ('{"run": {}, "provenance": {}}', "before schema 2"),
        ("", "not valid JSON"),
    ],
)
def test_foreign_outdated_and_malformed_files_are_refused(run_file, content, problem):
    run_file.write_text(content)
    with pytest.raises(ResultsFileError, match="metrics.json: ") as err:
        RunRecord.load(run_file)
    assert problem in str(err.value)
    if "99" in content:
        assert err.value.fix == "upgrade imgloss"
    if "before schema 2" in problem:
        assert "imgloss migrate" in err.value.fix


def test_a_damaged_finished_run_is_never_retrained_silently(tmp_path, monkeypatch):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    run = runner.spec("sr", "l1")
    folder = runner.run_one(run, "smoke", results=tmp_path, device="cpu", progress=False)
    (folder / "metrics.json").write_text('{"kind": "run", "schema_ver')
    with pytest.raises(ResultsFileError, match="metrics.json"):
        runner.run_one(run, "smoke", results=tmp_path, device="cpu", progress=False)
    with pytest.raises(ResultsFileError):
        runner.summarize("table1", "smoke", results=tmp_path, tasks=["sr"])


def test_summaries_refuse_to_pool_runs_trained_on_other_data():
    committed = RunRecord.load(_committed("*/runs/quick/sr/l1/seed0-*/metrics.json")[0])
    other = RunRecord.load(_committed("*/runs/quick/sr/l2/seed0-*/metrics.json")[0])
    other.data = type(other.data)(
        DatasetRef("BSDS_train", 399, "0" * 64), other.data.val, other.data.test
    )
    with pytest.raises(ValueError, match="trained on other data"):
        records.summarize_runs("table1", "quick", "x", {}, [("a", committed), ("b", other)])


def test_open_view_prefers_real_data_and_never_mixes(tmp_path, monkeypatch):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    shutil.copytree(RESULTS, tmp_path / "results")
    results = tmp_path / "results"
    committed = records.open_view(results, "quick").tag
    # Results on the embedded photographs at the same profile do not replace them...
    embedded = records.folder_for(results, embedded_source())
    summary = records.ExperimentSummary.load(
        SourceFolder(results, committed).summary("quick", "table1")
    )
    summary.source = "embedded"
    summary.save(embedded.summary("quick", "table1"))
    assert records.open_view(results, "quick").tag == committed
    # ...unless asked for by name; an unknown source is an error naming the known ones.
    assert records.open_view(results, "quick", source="embedded").tag == "embedded"
    with pytest.raises(ResultsFileError, match="registered-"):
        records.open_view(results, "quick", source="registered-00000000")
    assert not records.open_view(results, "smoke").summaries()  # no results at that profile
    assert records.open_view(tmp_path / "nothing", "quick").tag is None


def _as_schema_1(record: RunRecord, root: str) -> dict:
    """The schema 1 file imgloss wrote for this run (local paths, no data identity, no key)."""
    prov = json.loads(json.dumps(record.provenance))
    training = json.loads(json.dumps(record.training))

    def path_record(d):
        out = {k: v for k, v in d.items() if k != "checksum"}
        return out | {"source": f"{root}/{d['name']} (registered; pixel checksums verified)"}

    for key in ("train_data", "val_data"):
        training[key] = path_record(training[key])
    prov["train_data"] = training["train_data"]
    prov["test_data"] = [path_record(d) for d in prov["test_data"]]
    prov["config"] = prov["config"] | {"train_set": None, "val_set": None}
    for key in ("source", "migrated"):
        prov.pop(key, None)
    return {
        "run": {"task": record.task, "schedule": record.schedule, "seed": record.seed},
        "test": {n: t.to_dict() for n, t in record.test.items()},
        "output_clipped_to_unit_range": True,
        "training": training,
        "provenance": prov,
    }


def test_migration_of_schema_1_results_recreates_the_committed_layout(tmp_path):
    """Schema 1 files, made from the committed runs, migrate into the very folders (keys) the
    committed runs have, with the same measures; summaries are rewritten; nothing is lost."""
    from imgloss.experiments.migrate import migrate

    data_root = tmp_path / "data"  # the registered datasets present, as folders of files
    source = records.open_view(RESULTS, "quick", root=None).source
    for name in source.names:
        _fake_dataset(data_root, name)
    old = tmp_path / "old"
    expected = {}
    for path in _committed("*/runs/quick/demosaic/*/seed0-*/metrics.json"):
        if path.parts[-3] not in ("l1", "l2", "l2-l1", "mix_alpha0.5"):
            continue
        record = RunRecord.load(path)
        folder = old / "runs" / "quick" / "demosaic" / record.schedule / "seed0-0123456789"
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps(_as_schema_1(record, "/somewhere")))
        (folder / "curves.json").write_text(json.dumps({"config": {}, "curves": []}))
        expected[path.relative_to(RESULTS)] = record
    (old / "quick").mkdir()
    (old / "quick" / "table1.json").write_text("{}")
    log = migrate(old, data_root)
    assert len([line for line in log if line.startswith("run ")]) == len(expected)
    for relative, record in expected.items():
        migrated = RunRecord.load(old / relative)  # the committed key: same folder name
        assert migrated.test["Kodak24"].rows == record.test["Kodak24"].rows
        assert migrated.data == record.data and migrated.provenance["migrated"]["from_schema"] == 1
        assert "/somewhere" not in (old / relative).read_text()
    assert not (old / "runs").exists() and not (old / "quick").exists()
    tag = source.tag
    summary = ExperimentSummary.load(old / tag / "quick" / "table1.json")
    assert {r.schedule for r in summary.runs} == {"l1", "l2"}


def _fake_dataset(root: Path, name: str) -> None:
    """Empty files standing in for a dataset that is not on this machine (the migration only
    looks at which files are present)."""
    from imgloss.data import get

    (root / name).mkdir(parents=True)
    for file in get(name).files:
        (root / name / file).touch()


def test_a_failing_migration_changes_nothing(tmp_path):
    """All or nothing: one unmappable run among good ones, and the folder is as it was."""
    from imgloss.experiments.migrate import MigrationError, migrate

    data_root = tmp_path / "data"
    source = records.open_view(RESULTS, "quick", root=None).source
    for name in source.names:
        _fake_dataset(data_root, name)
    old = tmp_path / "old"
    paths = [
        p
        for p in _committed("*/runs/quick/demosaic/*/seed0-*/metrics.json")
        if p.parts[-3] in ("l1", "l2")
    ]
    for i, path in enumerate(paths):
        record = RunRecord.load(path)
        data = _as_schema_1(record, "/somewhere")
        if i == len(paths) - 1:
            data["provenance"]["profile_settings"]["steps"] += 1  # made with other settings
        folder = old / "runs" / "quick" / "demosaic" / record.schedule / "seed0-0123456789"
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps(data))
    before = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    with pytest.raises(MigrationError, match="other settings"):
        migrate(old, data_root)
    after = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "old"]  # no staging left
