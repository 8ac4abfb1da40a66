"""Why the patch statistics must not use TF32, checked on the CPU by emulating it.

On an H200 every MS-SSIM/Mix training run diverged while the trainer had TF32 switched on
(``benchmarks/results/paper-h200-tf32-bug/``). Rounding the matmul inputs to TF32's 10-bit
mantissa on the CPU reproduces the damage; the patch losses route their moments through
``exact_matmul``, which keeps IEEE float32 on CUDA whatever the global setting.
"""

from __future__ import annotations

import torch

import imgloss.functional.stats as S
import imgloss.losses as L


def _tf32(t: torch.Tensor) -> torch.Tensor:
    """Round float32 values to TF32 (10 explicit mantissa bits, round to nearest)."""
    i = t.contiguous().view(torch.int32)
    return ((i + 0x1000) & ~0x1FFF).view(torch.float32)


def _pair():
    gen = torch.Generator().manual_seed(0)
    y = torch.rand(16, 3, 15, 15, generator=gen)
    x = (y + 0.05 * torch.randn(y.shape, generator=gen)).clamp(0, 1)
    return x, y


def test_patch_moments_go_through_exact_matmul(monkeypatch):
    calls = []
    real = S.exact_matmul

    def counting(a, b):
        calls.append(a.shape)
        return real(a, b)

    monkeypatch.setattr(S, "exact_matmul", counting)
    x, y = _pair()
    for name in ("ssim5", "msssim", "mix"):
        L.get(name, window="patch")(x, y)
    assert len(calls) >= 3


def test_tf32_rounding_of_the_moments_ruins_ms_ssim(monkeypatch):
    x, y = _pair()
    loss = L.get("msssim", window="patch")
    exact = loss(x.double(), y.double()).item()
    assert abs(loss(x, y).item() - exact) < 1e-5  # IEEE float32 is fine
    monkeypatch.setattr(S, "exact_matmul", lambda a, b: _tf32(a) @ _tf32(b))
    assert abs(loss(x, y).item() - exact) > 1e-4  # TF32 is not
