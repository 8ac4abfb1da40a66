"""The fused Triton paths of the losses (imgloss.functional.fused) against the eager reference.

Every case computes a loss with ``IMGLOSS_FUSED=force`` and ``off`` on the same inputs and
compares the per-plane values (to 1e-5 in float32) and the gradients of a randomly weighted sum
(so that every plane gets its own incoming gradient) for prediction and target. Small, odd,
non-square images: Triton's interpreter runs every program in Python.

Devices: on a machine without CUDA the kernels run on CPU tensors in Triton's interpreter,
which Triton 3.x reads when ``@triton.jit`` decorates a kernel, so ``TRITON_INTERPRET=1`` is set
here while the kernels are first imported (and restored after). On a machine with CUDA the same
tests run on the GPU with compiled kernels; the interpreter cases then skip (one process holds
one kind of kernel). Triton's own helper kernels are also decorated once per process: where
Triton was imported before this module (``torch.compile`` in an earlier test module imports it),
the interpreter cases cannot run here, and :func:`test_interpreter_cases_in_a_fresh_process`
runs this file in a new process instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys

#: Whether Triton is still unimported in this process (its kernels can then be interpreted).
FRESH = "triton" not in sys.modules

import pytest
import torch

import imgloss.losses as L
from imgloss.functional import fused

if importlib.util.find_spec("triton") is None:
    pytest.skip("triton is not installed (pip install -e '.[dev]')", allow_module_level=True)

CUDA = torch.cuda.is_available()


@contextlib.contextmanager
def environment(name: str, value: str | None):
    """``os.environ[name] = value`` (None: unchanged) inside the block, restored after."""
    before = os.environ.get(name)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


INTERPRET = None if CUDA else "1"
if FRESH:
    with environment("TRITON_INTERPRET", INTERPRET):
        fused.kernels()


@pytest.fixture(autouse=True, scope="module")
def _interpreter():
    """Triton also checks the variable at launch (its first launch imports more kernels)."""
    with environment("TRITON_INTERPRET", INTERPRET):
        yield


DEVICES = [
    pytest.param(
        "cpu",
        marks=pytest.mark.skipif(
            not FRESH or not fused.interpreted(),
            reason="the kernels of this process are compiled (CUDA here, or Triton imported "
            "before this module: test_interpreter_cases_in_a_fresh_process runs them)",
        ),
    ),
    pytest.param("cuda", marks=pytest.mark.skipif(not CUDA, reason="no CUDA device")),
]

ODD = (2, 3, 23, 37)  # batch 2, RGB, odd and non-square
SMALL_SIGMAS = (0.5, 1.0, 2.0)  # a 15-tap largest window, which fits 23 x 37


def fused_mode(value: str):
    return environment(fused.MODE_ENV, value)


def _pair(shape, device, seed=0, identical_plane=False):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=gen)
    y = (x + 0.2 * torch.randn(shape, generator=gen)).clamp(0, 1)
    if identical_plane:
        y[0, 0] = x[0, 0]
    weights = torch.rand(shape[:2], generator=gen) + 0.5
    return x.to(device), y.to(device), weights.to(device)


def _values_and_grads(loss, x, y, weights, mode):
    xx, yy = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
    with fused_mode(mode):
        assert fused.use_fused(xx) == (mode == "force")
        values = loss(xx, yy)
        grads = torch.autograd.grad((values * weights).sum(), (xx, yy))
    return values.detach(), grads


def check_against_eager(loss, shape, device, *, calls, monkeypatch, identical_plane=False):
    """``loss(x, y)`` (per-plane values) fused against eager: values to 1e-5, gradients to 1e-5
    of their largest magnitude; ``calls`` names the fused entry point that must have run."""
    count = {"n": 0}
    original = getattr(fused, calls)

    def counted(*args, **kwargs):
        count["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(fused, calls, counted)
    x, y, weights = _pair(shape, device, identical_plane=identical_plane)
    got, got_grads = _values_and_grads(loss, x, y, weights, "force")
    assert count["n"] > 0, f"the fused {calls} did not run"
    want, want_grads = _values_and_grads(loss, x, y, weights, "off")
    assert got.shape == want.shape == shape[:2]
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    for g, w in zip(got_grads, want_grads):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g, w, atol=1e-5 * w.abs().max().item() + 1e-9, rtol=0)
    return got, got_grads


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [ODD, (1, 1, 23, 37)], ids=["2x3x23x37", "1x1x23x37"])
def test_sliding_ssim(device, shape, monkeypatch):
    def loss(x, y):
        return L.ssim(x, y, reduction="none")

    check_against_eager(loss, shape, device, calls="sliding_means", monkeypatch=monkeypatch)


@pytest.mark.parametrize("device", DEVICES)
def test_sliding_ssim_other_window_and_identical_plane(device, monkeypatch):
    def loss(x, y):
        return L.ssim(x, y, sigma=1.0, win_size=7, data_range=2.0, reduction="none")

    got, grads = check_against_eager(
        loss,
        (1, 3, 19, 26),
        device,
        calls="sliding_means",
        monkeypatch=monkeypatch,
        identical_plane=True,
    )
    assert got[0, 0].item() == 1.0
    assert grads[0][0, 0].abs().max().item() == 0.0


@pytest.mark.parametrize("device", DEVICES)
def test_pyramid_ms_ssim_scales(device, monkeypatch):
    def loss(x, y):
        return L.ms_ssim(x, y, variant="pyramid", weights=(0.4, 0.6), win_size=7, reduction="none")

    check_against_eager(
        loss, (1, 3, 23, 37), device, calls="sliding_means", monkeypatch=monkeypatch
    )


SLIDING_GAUSSIAN = {  # loss, sigmas, shape (the 57-tap window of sigma 8 needs 57 pixels)
    "msssim-3-sigmas": (L.ms_ssim, SMALL_SIGMAS, (1, 3, 23, 37)),
    "msssim-paper-sigmas": (L.ms_ssim, L.PAPER_SIGMAS, (1, 1, 59, 63)),
    "mix-3-sigmas": (L.mix_loss, SMALL_SIGMAS, (2, 1, 23, 37)),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", sorted(SLIDING_GAUSSIAN))
def test_gaussian_ms_ssim_and_mix_sliding(device, case, monkeypatch):
    fn, sigmas, shape = SLIDING_GAUSSIAN[case]

    def loss(x, y):
        return fn(x, y, sigmas=sigmas, reduction="none")

    check_against_eager(loss, shape, device, calls="sliding_means", monkeypatch=monkeypatch)


PATCH_LOSSES = {
    "ssim5": lambda x, y: L.ssim(x, y, sigma=5.0, window="patch", reduction="none"),
    "msssim": lambda x, y: L.ms_ssim(x, y, window="patch", reduction="none"),
    "mix": lambda x, y: L.mix_loss(x, y, window="patch", reduction="none"),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(PATCH_LOSSES))
@pytest.mark.parametrize("shape", [ODD, (1, 1, 31, 31)], ids=["2x3x23x37", "1x1x31x31"])
def test_patch_losses(device, name, shape, monkeypatch):
    check_against_eager(
        PATCH_LOSSES[name],
        shape,
        device,
        calls="patch_values",
        monkeypatch=monkeypatch,
        identical_plane=shape[1] > 1,
    )


@pytest.mark.parametrize("device", DEVICES)
def test_prediction_only_gradient(device):
    """Only ``x`` requires grad (a prediction against a fixed target): the kernels skip y."""
    x, y, _ = _pair((1, 3, 23, 37), device)
    grads = []
    for mode in ("force", "off"):
        xx = x.clone().requires_grad_(True)
        with fused_mode(mode):
            (g,) = torch.autograd.grad(L.ms_ssim(xx, y, sigmas=SMALL_SIGMAS), xx)
        grads.append(g)
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5 * grads[1].abs().max().item(), rtol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_second_derivatives(device):
    """Patch mode stays exact to any order (the fused backward differentiates the eager formula
    under create_graph); sliding mode refuses, as the eager closed-form backward does."""
    x, y, _ = _pair((1, 3, 23, 37), device)
    x.requires_grad_(True)
    penalties = []
    for mode in ("force", "off"):
        with fused_mode(mode):
            (g,) = torch.autograd.grad(L.mix_loss(x, y, window="patch"), x, create_graph=True)
            penalties.append(torch.autograd.grad(g.square().sum(), x)[0])
    torch.testing.assert_close(penalties[0], penalties[1])
    with fused_mode("force"), pytest.raises(RuntimeError, match="second derivatives"):
        torch.autograd.grad(L.ssim(x, y), x, create_graph=True)


def test_dispatch_rules():
    x = torch.rand(1, 1, 23, 37)
    with fused_mode("off"):
        assert not fused.use_fused(x.cuda() if CUDA else x)
    with fused_mode("auto"):
        assert not fused.use_fused(x)  # never on CPU tensors outside the tests' force
    with fused_mode("force"):
        assert not fused.use_fused(x.double())  # float32 only; float64 stays eager
        big = torch.rand(1, 1, 65, 65, device="cuda" if CUDA else "cpu")
        assert fused.patch_values(big, big, (1.0,), 0, 1e-4, 9e-4) is None  # eager fallback
    with fused_mode("sometimes"), pytest.raises(ValueError, match="IMGLOSS_FUSED must be one"):
        fused.use_fused(x)


@pytest.mark.skipif(FRESH or CUDA, reason="the interpreter cases ran in this process")
def test_interpreter_cases_in_a_fresh_process():
    env = os.environ | {"TRITON_INTERPRET": "1"}
    env.pop(fused.MODE_ENV, None)
    job = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert job.returncode == 0, job.stdout[-4000:] + job.stderr[-2000:]
    assert " passed" in job.stdout and "failed" not in job.stdout
