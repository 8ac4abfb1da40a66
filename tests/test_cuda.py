"""GPU behaviour (skipped without CUDA): same values as the CPU, float16 autocast, compile."""

from __future__ import annotations

import pytest
import torch

import imgloss.losses as L

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

CASES = [(n, {"window": "patch"}, 31) for n in L.PAPER_LOSSES] + [
    ("ssim5", {"window": "sliding"}, 96),
    ("mix", {"window": "sliding"}, 96),
    ("msssim", {"window": "sliding", "variant": "pyramid"}, 192),
]
IDS = [f"{n}-{o['window']}{o.get('variant', '')}" for n, o, _ in CASES]


def _pair(size, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.rand(4, 3, size, size, generator=gen, dtype=torch.float64)
    x = (y + 0.1 * torch.randn(y.shape, generator=gen, dtype=torch.float64)).clamp(0, 1)
    return x, y


@pytest.mark.parametrize("name,options,size", CASES, ids=IDS)
def test_cuda_float32_matches_cpu_float64_values_and_gradients(name, options, size):
    x, y = _pair(size)
    loss = L.get(name, **options)
    xc = x.clone().requires_grad_(True)
    ref = loss(xc, y)
    ref.backward()
    xg = x.float().cuda().requires_grad_(True)
    value = loss(xg, y.float().cuda())
    value.backward()
    assert abs(value.item() - ref.item()) < 1e-5
    assert ((xg.grad.double().cpu() - xc.grad).norm() / xc.grad.norm()).item() < 1e-4


@pytest.mark.parametrize("name,options,size", CASES, ids=IDS)
def test_autocast_float16_on_gpu_matches_float32(name, options, size):
    x, y = (t.float().cuda() for t in _pair(size))
    loss = L.get(name, **options)
    ref = loss(x, y)
    with torch.autocast("cuda", dtype=torch.float16):
        inside = loss(x, y)
        mixed = loss(x.half(), y)
    assert inside.dtype == torch.float32
    assert abs(inside.item() - ref.item()) < 1e-5
    assert abs(mixed.item() - ref.item()) < 1e-3


@pytest.mark.parametrize("name,options,size", CASES, ids=IDS)
def test_torch_compile_on_gpu(name, options, size):
    torch._dynamo.reset()
    x, y = (t.float().cuda() for t in _pair(size, seed=1))
    loss = L.get(name, **options)
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    eager = loss(xa, y)
    eager.backward()
    value = torch.compile(loss)(xb, y)
    value.backward()
    assert abs(value.item() - eager.item()) < 1e-5
    assert ((xb.grad - xa.grad).norm() / xa.grad.norm()).item() < 1e-3


@pytest.mark.parametrize("name", ["msssim", "mix", "ssim5"])
def test_patch_losses_ignore_a_global_tf32_setting(name):
    # Training scripts often call torch.set_float32_matmul_precision("high"); TF32 would ruin the
    # patch statistics (the variances are differences of nearly equal moments).
    x, y = _pair(31)
    loss = L.get(name, window="patch")
    ref = loss(x.requires_grad_(), y)
    (ref_grad,) = torch.autograd.grad(ref, x)
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")
    try:
        xc = x.detach().float().cuda().requires_grad_()
        value = loss(xc, y.float().cuda())
        (grad,) = torch.autograd.grad(value, xc)
        assert torch.get_float32_matmul_precision() == "high"  # restored after the loss
    finally:
        torch.set_float32_matmul_precision(before)
    assert abs(value.item() - ref.item()) < 1e-5
    torch.testing.assert_close(grad.double().cpu(), ref_grad, rtol=1e-3, atol=1e-7)
