"""An interrupt at any stage of a run leaves a state that the same command finishes (issue 31,
item 1): during training, during evaluation, while the crops or the record are written, and
while the experiment's summary is written; the finished results equal an uninterrupted run's."""

from __future__ import annotations

import json

import pytest

from imgloss.experiments import runner
from imgloss.results import records
from imgloss.training import trainer as TR


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted smoke run (super-resolution, l1) on the embedded photographs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("IMGLOSS_DATA_ROOT", raising=False)
        results = tmp_path_factory.mktemp("reference")
        return runner.run_one(RUN, "smoke", results=results, progress=False)


RUN = runner.spec("sr", "l1")


def _interrupt_at(monkeypatch, stage: str) -> None:
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    if stage == "training":
        step = TR._Run.train_step

        def step_then_stop(self):
            if self.step == 4:  # after the checkpoint at step 3
                raise KeyboardInterrupt
            step(self)

        monkeypatch.setattr(TR._Run, "train_step", step_then_stop)
    elif stage == "evaluation":
        monkeypatch.setattr(runner, "evaluate_model", boom)
    elif stage == "crops":
        monkeypatch.setattr(runner, "save_png", boom)
    elif stage == "record":
        monkeypatch.setattr(records.RunRecord, "save", boom)
    elif stage == "summary":
        monkeypatch.setattr(records.ExperimentSummary, "save", boom)


def _rows(folder):
    return json.loads((folder / "metrics.json").read_text())["test"]


@pytest.mark.parametrize("stage", ["training", "evaluation", "crops", "record"])
def test_an_interrupted_run_resumes_to_the_same_result(tmp_path, monkeypatch, reference, stage):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    with pytest.MonkeyPatch.context() as patch:
        _interrupt_at(patch, stage)
        with pytest.raises(KeyboardInterrupt):
            runner.run_one(RUN, "smoke", results=tmp_path, progress=False)
    folder = runner.run_one(RUN, "smoke", results=tmp_path, progress=False)
    assert _rows(folder) == _rows(reference)


def test_an_interrupted_summary_is_written_by_the_next_run(tmp_path, monkeypatch, reference):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    with pytest.MonkeyPatch.context() as patch:
        _interrupt_at(patch, "summary")
        with pytest.raises(KeyboardInterrupt):
            runner.run_experiment("table1", "smoke", results=tmp_path, tasks=["sr"], progress=False)
    runner.run_experiment("table1", "smoke", results=tmp_path, tasks=["sr"], progress=False)
    assert _rows(runner.run_dir(tmp_path, RUN, "smoke")) == _rows(reference)
    summary = records.ExperimentSummary.load(
        records.SourceFolder(tmp_path, "embedded").summary("smoke", "table1")
    )
    assert {(r.task, r.schedule) for r in summary.runs} == {
        ("sr", n) for n in ("l2", "l1", "msssim", "mix")
    }


def test_no_run_of_a_pool_starts_after_an_interrupt(tmp_path, monkeypatch):
    """Ctrl-C on ``--workers 2``: the two running processes are stopped and none of the queued
    runs starts."""
    import os
    import signal
    import threading

    from imgloss.experiments import executors
    from imgloss.results.workspace import Workspace

    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    started, terminated = [], []

    class FakeProcess:
        def __init__(self, command, **kwargs):
            started.append(command)
            self.done = threading.Event()

        def wait(self):
            self.done.wait(30)
            return -15

        def terminate(self):
            terminated.append(self)
            self.done.set()

    monkeypatch.setattr(executors.subprocess, "Popen", FakeProcess)
    ws = Workspace.resolve(tmp_path, progress=False)
    jobs = [
        executors.Job(runner.spec("sr", loss, seed=seed), runner.PROFILES["smoke"], ws)
        for seed in (0, 1)
        for loss in ("l2", "l1", "mix")
    ]
    # Ctrl-C's handler, also where the suite runs in the background (SIGINT ignored there)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            executors.run_local(jobs, workers=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(started) == 2 and len(terminated) == 2  # the two running ones, stopped
    threading.Event().wait(0.5)
    assert len(started) == 2  # and nothing started after the interrupt
