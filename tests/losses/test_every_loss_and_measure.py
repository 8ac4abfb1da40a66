"""Every loss and measure through the one tester (:mod:`tests.tester`).

Each :class:`~tests.tester.Subject` brings an independent reference: scikit-image, pytorch-msssim,
or the paper's closed forms (:mod:`imgloss.losses.closed_form`, plain NumPy, eqs. 7, 12, 14).
A new loss or measure is tested by adding it here.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

import imgloss.losses as L
from imgloss.losses import closed_form as cf
from imgloss.metrics import pixel
from imgloss.metrics import ssim as metric_ssim

from .. import tester
from ..tester import Subject


def _skimage_ssim(x: np.ndarray, y: np.ndarray, sigma: float = 1.5) -> float:
    """Mean over images and channels of scikit-image's Gaussian SSIM (population covariance)."""
    values = [
        structural_similarity(
            a,
            b,
            gaussian_weights=True,
            sigma=sigma,
            data_range=1.0,
            use_sample_covariance=False,
            truncate=3.5,
        )
        for xi, yi in zip(x, y, strict=True)
        for a, b in zip(xi, yi, strict=True)
    ]
    return float(np.mean(values))


def _block_mean(x: np.ndarray, f: int) -> np.ndarray:
    """``ssim.m``'s downsampling where ``f`` divides the sides: ``imfilter(ones(f) / f^2)`` then
    ``(1:f:end, 1:f:end)`` is the mean of each ``f x f`` block (no border is reached)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // f, f, w // f, f).mean(axis=(3, 5))


def _pytorch_msssim(x: np.ndarray, y: np.ndarray) -> float:
    pm = pytest.importorskip("pytorch_msssim")
    import torch

    return float(pm.ms_ssim(torch.from_numpy(x), torch.from_numpy(y), data_range=1.0))


def _psnr(x: np.ndarray, y: np.ndarray) -> float:
    """Mean over images of scikit-image's PSNR."""
    return float(np.mean([peak_signal_noise_ratio(b, a, data_range=1.0) for a, b in zip(x, y)]))


LOSSES = [
    Subject(
        "l1",
        L.l1_loss,
        lambda x, y: float(np.abs(x - y).mean()),
        (2, 3, 16, 16),
        (1, 2, 5, 5),
        "l1",
    ),
    Subject("l2", L.l2_loss, mean_squared_error, (2, 3, 16, 16), (1, 2, 5, 5), "l2"),
    Subject(
        "charbonnier",
        L.charbonnier_loss,
        lambda x, y: float(np.sqrt((x - y) ** 2 + 1e-6).mean()),
        (2, 3, 16, 16),
        (1, 2, 5, 5),
        "charbonnier",
    ),
    Subject(
        "psnr loss",
        L.psnr_loss,
        lambda x, y: -_psnr(x, y) + 0.0,
        (2, 3, 16, 16),
        (1, 2, 5, 5),
        "psnr",
        tol=1e-4,
    ),
    Subject(
        "ssim5 patch",
        lambda x, y: L.ssim_loss(x, y, sigma=5, window="patch"),
        lambda x, y: cf.ssim_patch_loss(x, y, 5.0),
        (4, 3, 31, 31),
        (2, 1, 9, 9),
        "ssim5",
        {"window": "patch"},
    ),
    Subject(
        "ssim1.5 sliding",
        L.ssim_loss,
        lambda x, y: 1 - _skimage_ssim(x, y),
        (2, 3, 40, 40),
        (1, 1, 13, 13),
        "ssim1.5",
        tol=1e-5,
    ),
    Subject(
        "msssim patch",
        lambda x, y: L.ms_ssim_loss(x, y, window="patch"),
        lambda x, y: cf.msssim_patch_loss(x, y),
        (4, 3, 31, 31),
        (2, 1, 9, 9),
        "msssim",
        {"window": "patch"},
    ),
    Subject(
        "msssim pyramid",
        lambda x, y: L.ms_ssim_loss(x, y, variant="pyramid"),
        lambda x, y: 1 - _pytorch_msssim(x, y),
        (1, 3, 176, 176),
        None,
        "msssim",
        {"variant": "pyramid"},
        tol=1e-5,
    ),
    Subject(
        "mix patch",
        lambda x, y: L.mix_loss(x, y, window="patch"),
        lambda x, y: cf.mix_patch_loss(x, y),
        (4, 3, 31, 31),
        (2, 1, 9, 9),
        "mix",
        {"window": "patch"},
    ),
]

MEASURES = [
    Subject("ssim", lambda x, y: L.ssim(x, y), _skimage_ssim, (2, 3, 40, 40), tol=1e-5),
    Subject(
        "metrics.ssim",
        lambda x, y: metric_ssim.ssim(x, y, downsample=False),
        _skimage_ssim,
        (2, 3, 40, 40),
        tol=1e-5,
    ),
    Subject(
        "metrics.ssim_matlab",
        metric_ssim.ssim_matlab,
        lambda x, y: _skimage_ssim(_block_mean(x, 2), _block_mean(y, 2)),
        (1, 3, 512, 520),  # ssim.m's f = round(512 / 256) = 2
        tol=1e-5,
    ),
    Subject("metrics.ms_ssim", metric_ssim.ms_ssim, _pytorch_msssim, (1, 3, 176, 176), tol=1e-5),
    Subject("metrics.psnr", pixel.psnr, _psnr, (2, 3, 16, 16), tol=1e-5),
    Subject("metrics.mse", pixel.mse, mean_squared_error, (2, 3, 16, 16)),
    Subject("metrics.mae", pixel.mae, lambda x, y: float(np.abs(x - y).mean()), (2, 3, 16, 16)),
]

EVERY = LOSSES + MEASURES


@pytest.mark.parametrize("subject", EVERY, ids=str)
def test_value_equals_the_independent_reference(subject):
    tester.check_value(subject)


@pytest.mark.parametrize("subject", LOSSES, ids=str)
def test_function_equals_module(subject):
    tester.check_function_equals_module(subject)


@pytest.mark.parametrize("subject", [s for s in LOSSES if s.small], ids=str)
def test_gradient_equals_finite_differences(subject):
    tester.check_gradcheck(subject)


@pytest.mark.parametrize("subject", EVERY, ids=str)
def test_float32_and_half_inputs_agree_with_float64(subject):
    tester.check_dtypes(subject)


@pytest.mark.parametrize("subject", EVERY, ids=str)
def test_cuda_gives_the_cpu_value(subject):
    tester.check_device(subject)


def test_every_registry_loss_is_a_subject():
    """A loss added to the registry without a subject here fails this test."""
    covered = {s.registry for s in LOSSES} - {None}
    named = {n for n in L.available() if n != "ssimK"} | {"ssim5", "ssim1.5"}
    assert named <= covered, named - covered
