"""SSIM pitfalls in the wild: the failures users report, reproduced live (issue 32, item 4).

Each function builds one small, seeded input, runs every installed peer (pytorch-msssim,
torchmetrics, kornia, scikit-image; piq does not import beside this torch) and imgloss on it,
and returns a :class:`Pitfall`: what each implementation returned or raised, and the public
threads where users reported it. :func:`gallery` returns them all; the book's "Which SSIM?"
chapter prints them and ``tests/teaching/test_ssim_pitfalls.py`` checks every item.

``threads`` are issues whose report was read for this gallery; ``listed`` are further threads
named in issue 32 for the same family of problems, linked as listed there.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from imgloss.metrics import ssim as metric

GITHUB = "https://github.com/"


def _issue(repo: str, number: int) -> str:
    return f"{GITHUB}{repo}/issues/{number}"


@dataclass(frozen=True)
class Outcome:
    """What one implementation did: a value, or the exception it raised (type and message)."""

    implementation: str
    call: str
    value: float | None = None
    error: str | None = None

    @property
    def text(self) -> str:
        """The value to 6 decimals, ``nan``, or ``raised Type ("message")``."""
        if self.error is not None:
            return f"raised {self.error}"
        return "nan" if self.value != self.value else f"{self.value:.6f}"


@dataclass(frozen=True)
class Pitfall:
    """One reported failure: the input, each implementation's outcome, the threads."""

    key: str
    title: str
    setup: str
    explanation: str
    outcomes: tuple[Outcome, ...]
    threads: tuple[str, ...]
    listed: tuple[str, ...] = ()

    def outcome(self, implementation: str) -> Outcome:
        """The outcome of ``implementation`` (a :class:`KeyError` if it did not run)."""
        for o in self.outcomes:
            if o.implementation == implementation:
                return o
        raise KeyError(implementation)


def _run(implementation: str, call: str, fn: Callable[[], torch.Tensor | float]) -> Outcome | None:
    """Run ``fn``; ``None`` when the peer is not installed, else its value or its error."""
    try:
        value = fn()
    except ModuleNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - the gallery records whatever a peer raises
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        quoted = f' ("{message[:160]}")' if message else ""
        return Outcome(implementation, call, error=f"{type(exc).__name__}{quoted}")
    v = value.double().mean().item() if isinstance(value, torch.Tensor) else float(value)
    return Outcome(implementation, call, value=v)


def _peer(module: str):
    return importlib.import_module(module)


def _outcomes(*runs: tuple[str, str, Callable[[], torch.Tensor | float]]) -> tuple[Outcome, ...]:
    done = (_run(*r) for r in runs)
    return tuple(o for o in done if o is not None)


def _rand(shape: tuple[int, ...], seed: int, dtype=torch.float32) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def anti_correlated() -> Pitfall:
    """MS-SSIM of ``x`` and ``1 - x``: negative cs to fractional powers is NaN unless clamped."""
    x = _rand((1, 1, 192, 192), 0)
    y = 1 - x
    pm, tm = "pytorch_msssim", "torchmetrics.functional.image"
    return Pitfall(
        key="anti_correlated",
        title="NaN MS-SSIM on anti-correlated images",
        setup="x uniform noise 192 x 192, y = 1 - x, data range 1",
        explanation="Every scale's mean cs is negative; a negative number to the power 0.0448 "
        "is NaN in floating point (complex in MATLAB). pytorch-msssim (since 0.2), torchmetrics "
        "(normalize='relu') and imgloss clamp it to 0, so MS-SSIM is 0; msssim.m has no clamp.",
        outcomes=_outcomes(
            (
                "pytorch_msssim",
                "ms_ssim(x, y, data_range=1)",
                lambda: _peer(pm).ms_ssim(x, y, data_range=1),
            ),
            (
                "torchmetrics",
                (
                    "multiscale_structural_similarity_index_measure(x, y, "
                    "data_range=1.0, normalize=None)"
                ),
                lambda: _peer(tm).multiscale_structural_similarity_index_measure(
                    x, y, data_range=1.0, normalize=None
                ),
            ),
            (
                "torchmetrics (default)",
                "multiscale_structural_similarity_index_measure(x, y, data_range=1.0)",
                lambda: _peer(tm).multiscale_structural_similarity_index_measure(
                    x, y, data_range=1.0
                ),
            ),
            ("imgloss", "metrics.ssim.ms_ssim(x, y)", lambda: metric.ms_ssim(x, y)),
            (
                "imgloss matlab",
                "ms_ssim(x, y, data_range=1, convention='matlab')",
                lambda: metric.ms_ssim(x, y, data_range=1.0, convention="matlab"),
            ),
            ("SSIM (imgloss)", "metrics.ssim.ssim(x, y)", lambda: metric.ssim(x, y)),
        ),
        threads=(
            _issue("VainF/pytorch-msssim", 7),
            _issue("VainF/pytorch-msssim", 11),
            _issue("VainF/pytorch-msssim", 16),
        ),
    )


