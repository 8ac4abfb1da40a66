"""Bad input and faults, as a careful user meets them: a probe table of command lines and
faults, each with the exit status and a fragment of the one line it must print on stderr (never
a traceback), plus the fault classes behind it: damaged or foreign results and checkpoints, a
full disk, a read-only folder, a non-finite loss, a missing optional package, durable and
readable results files, resumes that keep the curves exact, and one run per loss."""

from __future__ import annotations

import errno
import json
import os
import pickle
import stat
import sys
from pathlib import Path

import pytest
import torch

from imgloss.cli import commands as cli
from imgloss.core import provenance
from imgloss.design import experiments as design
from imgloss.experiments import crops, runner
from imgloss.training import trainer as TR
from imgloss.training.trainer import Phase, TrainConfig

REPO = Path(__file__).resolve().parents[2]
ENV = "IMGLOSS_DATA_ROOT"


@pytest.fixture
def embedded(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    torch.set_num_threads(1)


def _smoke_run(results: Path) -> Path:
    return runner.run_one(
        design.spec("sr", "l1"), "smoke", results=results, device="cpu", progress=False
    )


def _damage_metrics(results: Path) -> None:
    folder = _smoke_run(results)
    (folder / "metrics.json").write_text('{"kind": "run", "sch')


def _foreign_summary(results: Path) -> None:
    _smoke_run(results)
    runner.run_experiment("table1", "smoke", results=results, tasks=["sr"], progress=False)
    (results / "embedded" / "smoke" / "table1.json").write_text("[1, 2, 3]")


def _damage_checkpoint(results: Path) -> None:
    folder = runner.run_dir(results, design.spec("sr", "l2"), "smoke")
    folder.mkdir(parents=True)
    (folder / TR.CHECKPOINT).write_bytes(b"PK\x03\x04 truncated")


def _corrupt_dataset(monkeypatch):
    """A data root whose Set5 has every file, none of them a readable image."""
    from imgloss.data import get

    root = Path(os.environ["PROBE_TMP"]) / "root"
    (root / "Set5").mkdir(parents=True)
    for file in get("Set5").files:
        (root / "Set5" / file).write_bytes(b"not a png")
    monkeypatch.setenv(ENV, str(root))


def _full_disk(monkeypatch):
    def refuse(path, write):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(provenance, "atomic_write", refuse)
    monkeypatch.setattr(crops, "atomic_write", refuse)  # the runs' figure crops
    monkeypatch.setattr(TR, "atomic_write", refuse)


def _read_only(monkeypatch):
    real = Path.mkdir

    def refuse(self, *args, **kwargs):
        if "results" in str(self):
            raise PermissionError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)


def _non_finite(monkeypatch):
    def explode(cfg, *args, **kwargs):
        raise TR.NonFiniteLossError("loss l1 became nan at step 3 of run sr seed 0")

    monkeypatch.setattr(runner, "train", explode)


def _no_book_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "papermill", None)  # import papermill -> ImportError


TRAIN = ["train", "--task", "sr", "--loss", "l1", "--profile", "smoke", "--no-progress"]

