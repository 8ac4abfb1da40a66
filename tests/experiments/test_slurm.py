"""The executors against a real Slurm: a single-node cluster on this machine (Debian's slurm-wlm
and munge, started by ``scripts/slurm_localhost.sh``), and the local pool.

Outside CI these tests skip, saying so, when Slurm is not installed; in CI
(``IMGLOSS_REQUIRE_SLURM=1``, set by ``.ci/run``, which installs it) a missing Slurm fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from imgloss.cli import commands as cli
from imgloss.design import experiments as design
from imgloss.experiments import executors, runner
from imgloss.results.records import ExperimentSummary, RunRecord, SourceFolder
from imgloss.results.workspace import Workspace
from imgloss.training import trainer as TR
from imgloss.training.weights import FINAL, load_weights

REPO = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("IMGLOSS_REQUIRE_SLURM") == "1"
SLURM = ["--executor", "slurm", "--cpus-per-run", "1", "--mem-gb", "1", "--time-min", "10"]


def _slurm_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    done = subprocess.run(["sinfo", "-h"], capture_output=True, text=True, check=False)
    return done.returncode == 0 and bool(done.stdout.strip())


@pytest.fixture(scope="module")
def slurm():
    started = False
    if not _slurm_answers():
        if shutil.which("slurmctld") is None or os.geteuid() != 0:
            why = "Slurm is not installed here (apt-get install slurm-wlm munge; CI installs it)"
            if REQUIRED:
                pytest.fail(f"IMGLOSS_REQUIRE_SLURM=1 but {why}")
            pytest.skip(why)
        subprocess.run(["bash", str(REPO / "scripts" / "slurm_localhost.sh"), "start"], check=True)
        started = True
    yield
    if started:
        subprocess.run(["bash", str(REPO / "scripts" / "slurm_localhost.sh"), "stop"], check=False)


@pytest.fixture
def embedded(monkeypatch):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the jobs' torch: bitwise as this process
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _summary(results: Path, experiment: str = "table1") -> dict:
    return ExperimentSummary.load(
        SourceFolder(results, "embedded").summary("smoke", experiment)
    ).to_dict()


def test_a_slurm_experiment_gives_the_summaries_of_a_local_run(slurm, embedded, tmp_path, capsys):
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    argv = ["run", "table1", "--tasks", "sr", "--profile", "smoke", "--no-progress"]
    assert cli.main([*argv, "--results", str(on_slurm), *SLURM]) == 0
    out = capsys.readouterr().out
    assert "submitted 4 runs to Slurm" in out and "imgloss status" in out
    # Submitting again while the array is queued or running submits nothing twice.
    assert cli.main([*argv, "--results", str(on_slurm), *SLURM]) == 0
    assert "submitted 0 runs" in capsys.readouterr().out
    states = executors.wait(
        ("table1",),
        design.PROFILES["smoke"],
        Workspace.resolve(on_slurm),
        ["sr"],
        poll_s=2,
        timeout_s=600,
    )
    assert [s.state for s in states] == ["finished"] * 4, states
    assert all(s.job_id for s in states)
    assert cli.main([*argv, "--results", str(on_slurm), *SLURM, "--wait"]) == 0  # summaries
    assert "submitted 0 runs" in capsys.readouterr().out  # finished runs are never submitted
    assert cli.main([*argv, "--results", str(local)]) == 0  # in this process
    a, b = _summary(on_slurm), _summary(local)
    assert a["tasks"] == b["tasks"] and a["images"] == b["images"] and a["data"] == b["data"]
    assert [r["folder"] for r in a["runs"]] == [r["folder"] for r in b["runs"]]
    assert (
        cli.main(
            ["status", "table1", "--tasks", "sr", "--profile", "smoke", "--results", str(on_slurm)]
        )
        == 0
    )
    assert "4 finished" in capsys.readouterr().out


def _cancel_when_checkpointed(folder: Path, job_id: str, at_step: int) -> int:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ckpt = folder / TR.CHECKPOINT
        if ckpt.is_file():
            try:
                step = TR.load_checkpoint(ckpt, torch.device("cpu"))["step"]
            except TR.CheckpointError:  # being replaced right now
                step = 0
            if step >= at_step:
                subprocess.run(["scancel", job_id], check=True)
                return step
        time.sleep(0.2)
    raise AssertionError("the job never wrote a checkpoint")


def test_a_cancelled_job_is_resubmitted_and_resumes_from_its_checkpoint(slurm, embedded, tmp_path):
    profile = replace(
        design.PROFILES["smoke"], name="slurmtest", steps=1000, eval_every=15, checkpoint_every=5
    )
    run = design.spec("demosaic", "l1")
    ws = Workspace.resolve(tmp_path)
    jobs = executors.pending_jobs(["table1"], profile, ws, ["demosaic"])
    jobs = [j for j in jobs if j.run == run]
    options = executors.SlurmOptions(cpus=1, mem_gb=1, time_min=10)
    (job_id,) = executors.submit_slurm(jobs, options)
    folder = jobs[0].folder()
    cancelled_at = _cancel_when_checkpointed(folder, job_id, at_step=15)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        (state,) = [
            s
            for s in executors.run_states(["table1"], profile, ws, ["demosaic"])
            if s.job.run == run
        ]
        if state.state not in ("queued", "running"):
            break
        time.sleep(1)
    assert state.state == "interrupted", state  # a checkpoint and no job
    (again,) = executors.submit_slurm(jobs, options)
    assert again != job_id
    final = executors.wait(["table1"], profile, ws, ["demosaic"], poll_s=2, timeout_s=600)
    assert [s.state for s in final if s.job.run == run] == ["finished"]
    record = RunRecord.load(folder / "metrics.json")
    assert cancelled_at <= record.training["resumed_from_step"] < profile.steps
    # The resumed run equals an uninterrupted one, curves and weights.
    straight = runner.run_one(run, profile, results=tmp_path / "straight", progress=False)

    def curves(f: Path) -> list[dict]:
        rows = json.loads((f / TR.CURVES).read_text())["curves"]
        return [{k: v for k, v in r.items() if k != "time_s"} for r in rows]

    assert curves(folder) == curves(straight)
    wa = load_weights(folder / FINAL)
    wb = load_weights(straight / FINAL)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_failed_slurm_task_is_reported_with_its_log(slurm, embedded, tmp_path, capsys):
    from imgloss.data import dataset_ref

    profile = design.PROFILES["smoke"]
    ws = Workspace.resolve(tmp_path)
    jobs = executors.pending_jobs(["table1"], profile, ws, ["sr"])
    broken = replace(jobs[0], ws=replace(ws, device="cuda:7"))  # refused inside the job
    options = executors.SlurmOptions(cpus=1, mem_gb=1, time_min=10)
    (job_id,) = executors.submit_slurm([broken], options)
    states = executors.wait(["table1"], profile, ws, ["sr"], poll_s=2, timeout_s=300)
    (failed,) = [s for s in states if s.job_id == job_id]
    assert failed.state == "failed" and failed.log is not None and failed.log.is_file()
    assert "cuda" in failed.log.read_text().lower()
    assert (
        cli.main(
            ["status", "table1", "--tasks", "sr", "--profile", "smoke", "--results", str(tmp_path)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"failed  job {job_id}  log: {failed.log}" in out and dataset_ref("embedded_test")


def test_the_local_pool_trains_every_run_once_and_is_gpu_aware(embedded, tmp_path, capsys):
    assert executors.gpu_slots(4, ["0", "1"]) == ["0", "1", "0", "1"]  # two runs share each GPU
    assert executors.gpu_slots(2, ["0", "1"]) == ["0", "1"]  # one run per GPU
    assert executors.gpu_slots(3, None) == [None, None, None]
    argv = ["run", "switching", "--profile", "smoke", "--results", str(tmp_path), "--no-progress"]
    assert cli.main([*argv, "--workers", "2"]) == 0
    summary = _summary(tmp_path, "switching")
    assert {r["schedule"] for r in summary["runs"]} == {"l1-l2", "l2-l1", "l1-l1", "l2-l2"}
    runs = tmp_path / "embedded" / "runs" / "smoke" / "demosaic"
    assert all(
        len(list((runs / label).glob("seed0-*"))) == 1 for label in ("l1", "l2", "l1-l2", "l2-l1")
    )
    logs = sorted(p.name for p in (tmp_path / "embedded" / "logs" / "smoke").glob("*.log"))
    assert logs == sorted(f"demosaic-{s}-seed0.log" for s in ("l1-l2", "l2-l1", "l1-l1", "l2-l2"))
    capsys.readouterr()
    assert cli.main([*argv, "--workers", "2"]) == 0  # all finished: nothing to train
    assert "0 runs not finished" in capsys.readouterr().err


def test_slurm_options_come_from_a_toml_file_and_flags(tmp_path, capsys):
    config = tmp_path / "cluster.toml"
    config.write_text('[slurm]\npartition = "gpu"\ngpus = 1\ncpus = 8\nmem_gb = 32\n')
    options = executors.SlurmOptions.from_file(config).with_overrides(cpus=4, qos=None)
    assert (options.partition, options.gpus, options.cpus, options.mem_gb) == ("gpu", 1, 4, 32)
    params = options.submitit_parameters()
    assert params["slurm_partition"] == "gpu" and params["gpus_per_node"] == 1
    assert params["cpus_per_task"] == 4 and "slurm_qos" not in params
    config.write_text("[slurm]\ngpu = 1\n")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['gpu'\]"):
        executors.SlurmOptions.from_file(config)
    config.write_text("partition = \n")
    argv = [
        "run",
        "table1",
        "--profile",
        "smoke",
        "--executor",
        "slurm",
        "--results",
        str(tmp_path),
        "--slurm-config",
        str(config),
    ]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --slurm-config") and "TOML" in err[0]
