"""Second derivatives are right or refused (issue 31, item 4): the patch-mode losses pass
``torch.autograd.gradgradcheck`` in float64 against finite differences; the sliding losses,
whose first derivative is hand-written, refuse ``create_graph=True`` with a message naming the
alternatives, while ``ssim_map(...).mean()`` differentiates twice."""

from __future__ import annotations

import pytest
import torch

from imgloss import losses
from imgloss.functional.stats import SECOND_ORDER_MESSAGE


def _pair(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.rand(shape, generator=g, dtype=torch.float64) * 0.8 + 0.1
    x = (y + 0.05 * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0.02, 0.98)
    return x.requires_grad_(True), y


@pytest.mark.parametrize("name", ["ssim5", "msssim", "mix"])
def test_patch_mode_is_exact_to_second_order(name):
    fn = losses.get(name, window="patch")
    x, y = _pair((1, 1, 7, 7))
    assert torch.autograd.gradgradcheck(lambda a: fn(a, y), (x,))


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("ssim5", {}),
        ("msssim", {}),
        ("msssim", {"variant": "pyramid", "weights": (0.3, 0.3, 0.4)}),
        ("mix", {}),
    ],
)
def test_sliding_losses_refuse_second_derivatives_with_the_way_out(name, options):
    fn = losses.get(name, **options)
    x, y = _pair((1, 3, 64, 64))
    fn(x, y).backward()  # first order: unchanged
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(RuntimeError, match="second derivatives") as err:
        torch.autograd.grad(fn(x, y), x, create_graph=True)
    assert str(err.value) == SECOND_ORDER_MESSAGE
    assert "window='patch'" in SECOND_ORDER_MESSAGE and "ssim_map" in SECOND_ORDER_MESSAGE


def test_the_suggested_sliding_ssim_is_exact_to_second_order():
    x, y = _pair((1, 1, 13, 13))
    assert torch.autograd.gradgradcheck(lambda a: losses.ssim_map(a, y, sigma=1.5).mean(), (x,))
    # and it is the sliding SSIM's value
    assert losses.ssim_map(x, y, sigma=1.5).mean().item() == pytest.approx(
        losses.ssim(x, y, sigma=1.5).item(), rel=1e-9
    )