#: (name, argv, setup(results) or setup(monkeypatch), exit status, fragment of the error line)
PROBES = [
    ("unknown task", ["train", "--task", "deblur", "--loss", "l1"], None, 2, "--task"),
    ("unknown profile", ["run", "table1", "--profile", "huge"], None, 2, "--profile"),
    ("non-numeric seed", [*TRAIN, "--seed", "x"], None, 2, "--seed"),
    (
        "unknown loss",
        ["train", "--task", "sr", "--loss", "ssimx", "--profile", "smoke"],
        None,
        1,
        "unknown loss 'ssimx'",
    ),
    ("alpha without mix", [*TRAIN, "--alpha", "0.5"], None, 2, "--alpha applies to the mix"),
    ("tpu", [*TRAIN, "--device", "tpu"], None, 1, "device 'tpu' is not one of"),
    ("cuda on a CPU build", [*TRAIN, "--device", "cuda"], None, 1, "no CUDA device"),
    ("baselines on tpu", ["baselines", "--task", "sr", "--device", "tpu"], None, 1, "'tpu'"),
    ("book parameter", ["book", "-p", "bad"], None, 1, "NAME=VALUE"),
    ("damaged metrics.json", TRAIN, _damage_metrics, 1, "metrics.json: not valid JSON"),
    (
        "foreign summary",
        ["report", "--profile", "smoke"],
        _foreign_summary,
        1,
        "table1.json: not an imgloss summary record",
    ),
    (
        "damaged checkpoint",
        [*TRAIN[:4], "l2", *TRAIN[5:]],
        _damage_checkpoint,
        1,
        "not a usable imgloss checkpoint",
    ),
    ("missing results", ["report", "--profile", "smoke"], None, 1, "no results of profile smoke"),
    ("full disk", TRAIN, _full_disk, 1, "No space left on device; free some space"),
    ("read-only results folder", TRAIN, _read_only, 1, "not writable"),
    ("non-finite loss", TRAIN, _non_finite, 1, "became nan at step 3"),
    ("missing book extra", ["book", "--no-build"], _no_book_extra, 1, "imgloss[book]"),
    ("bad data root", TRAIN, "typo-root", 1, "is not a folder"),
    ("damaged data file", ["baselines", "--task", "sr"], _corrupt_dataset, 1, "dataset Set5 in"),
]


@pytest.mark.parametrize("name, argv, setup, status, fragment", PROBES, ids=[p[0] for p in PROBES])
def test_probe(name, argv, setup, status, fragment, tmp_path, embedded, monkeypatch, capsys):
    results = tmp_path / "results"
    monkeypatch.setenv("PROBE_TMP", str(tmp_path))
    argv = [*argv]
    if argv[0] in ("train", "run", "report", "baselines"):
        argv += ["--results", str(results)]
    if setup == "typo-root":
        monkeypatch.setenv(ENV, str(tmp_path / "no-such-root"))
    elif setup is not None:
        takes_results = setup.__code__.co_varnames[0] == "results"
        setup(results) if takes_results else setup(monkeypatch)
    capsys.readouterr()
    try:
        code = cli.main(argv)
    except SystemExit as exit:  # argparse
        code = exit.code
    err = capsys.readouterr().err
    assert code == status, err
    assert fragment in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_every_error_class_of_the_issue_is_probed():
    names = {p[0] for p in PROBES}
    for cls in (
        "damaged metrics.json",
        "foreign summary",
        "damaged checkpoint",
        "full disk",
        "read-only results folder",
        "non-finite loss",
        "missing book extra",
        "missing results",
        "tpu",
        "bad data root",
    ):
        assert cls in names


# ------------------------------------------------------------------- checkpoints and folders
class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/imgloss-pwned",))


def test_a_crafted_checkpoint_cannot_run_code(tmp_path, embedded):
    marker = Path("/tmp/imgloss-pwned")
    marker.unlink(missing_ok=True)
    folder = runner.run_dir(tmp_path, design.spec("sr", "l2"), "smoke")
    folder.mkdir(parents=True)
    with open(folder / TR.CHECKPOINT, "wb") as fh:
        pickle.dump({"model": _Payload()}, fh)
    with pytest.raises(TR.CheckpointError, match="not a usable imgloss checkpoint"):
        runner.run_one(design.spec("sr", "l2"), "smoke", results=tmp_path, progress=False)
    assert not marker.exists()


def test_a_failed_run_leaves_no_empty_folder(tmp_path, embedded, monkeypatch):
    _non_finite(monkeypatch)
    with pytest.raises(TR.NonFiniteLossError):
        _smoke_run(tmp_path)
    assert not (tmp_path / "embedded" / "runs").exists()


