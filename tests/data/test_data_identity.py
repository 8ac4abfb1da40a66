"""A run's identity includes its data: the embedded photographs, a data root, and another data
root give three runs in three places, none reused for another, and summaries that never pool
them. A data root that is set is used or refused, never silently replaced."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from imgloss.cli.commands import main
from imgloss.data import DataRootError, dataset_ref, resolve_source
from imgloss.experiments import runner
from imgloss.results.records import RunRecord, SourceFolder

REPO = Path(__file__).resolve().parents[2]
ENV = "IMGLOSS_DATA_ROOT"


def _real_root() -> Path:
    for candidate in (os.environ.get(ENV), REPO.parent / "shared" / "data"):
        if candidate and all((Path(candidate) / d).is_dir() for d in ("BSDS_train", "Set5")):
            return Path(candidate)
    pytest.skip("needs a data root with BSDS_train and Set5 (CI: ../shared/data)")


def _stamp(folder: Path) -> int:
    return (folder / "metrics.json").stat().st_mtime_ns


def test_the_embedded_photographs_a_data_root_and_another_root_never_share_a_run(
    tmp_path, monkeypatch
):
    real = _real_root()
    other = tmp_path / "other-root"  # the same registered datasets, but only two of them
    other.mkdir()
    for name in ("BSDS_train", "Set5"):
        (other / name).symlink_to(real / name)
    results, run = tmp_path / "results", runner.spec("sr", "l1")

    def train():
        return runner.run_one(run, "smoke", results=results, device="cpu", progress=False)

    monkeypatch.delenv(ENV, raising=False)
    embedded = train()
    assert embedded.relative_to(results).parts[0] == "embedded"
    assert RunRecord.load(embedded / "metrics.json").data.train.name == "embedded_train"

    monkeypatch.setenv(ENV, str(real))
    first = train()  # the finished embedded run is not reused for real data
    tag = resolve_source(real).tag
    assert first != embedded and first.relative_to(results).parts[0] == tag
    record = RunRecord.load(first / "metrics.json")
    assert record.data.train == dataset_ref("BSDS_train")
    assert [d.name for d in record.data.test] == ["Set5"]
    assert record.data.test[0].checksum == dataset_ref("Set5").checksum
    stamp = _stamp(first)
    assert train() == first and _stamp(first) == stamp  # same data: reused

    monkeypatch.setenv(ENV, str(other))
    second = train()
    other_tag = resolve_source(other).tag
    assert other_tag != tag and second.relative_to(results).parts[0] == other_tag
    assert _stamp(first) == stamp and (embedded / "metrics.json").is_file()  # nothing replaced

    # One summary per source, each counting only its own run.
    for source_root, folder in ((None, embedded), (real, first), (other, second)):
        if source_root is None:
            monkeypatch.delenv(ENV)
        else:
            monkeypatch.setenv(ENV, str(source_root))
        source = resolve_source()
        summary = runner.summarize("table1", "smoke", results=results, source=source, tasks=["sr"])
        assert [results / source.tag / r.folder for r in summary.runs] == [folder]
        assert summary.source == source.tag
        summary.save(SourceFolder(results, source.tag).summary("smoke", "table1"))
    sources = sorted(p.parent.name for p in results.glob("*/source.json"))
    assert sources == sorted(["embedded", tag, other_tag])
    described = json.loads((results / tag / "source.json").read_text())["source"]
    assert {d["name"] for d in described["datasets"]} >= {"BSDS_train", "Set5"}
    assert all(len(d["checksum"]) == 64 for d in described["datasets"])


@pytest.mark.parametrize("setup", ["typo", "empty", "incomplete"])
def test_a_data_root_that_is_set_is_used_or_refused_loudly(tmp_path, monkeypatch, capsys, setup):
    root = tmp_path / "root"
    if setup != "typo":
        root.mkdir()
    if setup == "incomplete":
        (root / "Set5").mkdir()
        (root / "Set5" / "baby.png").write_bytes(b"")
    monkeypatch.setenv(ENV, str(root))
    with pytest.raises(DataRootError) as err:
        resolve_source()
    expected = {"typo": "is not a folder", "empty": "none of the registered", "incomplete": "Set5"}
    assert expected[setup] in str(err.value) and str(root) in str(err.value)
    results = tmp_path / "results"
    status = main(
        [
            "train",
            "--task",
            "sr",
            "--loss",
            "l1",
            "--profile",
            "smoke",
            "--results",
            str(results),
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    assert status == 1 and len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("error: ") and "Traceback" not in captured.err
    assert not results.exists()  # nothing trained on other data, no empty run folder
