"""The one tester every loss and measure passes through (after kornia's ``testing/base.py``).

A :class:`Subject` names a loss or measure, how to call it, the input it is tested on and an
independent reference for its value (scikit-image, pytorch-msssim, or the paper's closed forms
in :mod:`imgloss.losses.closed_form`, plain NumPy). The checks:

* :func:`check_value`: the value on the subject's input equals the reference's;
* :func:`check_function_equals_module`: a loss's function and its module (built by the
  registry, options validated once) give the same value and the same gradient;
* :func:`check_gradcheck`: the gradient equals finite differences (``torch.autograd.gradcheck``
  in float64, on a small input);
* :func:`check_dtypes`: float32 agrees with float64, and half-precision inputs give the float32
  value of the rounded input: the SSIM family computes in float32 (never a float16 statistic),
  a per-pixel mean may return the input's dtype, rounded once at the end;
* :func:`check_device`: a CUDA tensor gives the CPU value (skipped without a GPU).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

Fn = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class Subject:
    """A loss or measure under test.

    ``fn(prediction, target)`` returns a scalar or per-image/per-channel values (reduced by their
    mean for the checks); ``reference(prediction, target)`` the same quantity from an independent
    implementation, as a float, from float64 NumPy arrays ``(N, C, H, W)``; ``shape`` is the
    input the value is checked on and ``small`` the one gradcheck uses. A loss also names its
    ``registry`` entry and ``options`` so its module form is checked against ``fn``.
    """

    name: str
    fn: Fn
    reference: Callable[[np.ndarray, np.ndarray], float]
    shape: tuple[int, int, int, int]
    small: tuple[int, int, int, int] | None = None
    registry: str | None = None
    options: dict = field(default_factory=dict)
    tol: float = 1e-6

    def __str__(self) -> str:
        return self.name


def pair(shape: tuple[int, ...], dtype: torch.dtype = torch.float64, seed: int = 0):
    """A smooth random target in [0, 1] and a noisy prediction of it, clipped: ``(N, C, H, W)``."""
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(shape, generator=g, dtype=torch.float64)
    target = torch.nn.functional.avg_pool2d(target, 3, stride=1, padding=1)  # some structure
    noise = 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)
    prediction = (target + noise).clamp(0.02, 0.98)
    return prediction.to(dtype), target.to(dtype)


def _scalar(values: torch.Tensor) -> torch.Tensor:
    return values.float().mean() if values.dtype != torch.float64 else values.mean()


def check_value(s: Subject) -> None:
    x, y = pair(s.shape)
    ours = float(_scalar(s.fn(x, y)))
    ref = s.reference(x.numpy(), y.numpy())
    assert ours == pytest.approx(ref, abs=s.tol, rel=s.tol), (s.name, ours, ref)


def check_function_equals_module(s: Subject) -> None:
    import imgloss.losses as L

    assert s.registry is not None
    module = L.get(s.registry, **s.options)
    x, y = pair(s.small or s.shape)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    by_function, by_module = s.fn(x1, y), module(x2, y)
    assert torch.equal(by_function, by_module), s.name
    by_function.backward()
    by_module.backward()
    assert torch.equal(x1.grad, x2.grad), s.name


def check_gradcheck(s: Subject) -> None:
    x, y = pair(s.small or s.shape)
    x.requires_grad_()
    assert torch.autograd.gradcheck(lambda p: _scalar(s.fn(p, y)), (x,), eps=1e-6, atol=1e-6)


def check_dtypes(s: Subject) -> None:
    x, y = pair(s.shape)
    in64 = float(_scalar(s.fn(x, y)))
    in32 = float(_scalar(s.fn(x.float(), y.float())))
    assert in32 == pytest.approx(in64, abs=1e-5, rel=1e-5), (s.name, in32, in64)
    for half in (torch.float16, torch.bfloat16):
        xh, yh = x.to(half), y.to(half)
        got = s.fn(xh, yh)
        assert got.dtype in (torch.float32, half), (s.name, half, got.dtype)
        expected = float(_scalar(s.fn(xh.float(), yh.float())))
        rel = torch.finfo(half).eps if got.dtype == half else 1e-5  # one final rounding
        assert float(_scalar(got)) == pytest.approx(expected, abs=1e-6, rel=rel), (s.name, half)


def check_device(s: Subject) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x, y = pair(s.shape, torch.float32)
    on_cpu = float(_scalar(s.fn(x, y)))
    on_gpu = float(_scalar(s.fn(x.cuda(), y.cuda())))
    assert on_gpu == pytest.approx(on_cpu, abs=1e-5, rel=1e-5), s.name
