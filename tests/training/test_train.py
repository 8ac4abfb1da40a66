"""The trainer: configuration checks, determinism, loss schedules, NaN handling, and resuming
a run killed by SIGKILL to the same result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from imgloss.core.errors import InputError
from imgloss.training import trainer as TR
from imgloss.training.trainer import NonFiniteLossError, Phase, TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def tiny(*phases: Phase, **kw) -> TrainConfig:
    """A seconds-long run on the bundled photographs (no data root needed)."""
    options = {
        "batch_size": 4,
        "eval_every": 3,
        "checkpoint_every": 3,
        "train_set": "embedded_train",
        "val_set": "embedded_test",
        "val_crops": 2,
        "val_size": 40,
    }
    options.update(kw)
    return TrainConfig("demosaic", phases, **options)


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / TR.CHECKPOINT, weights_only=False)["model"]


def curves(folder: Path) -> list[dict]:
    out = json.loads((folder / TR.CURVES).read_text())["curves"]
    return [{k: v for k, v in c.items() if k != "time_s"} for c in out]


@pytest.fixture(autouse=True)
def one_thread():
    # Bitwise comparisons between processes need the same thread count.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown task"):
        TrainConfig("deblur", (Phase("l1", 5),))
    with pytest.raises(ValueError, match="unknown loss|'ssimx'"):
        TrainConfig("demosaic", (Phase("ssimx", 5),))
    with pytest.raises(InputError, match="alpha"):
        TrainConfig("demosaic", (Phase("l1", 5, options=(("alpha", 0.5),)),))
    with pytest.raises(ValueError, match="odd positive output"):
        TrainConfig("demosaic", (Phase("l1", 5),), patch=32)
    with pytest.raises(ValueError, match="larger than 16"):
        TrainConfig("demosaic", (Phase("l1", 5),), patch=15)
    with pytest.raises(ValueError, match="steps must be a positive"):
        TrainConfig("demosaic", (Phase("l1", 0),))
    with pytest.raises(ValueError, match="lr must be"):
        TrainConfig("demosaic", (Phase("l1", 3, lr=float("nan")),))
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig("demosaic", (Phase("l1", 3),), batch_size=0)
    with pytest.raises(ValueError, match="at least one Phase"):
        TrainConfig("demosaic", ())
    with pytest.raises(ValueError, match="no CUDA"):
        if not torch.cuda.is_available():
            TR.pick_device("cuda")
        else:
            raise ValueError("no CUDA (skipped: a GPU is present)")


def test_schedule_helpers():
    phases = (Phase("l2", 4, lr=1e-3), Phase("l1", 2, lr=1e-4))
    assert [TR._locate(phases, s) for s in range(6)] == [
        (0, 0),
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 0),
        (1, 1),
    ]
    assert TR._cosine_lr(phases[0], 0, 0.01) == pytest.approx(1e-3)
    assert TR._cosine_lr(phases[0], 3, 0.01) == pytest.approx(1e-5)
    assert TR._cosine_lr(phases[1], 1, 0.1) == pytest.approx(1e-5)


def test_training_is_deterministic_and_learns(tmp_path):
    cfg = tiny(Phase("l1", 9, lr=2e-3))
    a = TR.train(cfg, tmp_path / "a", device="cpu", progress=False)
    TR.train(cfg, tmp_path / "b", device="cpu", progress=False)
    wa, wb = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    c = curves(tmp_path / "a")
    assert [r["step"] for r in c] == [3, 6, 9]
    assert c[-1]["train_loss"] < c[0]["train_loss"]
    assert {"val_l2", "val_psnr", "val_ssim", "lr", "loss", "phase"} <= set(c[0])
    s = a["summary"]
    assert s["steps"] == 9 and s["patches"] == 36 and s["train_data"]["name"] == "embedded_train"
    # PaperNet on CPU float32 patches trains on the Fourier path (imgloss.training.fourier_conv); under
    # bfloat16 autocast (a CPU with native bf16: imgloss.training.precision) on oneDNN's direct kernels
    fp32 = s["precision"]["network"] == "float32"
    assert s["conv_algorithm"] == ("fourier" if fp32 else "direct")
    assert s["amp_bfloat16"] is (not fp32)
    assert s["memory_format"] == ("nchw" if fp32 else "channels_last")


def test_bfloat16_on_the_cpu_trains_channels_last_and_saves_plain_weights(tmp_path):
    # oneDNN's bf16 kernels are faster in channels-last (benchmarks/results/train-cpu-bf16.md);
    # the final weights (runner: model.safetensors) stay in the plain layout and load anywhere.
    from imgloss.training import models
    from imgloss.training.weights import load_weights, save_final

    out = TR.train(tiny(Phase("l1", 3), amp=True), tmp_path / "bf16", device="cpu", progress=False)
    assert out["summary"]["memory_format"] == "channels_last"
    ckpt = torch.load(tmp_path / "bf16" / TR.CHECKPOINT, weights_only=False)
    assert ckpt["model"]["convs.1.weight"].is_contiguous(memory_format=torch.channels_last)
    save_final(tmp_path / "w.safetensors", ckpt["model"], ckpt["generator"], ckpt["step"])
    state = load_weights(tmp_path / "w.safetensors")
    assert all(t.is_contiguous() for t in state.values())
    models.for_task("demosaic").load_state_dict(state)
    assert all(torch.equal(ckpt["model"][k], state[k]) for k in state)


def test_loss_schedule_continues_from_a_finished_run_exactly(tmp_path):
    first = tiny(Phase("l2", 6))
    both = tiny(Phase("l2", 6), Phase("l1", 3))
    TR.train(first, tmp_path / "first", device="cpu", progress=False)
    TR.train(
        both,
        tmp_path / "cont",
        device="cpu",
        progress=False,
        init_checkpoint=tmp_path / "first" / TR.CHECKPOINT,
    )
    TR.train(both, tmp_path / "scratch", device="cpu", progress=False)
    wc, ws = weights(tmp_path / "cont"), weights(tmp_path / "scratch")
    assert all(torch.equal(wc[k], ws[k]) for k in wc)
    c = curves(tmp_path / "cont")
    assert c == curves(tmp_path / "scratch")
    assert [(r["step"], r["loss"], r["phase"]) for r in c] == [
        (3, "l2", 0),
        (6, "l2", 0),
        (9, "l1", 1),
    ]


def test_non_finite_training_stops_with_a_clear_error_and_no_bad_checkpoint(tmp_path):
    # A huge learning rate makes the weights, the output and the loss blow up within a few
    # steps; whichever check fires first (loss, validation output, checkpoint), the run stops
    # with NonFiniteLossError and every checkpoint on disk is finite.
    for eval_every in (1, 1000):
        out = tmp_path / f"e{eval_every}"
        cfg = tiny(Phase("l2", 30, lr=1e12), checkpoint_every=1, eval_every=eval_every)
        with pytest.raises(NonFiniteLossError, match="step|non-finite weights"):
            TR.train(cfg, out, device="cpu", progress=False)
        if (out / TR.CHECKPOINT).is_file():
            state = torch.load(out / TR.CHECKPOINT, weights_only=False)
            assert all(torch.isfinite(t).all() for t in state["model"].values())
            assert state["step"] < 30


def test_a_nan_loss_is_caught_before_the_optimiser_step(tmp_path, monkeypatch):
    cfg = tiny(Phase("l2", 6), checkpoint_every=1, eval_every=1000)
    calls = {"n": 0}
    real = TR.TrainingData.batch

    def poisoned(self, size):
        x, y = real(self, size)
        calls["n"] += 1
        if calls["n"] == 4:  # the 4th batch (step 3) has a NaN target
            y = y.clone()
            y[0, 0, 0, 0] = float("nan")
        return x, y

    monkeypatch.setattr(TR.TrainingData, "batch", poisoned)
    with pytest.raises(NonFiniteLossError, match="at step 3"):
        TR.train(cfg, tmp_path, device="cpu", progress=False)
    state = torch.load(tmp_path / TR.CHECKPOINT, weights_only=False)
    assert state["step"] == 3
    assert all(torch.isfinite(t).all() for t in state["model"].values())


def test_checkpoint_refuses_non_finite_weights(tmp_path):
    with pytest.raises(NonFiniteLossError, match="non-finite weights"):
        TR.save_checkpoint(tmp_path / "c.pt", {"model": {"w": torch.tensor([float("nan")])}})
    assert not (tmp_path / "c.pt").exists()


_CHILD = """
import sys, torch
torch.set_num_threads(1)
from imgloss.training.trainer import Phase, TrainConfig, train
cfg = TrainConfig("demosaic", (Phase("mix", 400),), batch_size=4, eval_every=5,
                  checkpoint_every=5, train_set="embedded_train", val_set="embedded_test",
                  val_crops=2, val_size=40)
train(cfg, sys.argv[1], device="cpu", progress=False)
"""


def test_a_killed_run_resumes_to_the_same_result(tmp_path):
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(killed)], env=env)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            ckpt = killed / TR.CHECKPOINT
            if ckpt.is_file():
                try:
                    if torch.load(ckpt, weights_only=False)["step"] >= 10:
                        break
                except Exception:  # noqa: BLE001, S110 - being replaced right now; try again
                    pass
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    interrupted_at = torch.load(killed / TR.CHECKPOINT, weights_only=False)["step"]
    assert 10 <= interrupted_at < 400

    cfg = TrainConfig(
        "demosaic",
        (Phase("mix", 400),),
        batch_size=4,
        eval_every=5,
        checkpoint_every=5,
        train_set="embedded_train",
        val_set="embedded_test",
        val_crops=2,
        val_size=40,
    )
    TR.train(cfg, killed, device="cpu", progress=False)
    TR.train(cfg, tmp_path / "straight", device="cpu", progress=False)
    wk, ws = weights(killed), weights(tmp_path / "straight")
    assert all(torch.equal(wk[k], ws[k]) for k in wk)
    assert curves(killed) == curves(tmp_path / "straight")
