"""Charbonnier and the PSNR loss (issue 34, item 1): values and gradients against closed forms
in float64, the PSNR loss against scikit-image's PSNR, and the options and inputs validated as
for the paper's losses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from imgloss import losses
from imgloss.losses import DataRangeWarning


def _pair(shape=(2, 3, 9, 11), seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.rand(shape, generator=g, dtype=torch.float64)
    x = (y + 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return x.requires_grad_(True), y


def test_charbonnier_value_and_gradient_are_the_closed_form():
    x, y = _pair()
    eps = 1e-3
    loss = losses.charbonnier_loss(x, y, eps=eps)
    e = (x - y).detach().numpy()
    assert loss.item() == pytest.approx(np.sqrt(e**2 + eps**2).mean(), rel=1e-12)
    loss.backward()
    expected = e / np.sqrt(e**2 + eps**2) / e.size
    assert np.allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-15)
    # far from eps it is l1; per image and channel with reduction="none"
    assert losses.charbonnier_loss(x, y, eps=1e-9).item() == pytest.approx(
        losses.l1_loss(x, y).item(), abs=1e-8
    )
    assert losses.charbonnier_loss(x, y, reduction="none").shape == (2, 3)


def test_psnr_loss_is_minus_scikit_images_psnr_per_image():
    x, y = _pair()
    per_image = losses.psnr_loss(x, y, reduction="none", eps=1e-30)
    for b in range(2):
        ref = peak_signal_noise_ratio(y[b].numpy(), x[b].detach().numpy(), data_range=1.0)
        assert per_image[b].item() == pytest.approx(-ref, rel=1e-10)
    assert losses.psnr_loss(x * 255, y * 255, data_range=255.0).item() == pytest.approx(
        losses.psnr_loss(x, y).item(), rel=1e-10
    )
    perfect = losses.psnr_loss(y, y)
    assert perfect.item() == pytest.approx(10 * math.log10(losses.modern.PSNR_EPS))


def test_psnr_loss_gradient_is_l2s_over_each_images_error():
    x, y = _pair()
    eps = 1e-8
    losses.psnr_loss(x, y, eps=eps).backward()
    e = (x - y).detach().numpy()
    n = e[0].size
    mse = (e**2).reshape(2, -1).mean(axis=1)
    expected = (20 / math.log(10)) * e / (n * (mse + eps))[:, None, None, None] / 2  # batch mean
    assert np.allclose(x.grad.numpy(), expected, rtol=1e-9, atol=1e-14)
    assert torch.autograd.gradcheck(lambda a: losses.psnr_loss(a, y), (x,))
    assert torch.autograd.gradcheck(lambda a: losses.charbonnier_loss(a, y), (x,))


@pytest.mark.parametrize("name", ["charbonnier", "psnr"])
def test_registry_modules_validate_like_the_papers_losses(name):
    x, y = _pair()
    fn = losses.get(name, window="patch")
    functional = {"charbonnier": losses.charbonnier_loss, "psnr": losses.psnr_loss}[name]
    assert fn(x, y).item() == pytest.approx(functional(x, y).item())
    assert losses.get(name.upper(), eps=0.5)(x, y).item() == pytest.approx(
        functional(x, y, eps=0.5).item()
    )
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="eps"):
            losses.get(name, eps=bad)
    with pytest.raises(TypeError, match="unknown option"):
        losses.get(name, alpha=0.5)
    with pytest.raises(ValueError, match="window"):
        losses.get(name, window="tiles")
    with pytest.raises(ValueError, match="NaN|finite"):
        fn(torch.full_like(y, math.nan), y)
    with pytest.warns(DataRangeWarning):
        fn(y * 255, y * 255)