def small_image() -> Pitfall:
    """Five-scale MS-SSIM of a 64 x 64 image: the fifth scale is 4 x 4, smaller than the window."""
    x = _rand((1, 3, 64, 64), 1)
    y = (x + 0.1 * _rand((1, 3, 64, 64), 2)).clamp(0, 1)
    pm, tm, ko = "pytorch_msssim", "torchmetrics.functional.image", "kornia"
    return Pitfall(
        key="small_image",
        title="Five scales on a small image",
        setup="64 x 64 RGB pair, data range 1",
        explanation="Wang's pyramid halves the image four times: an 11-tap window needs a side of "
        "at least 161 (pytorch-msssim asks > 160, torchmetrics side // 16 > 10). The paper's "
        "Gaussian MS-SSIM works at full resolution and fits any image its largest window fits.",
        outcomes=_outcomes(
            (
                "pytorch_msssim",
                "ms_ssim(x, y, data_range=1)",
                lambda: _peer(pm).ms_ssim(x, y, data_range=1),
            ),
            (
                "torchmetrics",
                "multiscale_structural_similarity_index_measure(x, y)",
                lambda: _peer(tm).multiscale_structural_similarity_index_measure(x, y),
            ),
            (
                "kornia",
                "1 - losses.MS_SSIMLoss(alpha=1, compensation=1)(x, y)",
                lambda: 1 - _peer(ko).losses.MS_SSIMLoss(alpha=1.0, compensation=1.0)(x, y),
            ),
            ("imgloss", "metrics.ssim.ms_ssim(x, y)", lambda: metric.ms_ssim(x, y)),
            (
                "imgloss paper",
                "ms_ssim(x, y, convention='paper')",
                lambda: metric.ms_ssim(x, y, convention="paper"),
            ),
        ),
        threads=(
            _issue("VainF/pytorch-msssim", 2),
            _issue("VainF/pytorch-msssim", 13),
            _issue("photosynthesis-team/piq", 35),
        ),
    )


def data_range() -> Pitfall:
    """[0, 1] images scored with a data range of 255: C1 and C2 swamp every difference."""
    y = _rand((1, 3, 96, 96), 3)
    x = (y + 0.2 * (_rand((1, 3, 96, 96), 4) - 0.5)).clamp(0, 1)
    pm, tm = "pytorch_msssim", "torchmetrics.functional.image"
    return Pitfall(
        key="data_range",
        title="data_range 255 against 1",
        setup="[0, 1] images, noise of +-0.1, each library's default data range",
        explanation="C1 = (0.01 L)^2 and C2 = (0.03 L)^2. With L = 255 on [0, 1] data the "
        "constants are 65025 times too large and SSIM is close to 1 whatever the images. "
        "pytorch-msssim and ssim.m default to 255; torchmetrics takes max - min of the batch; "
        "kornia and imgloss 1; scikit-image refuses float input without data_range.",
        outcomes=_outcomes(
            ("pytorch_msssim", "ssim(x, y)", lambda: _peer(pm).ssim(x, y)),
            (
                "pytorch_msssim (L = 1)",
                "ssim(x, y, data_range=1)",
                lambda: _peer(pm).ssim(x, y, data_range=1),
            ),
            (
                "torchmetrics",
                "structural_similarity_index_measure(x, y)",
                lambda: _peer(tm).structural_similarity_index_measure(x, y),
            ),
            ("skimage", "structural_similarity(x, y, channel_axis=0)", lambda: _skimage(x, y)),
            ("imgloss", "metrics.ssim.ssim(x, y)", lambda: metric.ssim(x, y)),
            (
                "imgloss matlab",
                "ssim(x, y, convention='matlab')",
                lambda: metric.ssim(x, y, convention="matlab"),
            ),
        ),
        threads=(),
        listed=(
            _issue("scikit-image/scikit-image", 4278),
            _issue("photosynthesis-team/piq", 39),
            _issue("VainF/pytorch-msssim", 14),
        ),
    )


def _skimage(x: torch.Tensor, y: torch.Tensor, **kwargs) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(x[0].numpy(), y[0].numpy(), channel_axis=0, **kwargs))


def uint8_input() -> Pitfall:
    """8-bit tensors passed as they are read from disk."""
    y = (_rand((1, 3, 96, 96), 5) * 255).round().to(torch.uint8)
    noise = (40 * (_rand((1, 3, 96, 96), 6) - 0.5)).round()
    x = (y.float() + noise).clamp(0, 255).to(torch.uint8)
    pm, tm, ko = "pytorch_msssim", "torchmetrics.functional.image", "kornia"
    return Pitfall(
        key="uint8",
        title="uint8 inputs",
        setup="uint8 images in 0..255, noise of +-20",
        explanation="Integer tensors meet float windows. Some peers cast silently (kornia scores "
        "0..255 values with max_val 1, so C1, C2 are negligible), some fail inside a "
        "convolution; scikit-image infers L = 255 from the dtype. imgloss refuses integers and "
        "names the fix.",
        outcomes=_outcomes(
            ("pytorch_msssim", "ssim(x, y)", lambda: _peer(pm).ssim(x, y)),
            (
                "torchmetrics",
                "structural_similarity_index_measure(x, y)",
                lambda: _peer(tm).structural_similarity_index_measure(x, y),
            ),
            ("kornia", "metrics.ssim(x, y, 11).mean()", lambda: _peer(ko).metrics.ssim(x, y, 11)),
            ("skimage", "structural_similarity(x, y, channel_axis=0)", lambda: _skimage(x, y)),
            ("imgloss", "metrics.ssim.ssim(x, y)", lambda: metric.ssim(x, y)),
            (
                "imgloss (x / 255)",
                "ssim(x.float() / 255, y.float() / 255)",
                lambda: metric.ssim(x.float() / 255, y.float() / 255),
            ),
        ),
        threads=(),
        listed=(_issue("scikit-image/scikit-image", 4278), _issue("photosynthesis-team/piq", 39)),
    )


