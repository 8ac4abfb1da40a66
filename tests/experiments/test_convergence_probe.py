"""The converged-evidence machinery: the network's precision chosen by the hardware, the
convergence probe's constant-lr continuation, and finished runs continued from their committed
final state (``model.safetensors``) exactly as from their ``checkpoint.pt``."""

from __future__ import annotations

import shutil

import pytest
import torch

from imgloss.data.source import resolve
from imgloss.design import experiments as design
from imgloss.design.experiments import PROFILES, spec
from imgloss.experiments import executors, runner
from imgloss.training import precision
from imgloss.training import trainer as TR
from imgloss.training.weights import FINAL, WeightsError, final_state, load_weights


def test_precision_follows_the_request_then_the_hardware():
    assert precision.choose("cpu", True).bfloat16 is True
    assert precision.choose("cuda", False).bfloat16 is False
    assert precision.choose("cuda", None).bfloat16 is True
    native = precision.choose("cpu", None, flags=("avx512_bf16",))
    assert native.bfloat16 and "avx512_bf16" in native.reason
    emulated = precision.choose("cpu", None, flags=())
    assert not emulated.bfloat16 and "float32" in emulated.reason
    assert emulated.record() == {
        "network": "float32",
        "loss_and_optimizer": "float32",
        "reason": emulated.reason,
    }
    assert precision.choose("mps", None).bfloat16 is False


def test_precision_override_from_the_command_line(monkeypatch):
    """``--precision`` sets the environment variable that new runs (and their worker
    processes) follow; the configuration's explicit ``amp`` still wins; a bad value is named."""
    from imgloss.cli import commands as cli

    monkeypatch.setenv(precision.ENV, "float32")
    forced = precision.choose("cpu", None, flags=("avx512_bf16",))
    assert not forced.bfloat16 and precision.ENV in forced.reason
    assert precision.choose("cpu", True).bfloat16 is True
    monkeypatch.setenv(precision.ENV, "bfloat16")
    assert precision.choose("cpu", None, flags=()).bfloat16 is True
    monkeypatch.setenv(precision.ENV, "auto")
    assert precision.choose("cpu", None, flags=()).bfloat16 is False
    monkeypatch.setenv(precision.ENV, "half")
    with pytest.raises(ValueError, match="IMGLOSS_PRECISION='half'.*auto, bfloat16, float32"):
        precision.choose("cpu", None)
    monkeypatch.delenv(precision.ENV)
    args = cli._build_parser().parse_args(["run", "table1", "--precision", "float32", "--list"])
    assert args.precision == "float32"
    with pytest.raises(SystemExit):
        cli._build_parser().parse_args(["run", "table1", "--precision", "fp8"])


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        ("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile\n", ("avx512_bf16",)),
        ("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw\n", ()),
        ("processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n", ("bf16",)),
        ("no flags at all\n", ()),
    ],
)
def test_cpu_flags_read_from_cpuinfo(tmp_path, text, flags):
    info = tmp_path / "cpuinfo"
    info.write_text(text)
    assert precision.cpu_bf16_flags.__wrapped__(str(info)) == flags
    assert precision.cpu_bf16_flags.__wrapped__(str(tmp_path / "missing")) == ()


def test_the_trainer_records_the_path_that_ran(tmp_path):
    cfg = TR.TrainConfig(
        "demosaic",
        (TR.Phase("l1", 3),),
        batch_size=4,
        eval_every=3,
        checkpoint_every=3,
        train_set="embedded_train",
        val_set="embedded_test",
        val_crops=1,
        val_size=48,
    )
    out = TR.train(cfg, tmp_path / "run", device="cpu", progress=False)["summary"]
    expected = precision.choose("cpu", None)
    assert out["precision"] == expected.record() and out["amp_bfloat16"] is expected.bfloat16
    forced = TR.train(
        TR.TrainConfig(**{**cfg.__dict__, "amp": False}), tmp_path / "fp32", progress=False
    )["summary"]
    assert forced["precision"]["network"] == "float32" and forced["conv_algorithm"] == "fourier"


def test_constant_phase_holds_its_lr_and_keeps_old_keys():
    hold = TR.Phase("l1", 10, lr=1e-5, schedule="constant")
    assert [TR._cosine_lr(hold, s, 0.01) for s in (0, 5, 9)] == [1e-5] * 3
    with pytest.raises(ValueError, match="schedule must be one of"):
        TR.TrainConfig("demosaic", (TR.Phase("l1", 3, schedule="linear"),))
    cfg = TR.TrainConfig("demosaic", (TR.Phase("l1", 3), hold))
    phases = cfg.to_dict()["phases"]
    assert "schedule" not in phases[0] and phases[1]["schedule"] == "constant"


