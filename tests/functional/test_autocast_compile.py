"""Mixed precision and torch.compile."""

from __future__ import annotations

import pytest
import torch

import imgloss.losses as L

CASES = [(n, {"window": "patch"}, 31) for n in L.PAPER_LOSSES] + [
    ("ssim5", {"window": "sliding"}, 64),
    ("mix", {"window": "sliding"}, 64),
    ("msssim", {"window": "sliding", "variant": "pyramid"}, 176),
]
IDS = [f"{n}-{o['window']}{o.get('variant', '')}" for n, o, _ in CASES]


def _pair(size, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.rand(2, 3, size, size, generator=gen)
    x = (y + 0.1 * torch.randn(y.shape, generator=gen)).clamp(0, 1)
    return x, y


@pytest.mark.parametrize("name,options,size", CASES, ids=IDS)
def test_autocast_bfloat16_keeps_statistics_in_float32(name, options, size):
    x, y = _pair(size)
    loss = L.get(name, **options)
    ref = loss(x, y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = loss(x, y)  # float32 inputs: must not be downcast by autocast'ed convolutions
        mixed = loss(x.bfloat16(), y)  # a bf16 network output next to a float32 target
    assert inside.dtype == torch.float32
    assert abs(inside.item() - ref.item()) < 1e-6
    assert abs(mixed.item() - ref.item()) < 1e-3


def test_half_precision_inputs_are_promoted_outside_autocast():
    x, y = _pair(64)
    value = L.ssim(x.bfloat16(), y.bfloat16())
    assert value.dtype == torch.float32
    assert abs(value.item() - L.ssim(x.bfloat16().float(), y.bfloat16().float()).item()) < 1e-7


@pytest.mark.parametrize("name,options,size", CASES, ids=IDS)
def test_torch_compile(name, options, size):
    torch._dynamo.reset()
    x, y = _pair(size, seed=1)
    loss = L.get(name, **options)
    compiled = torch.compile(loss)
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    eager = loss(xa, y)
    eager.backward()
    value = compiled(xb, y)
    value.backward()
    assert abs(value.item() - eager.item()) < 1e-5  # float32 re-association by inductor
    assert ((xb.grad - xa.grad).norm() / xa.grad.norm()).item() < 1e-3
