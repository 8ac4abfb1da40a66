"""Hardening, third round (issue 31): options checked where they are parsed, executors that
check their ground before anything starts, strict JSON, and a quiet exit into a closed pipe."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from imgloss.cli.commands import main
from imgloss.experiments import executors
from imgloss.report import claims

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_worker_counts_below_one_are_refused_at_parse_time(value, capsys):
    with pytest.raises(SystemExit) as err:
        main(["run", "table1", "--profile", "smoke", "--workers", value])
    assert err.value.code == 2
    line = capsys.readouterr().err.strip()
    assert "--workers" in line and "at least 1" in line and "Traceback" not in line


def test_a_results_file_is_not_a_results_folder(tmp_path, capsys):
    file = tmp_path / "results.json"
    file.write_text("{}")
    for argv in (["status", "table1"], ["report"], ["run", "table1", "--list"]):
        with pytest.raises(SystemExit) as err:
            main([*argv, "--results", str(file)])
        assert err.value.code == 2
        assert "is a file; pass the results folder" in capsys.readouterr().err


def test_slurm_without_sbatch_starts_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    monkeypatch.setattr(executors.shutil, "which", lambda name: None)
    rc = main(
        [
            "run",
            "table1",
            "--profile",
            "smoke",
            "--tasks",
            "sr",
            "--executor",
            "slurm",
            "--results",
            str(tmp_path),
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: --executor slurm: Slurm's sbatch is not on")
    assert not list(tmp_path.rglob("%j")) and not list(tmp_path.rglob("metrics.json"))


def test_findings_json_is_strict(tmp_path):
    claim = claims.CLAIMS[0]
    v = claims.Verdict(
        claim,
        "demosaic",
        "Kodak24",
        "undecided",
        0.1,
        (math.nan, math.inf),
        1,
        1,
        "psnr",
        df=math.nan,
        mde=None,
    )
    d = v.to_dict()
    json.dumps(d, allow_nan=False)  # no NaN token
    assert d["df"] is None and d["ci"] == [None, None]
    assert set(d["non_finite"]) == {"df", "ci"}


def test_a_closed_pipe_ends_the_command_quietly():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imgloss.cli",
            "report",
            "--profile",
            "quick",
            "--findings",
            "--json",
            "--results",
            str(REPO / "results"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_a_run_record_copied_into_another_runs_folder_is_refused(tmp_path, monkeypatch):
    from imgloss.experiments import runner
    from imgloss.results import records

    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    l1, l2 = runner.spec("sr", "l1"), runner.spec("sr", "l2")
    a = runner.run_one(l1, "smoke", results=tmp_path, progress=False)
    b = runner.run_one(l2, "smoke", results=tmp_path, progress=False)
    (b / "metrics.json").write_bytes((a / "metrics.json").read_bytes())  # l1's record in l2's
    with pytest.raises(records.ResultsFileError, match="record of sr l1 seed 0.*that of sr l2"):
        runner.summarize("table1", "smoke", results=tmp_path, tasks=["sr"])
    with pytest.raises(records.ResultsFileError, match=str(b / "metrics.json")):
        runner.run_one(l2, "smoke", results=tmp_path, progress=False)


def test_migrate_leaves_todays_layout_alone(tmp_path, capsys):
    """``imgloss migrate`` pointed at a data source's folder (today's layout) changes nothing."""
    import shutil

    source = next((REPO / "results").glob("registered-*"))
    copy = tmp_path / source.name
    shutil.copytree(source / "quick", copy / "quick")
    shutil.copy(source / "source.json", copy / "source.json")
    run = next((source / "runs" / "quick" / "demosaic" / "l1").glob("seed0-*"))
    target = copy / "runs" / "quick" / "demosaic" / "l1" / run.name
    target.mkdir(parents=True)
    shutil.copy(run / "metrics.json", target / "metrics.json")
    before = sorted(p.relative_to(copy) for p in copy.rglob("*"))
    assert main(["migrate", "--results", str(copy)]) == 1
    assert "already in today's layout" in capsys.readouterr().err
    (copy / "source.json").unlink()
    assert main(["migrate", "--results", str(copy)]) == 1
    assert "already schema" in capsys.readouterr().err
    assert sorted(p.relative_to(copy) for p in copy.rglob("*")) == [
        p for p in before if p != Path("source.json")
    ]


def test_results_from_uncommitted_changes_carry_a_diff_hash_and_are_flagged(monkeypatch):
    import re

    from imgloss.core import provenance
    from imgloss.report import tables as report
    from imgloss.results import records

    monkeypatch.delenv("IMGLOSS_COMMIT", raising=False)
    commit = provenance.git_commit()
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty\.[0-9a-f]{12})?", commit), commit
    assert provenance.is_dirty("abc+dirty.0123456789ab") and not provenance.is_dirty("abc")
    view = records.open_view(REPO / "results", "quick", root=None)
    line = report.provenance_markdown(view)
    dirty = any(provenance.is_dirty(c) for s in view.summaries().values() for c in s.commits)
    assert ("made from uncommitted changes" in line) == dirty