def test_results_files_are_readable_durable_and_stale_temporaries_are_removed(
    tmp_path, embedded, monkeypatch
):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    old = os.umask(0o027)
    try:
        provenance.write_json(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640  # umask, not 0600
    assert len(synced) >= 2  # the file before the rename, and its folder after it
    folder = runner.run_dir(tmp_path, design.spec("sr", "l1"), "smoke")
    folder.mkdir(parents=True)
    stale = folder / ".checkpoint.pt.k3j4.tmp"  # a write killed half-way
    stale.write_bytes(b"half")
    done = _smoke_run(tmp_path)
    assert done == folder and not stale.exists()
    modes = {stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_file()}
    assert modes <= {0o644, 0o664, 0o666}, modes  # metrics, curves, weights, crops


# ------------------------------------------------------------------------- exact resumes
def _tiny(**kw) -> TrainConfig:
    options = {
        "batch_size": 4,
        "train_set": "embedded_train",
        "val_set": "embedded_test",
        "val_crops": 2,
        "val_size": 40,
    }
    return TrainConfig("demosaic", (Phase("l1", 8),), **(options | kw))


def _curves(folder: Path) -> list[dict]:
    rows = json.loads((folder / TR.CURVES).read_text())["curves"]
    return [{k: v for k, v in r.items() if k != "time_s"} for r in rows]


def test_a_resume_between_evaluations_keeps_the_curves_exact(tmp_path, monkeypatch):
    """``eval_every`` = 3 and ``checkpoint_every`` = 2: a run stopped after step 5 resumes from
    the checkpoint of step 4, between the evaluations of steps 3 and 6; the mean training loss
    of steps 4-6 must still count step 4."""
    torch.set_num_threads(1)
    cfg = _tiny(eval_every=3, checkpoint_every=2)
    TR.train(cfg, tmp_path / "straight", device="cpu", progress=False)
    real = TR.TrainingData.batch
    calls = {"n": 0}

    def stop_after_five(self, size):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt  # as a user's Ctrl-C during step 6
        return real(self, size)

    monkeypatch.setattr(TR.TrainingData, "batch", stop_after_five)
    with pytest.raises(KeyboardInterrupt):
        TR.train(cfg, tmp_path / "resumed", device="cpu", progress=False)
    assert (
        TR.load_checkpoint(tmp_path / "resumed" / TR.CHECKPOINT, torch.device("cpu"))["step"] == 4
    )
    monkeypatch.setattr(TR.TrainingData, "batch", real)
    TR.train(cfg, tmp_path / "resumed", device="cpu", progress=False)
    assert _curves(tmp_path / "resumed") == _curves(tmp_path / "straight")


# ---------------------------------------------------------------------- one loss, one run
@pytest.mark.parametrize(
    "spelling",
    [("mix",), (("mix", {"alpha": 0.84}),), (" MIX ",), (("Mix", {"alpha": 0.84}),)],
)
def test_names_of_one_loss_share_one_run_and_label(spelling, embedded, tmp_path):
    run = design.spec("demosaic", *spelling)
    assert run == design.spec("demosaic", "mix") and run.label == "mix"
    assert runner.run_dir(tmp_path, run, "smoke") == runner.run_dir(
        tmp_path, design.spec("demosaic", "mix"), "smoke"
    )


def test_ssim_spellings_share_one_run():
    labels = {design.spec("demosaic", s).label for s in ("ssim5", "SSIM5", "ssim5.0", " ssim 5")}
    assert labels == {"ssim5"}
    assert design.spec("demosaic", ("mix", {"alpha": 0.5})).label == "mix_alpha0.5"


def test_printed_commands_are_shell_quoted(capsys, tmp_path):
    import shlex

    results = tmp_path / "my results; rm -rf x"
    assert (
        cli.main(["run", "switching", "--profile", "quick", "--list", "--results", str(results)])
        == 0
    )
    for line in capsys.readouterr().out.strip().splitlines():
        words = shlex.split(line)
        assert words[:2] == ["imgloss", "train"] and words[words.index("--results") + 1] == str(
            results
        )


def test_the_command_line_is_light_and_versioned():
    """``imgloss --help`` answers without importing torch; ``python -m imgloss`` and
    ``--version`` work."""
    import subprocess

    code = (
        "import sys, imgloss.cli as c\n"
        "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().endswith("False")
    version = subprocess.run(
        [sys.executable, "-m", "imgloss", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip().startswith("imgloss ")