def float16() -> Pitfall:
    """Two identical black images in float16: the moments cancel badly in half precision."""
    z = torch.zeros(1, 3, 64, 64, dtype=torch.float16)
    w = _rand((1, 3, 64, 64), 7).half()
    pm, tm, ko = "pytorch_msssim", "torchmetrics.functional.image", "kornia"
    ref = metric.ssim(w.double(), w.double() * 0.9).mean().item()
    return Pitfall(
        key="float16",
        title="float16 (autocast)",
        setup="noise w and 0.9 w in float16; and two black images (zeros) in float16",
        explanation="torch.autocast runs convolutions in float16 on CUDA: E[x^2] - E[x]^2 then "
        "loses most of its digits and SSIM drifts (torchmetrics once returned 1.32 for two black "
        "images under autocast). imgloss computes the statistics in float32 at least.",
        outcomes=_outcomes(
            (
                "pytorch_msssim",
                "ssim(w, 0.9 w, data_range=1)",
                lambda: _peer(pm).ssim(w, w * 0.9, data_range=1),
            ),
            (
                "torchmetrics",
                "structural_similarity_index_measure(w, 0.9 w, data_range=1.0)",
                lambda: _peer(tm).structural_similarity_index_measure(w, w * 0.9, data_range=1.0),
            ),
            (
                "kornia",
                "metrics.ssim(w, 0.9 w, 11).mean()",
                lambda: _peer(ko).metrics.ssim(w, w * 0.9, 11),
            ),
            ("imgloss", "metrics.ssim.ssim(w, 0.9 w)", lambda: metric.ssim(w, w * 0.9)),
            (
                "torchmetrics zeros",
                "structural_similarity_index_measure(z, z, data_range=1.0)",
                lambda: _peer(tm).structural_similarity_index_measure(z, z, data_range=1.0),
            ),
            ("imgloss zeros", "metrics.ssim.ssim(z, z)", lambda: metric.ssim(z, z)),
            ("float64", "metrics.ssim.ssim(w.double(), 0.9 w.double())", lambda: ref),
        ),
        threads=(_issue("Lightning-AI/torchmetrics", 1290),),
    )


def negative_variance() -> Pitfall:
    """A flat bright image against itself plus noise of 1e-6: a variance rounds below zero."""
    x = torch.full((1, 1, 32, 32), 0.99)
    y = x + 1e-6 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    pm, tm, ko = "pytorch_msssim", "torchmetrics.functional.image", "kornia"
    return Pitfall(
        key="negative_variance",
        title="SSIM > 1 from a negative variance",
        setup="constant 0.99 against 0.99 + 1e-6 n (n standard normal, seeded), float32, L = 1",
        explanation="sigma^2 = E[x^2] - E[x]^2 is a difference of two nearly equal float32 "
        "numbers; it can come out negative, the denominator of cs then falls below its "
        "numerator and SSIM exceeds 1. torchmetrics clamps variances at 0 (and lands below the "
        "float64 value); imgloss computes in float32 from centred data and stays at or below 1.",
        outcomes=_outcomes(
            (
                "pytorch_msssim",
                "ssim(x, y, data_range=1)",
                lambda: _peer(pm).ssim(x, y, data_range=1),
            ),
            (
                "torchmetrics",
                "structural_similarity_index_measure(x, y, data_range=1.0)",
                lambda: _peer(tm).structural_similarity_index_measure(x, y, data_range=1.0),
            ),
            ("kornia", "metrics.ssim(x, y, 11).mean()", lambda: _peer(ko).metrics.ssim(x, y, 11)),
            ("imgloss", "metrics.ssim.ssim(x, y)", lambda: metric.ssim(x, y)),
            (
                "float64",
                "metrics.ssim.ssim(x.double(), y.double())",
                lambda: metric.ssim(x.double(), y.double()),
            ),
        ),
        threads=(_issue("Lightning-AI/torchmetrics", 2327),),
    )


#: The gallery's items, in the book's order.
PITFALLS: tuple[Callable[[], Pitfall], ...] = (
    anti_correlated,
    small_image,
    data_range,
    uint8_input,
    float16,
    negative_variance,
)


def gallery() -> tuple[Pitfall, ...]:
    """Every pitfall, run now on the installed peers."""
    return tuple(make() for make in PITFALLS)