def test_the_probe_continues_half_as_long_at_the_final_lr():
    profile = PROFILES["paper"]
    runs = design.experiment_runs("convergence", profile)[1::2]  # the continued runs
    assert [(r.label, r.seed) for r in design.experiment_runs("convergence", profile)] == [
        ("l1", 0),
        ("l1@ext", 0),
        ("mix", 0),
        ("mix@ext", 0),
    ]
    data = design.run_data(resolve(None), runner.T.get("demosaic"), profile)
    cfg = runner.train_config(runs[0], profile, data)
    first, more = cfg.phases
    assert (first.steps, first.lr, first.schedule) == (4000, 1e-3, "cosine")
    assert (more.loss, more.steps, more.schedule) == ("l1", 2000, "constant")
    assert more.lr == pytest.approx(TR._cosine_lr(first, first.steps - 1, cfg.min_lr_ratio))
    assert runs[0].parent() == spec("demosaic", "l1")
    assert runner.run_key(runs[0].parent(), profile, data) == runner.run_key(
        design.experiment_runs("table1", profile, ["demosaic"])[1], profile, data
    )  # the probe's first half is Table 1's l1 run, trained once
    assert executors.run_args(runs[1])[-1] == "--extend"


def test_a_finished_run_continues_from_its_safetensors_exactly(tmp_path):
    run = spec("demosaic", "l1", extended=True)
    a = runner.run_one(run, "smoke", results=tmp_path / "a", progress=False)
    parent = runner.run_dir(tmp_path / "a", run.parent(), "smoke")
    state = final_state(parent, "cpu")
    ckpt = TR.load_checkpoint(parent / TR.CHECKPOINT, torch.device("cpu"))
    assert state["step"] == ckpt["step"] and torch.equal(state["generator"], ckpt["generator"])
    assert all(torch.equal(state["model"][k], ckpt["model"][k]) for k in ckpt["model"])
    # a fresh clone: the parent's record, curves and safetensors only
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    b_parent = runner.run_dir(tmp_path / "b", run.parent(), "smoke")
    (b_parent / TR.CHECKPOINT).unlink()
    shutil.rmtree(runner.run_dir(tmp_path / "b", run, "smoke"))
    b = runner.run_one(run, "smoke", results=tmp_path / "b", progress=False)
    wa, wb = load_weights(a / FINAL), load_weights(b / FINAL)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_damaged_final_state_names_the_file(tmp_path):
    (tmp_path / FINAL).write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError, match="model.safetensors: not a readable safetensors"):
        final_state(tmp_path, "cpu")
    with pytest.raises(TR.CheckpointError, match="model.safetensors"):
        TR.load_checkpoint(tmp_path / FINAL, torch.device("cpu"))


def test_the_probe_is_reported_with_its_gain_and_the_criterion(tmp_path, monkeypatch):
    """``imgloss run convergence`` writes a summary whose gain (continued minus profile length,
    paired per image) the book prints with the criterion's verdict."""
    import numpy as np

    from imgloss.design.experiments import CONVERGED_GAIN_DB
    from imgloss.report import tables as report
    from imgloss.results import records

    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)  # the embedded photographs
    runner.run_experiment("convergence", "smoke", results=tmp_path, progress=False)
    view = records.open_view(tmp_path, "smoke", source="embedded")
    text = report.convergence_markdown(view, profile="smoke")
    rows = [line for line in text.splitlines() if line.startswith(("| l1 ", "| mix "))]
    assert len(rows) == 2 and "after 6 steps" in text and "after 3 more" in text
    summary = view.summary("convergence")
    dataset = summary.datasets("demosaic")[0]
    for row, loss in zip(rows, ("l1", "mix"), strict=True):
        base = summary.cell("demosaic", loss, dataset, "psnr").mean
        longer = summary.cell("demosaic", f"{loss}@ext", dataset, "psnr").mean
        gain = float(row.split("|")[4].split()[0])
        assert gain == pytest.approx(longer - base, abs=5e-4)
        verdict = "converged" if longer - base < CONVERGED_GAIN_DB else "not converged"
        assert verdict in row and np.isfinite(gain)
    assert report.convergence_markdown(view, profile="quick") == ""  # no probe there
