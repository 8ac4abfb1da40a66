"""Patch mode equals the paper's equations: values (eqs. 7, 12, 14) and gradients (eqs. 8-10, 13).

The reference is :mod:`imgloss.losses.closed_form`, a plain float64 NumPy transcription of the
paper written independently of the PyTorch code; gradients of the PyTorch losses come from
autograd.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import imgloss.losses as L
from imgloss.losses import closed_form as cf

from ..conftest import REAL_IMAGES, to_tensor


def _patches(seed: int, n=4, c=3, h=31, w=31, real=True):
    """Patches from a real photograph (target) and a noisy, biased version (prediction)."""
    gen = torch.Generator().manual_seed(seed)
    if real:
        img = to_tensor(REAL_IMAGES[0][1], torch.float64)[0]
        tops = torch.randint(0, img.shape[1] - h, (n,), generator=gen)
        lefts = torch.randint(0, img.shape[2] - w, (n,), generator=gen)
        y = torch.stack([img[:c, t : t + h, s : s + w] for t, s in zip(tops, lefts)])
    else:
        y = torch.rand(n, c, h, w, generator=gen, dtype=torch.float64)
    x = (y + 0.1 * torch.randn(y.shape, generator=gen, dtype=torch.float64) + 0.02).clamp(0, 1)
    return x, y


def _grad(loss, x, y):
    x = x.clone().requires_grad_(True)
    loss(x, y).backward()
    return x.grad.numpy()


CASES = [
    (
        "ssim5",
        lambda x, y: cf.ssim_patch_loss(x, y, 5.0),
        lambda x, y: cf.ssim_patch_gradient(x, y, 5.0),
    ),
    (
        "ssim9",
        lambda x, y: cf.ssim_patch_loss(x, y, 9.0),
        lambda x, y: cf.ssim_patch_gradient(x, y, 9.0),
    ),
    ("msssim", cf.msssim_patch_loss, cf.msssim_patch_gradient),
    ("mix", cf.mix_patch_loss, cf.mix_patch_gradient),
]


@pytest.mark.parametrize("name,value_ref,grad_ref", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("real", [True, False], ids=["photo", "random"])
def test_patch_loss_value_and_gradient_equal_the_papers_equations(name, value_ref, grad_ref, real):
    x, y = _patches(1, real=real)
    loss = L.get(name, window="patch")
    assert loss(x, y).item() == pytest.approx(value_ref(x.numpy(), y.numpy()), abs=1e-12)
    np.testing.assert_allclose(
        _grad(loss, x, y), grad_ref(x.numpy(), y.numpy()), rtol=1e-8, atol=1e-14
    )


def test_rectangular_odd_patches_and_other_data_range():
    x, y = _patches(2, n=2, c=1, h=15, w=21)
    loss = L.get("mix", window="patch", data_range=255.0)
    value = loss(x * 255, y * 255).item()
    assert value == pytest.approx(
        cf.mix_patch_loss(x.numpy() * 255, y.numpy() * 255, data_range=255.0), abs=1e-12
    )
    np.testing.assert_allclose(
        _grad(loss, x * 255, y * 255),
        cf.mix_patch_gradient(x.numpy() * 255, y.numpy() * 255, data_range=255.0),
        rtol=1e-8,
        atol=1e-16,
    )


def test_l1_gradient_is_sign_over_n():
    x, y = _patches(3)
    n = x.numel()
    np.testing.assert_allclose(_grad(L.get("l1"), x, y), np.sign((x - y).numpy()) / n)
    np.testing.assert_allclose(_grad(L.get("l2"), x, y), 2 * (x - y).numpy() / n)


def test_patch_ssim_gradient_reaches_every_pixel_with_gaussian_weight():
    """Eq. 9-10: the error at the centre pixel propagates to every q with weight G(q - p~)."""
    x, y = _patches(4, n=1, c=1)
    g = _grad(L.get("ssim5", window="patch"), x, y)[0, 0]
    assert np.count_nonzero(g) == g.size


@pytest.mark.parametrize("name", ["ssim5", "msssim", "mix"])
def test_gradcheck_patch_mode(name):
    x, y = _patches(5, n=2, c=2, h=9, w=11)
    x.requires_grad_(True)
    y.requires_grad_(True)
    loss = (
        L.get(name, window="patch", sigmas=(0.5, 1.0, 2.0))
        if name != "ssim5"
        else L.get(name, window="patch")
    )
    assert torch.autograd.gradcheck(loss, (x, y))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, y: L.ssim(x, y, sigma=1.0),
        lambda x, y: L.ms_ssim(x, y, sigmas=(0.5, 1.0, 2.0)),
        lambda x, y: L.mix_loss(x, y, sigmas=(0.5, 1.0, 2.0)),
        lambda x, y: L.ms_ssim(x, y, variant="pyramid", weights=(0.3, 0.7), win_size=7),
    ],
    ids=["ssim", "msssim-gaussian", "mix", "msssim-pyramid"],
)
def test_gradcheck_sliding_mode(fn):
    x, y = _patches(6, n=1, c=2, h=17, w=19)
    x.requires_grad_(True)
    y.requires_grad_(True)
    assert torch.autograd.gradcheck(fn, (x, y))
