"""Gaussian windows and fast separable "valid" Gaussian filtering.

Conventions (shared with scikit-image, pytorch-msssim and Wang et al.'s MATLAB code):

* sliding window: a 1-D Gaussian ``g(i) = exp(-i^2 / (2 sigma^2))`` for integer
  ``|i| <= r`` with ``r = int(truncate * sigma + 0.5)`` and ``truncate = 3.5`` (scikit-image's
  rule; sigma = 1.5 gives the classic 11-tap window), normalised to sum 1; the 2-D window is
  the outer product ``g g^T``. Filtering is "valid": no padding, so an ``H x W`` input gives an
  ``(H - 2r) x (W - 2r)`` map and no border value is invented.
* patch window (paper eq. 7): one Gaussian spanning the whole odd-sized patch, centred on its
  centre pixel, normalised to sum 1 over the patch (as in the authors' Caffe layers).

Speed: the five SSIM moments are filtered together as one depthwise convolution in
channels-last layout, one pass per axis; on a CPU this layout is several times faster than
NCHW depthwise convolution (see ``benchmarks/``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

TRUNCATE = 3.5
_CACHE_SIZE = 128


def _cached_constant(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """Memoise a function that builds a constant tensor (a window) from hashable arguments.

    Windows are rebuilt on every loss call otherwise: for the patch-mode Mix loss that was half of
    its CPU time, and on a GPU a host-to-device copy per call. While ``torch.compile`` traces, the
    function runs uncached so that no traced (fake) tensor is ever stored.
    """
    cache: dict = {}

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if torch.compiler.is_compiling():
            return fn(*args, **kwargs)
        key = (args, tuple(sorted(kwargs.items())))
        if key not in cache:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[key] = fn(*args, **kwargs)
        return cache[key]

    return wrapper


def gaussian_radius(sigma: float, truncate: float = TRUNCATE) -> int:
    """Radius ``r`` of the truncated sliding window, ``int(truncate * sigma + 0.5)``."""
    return int(truncate * sigma + 0.5)


@_cached_constant
def gaussian_1d(
    sigma: float,
    radius: int,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Normalised 1-D Gaussian of standard deviation ``sigma`` on ``-radius..radius``."""
    i = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-(i**2) / (2.0 * sigma**2))
    return (g / g.sum()).to(dtype=dtype, device=device)


@_cached_constant
def patch_weights(
    sigmas: tuple[float, ...],
    height: int,
    width: int,
    *,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """Patch-mode Gaussian weights, one row per sigma: shape ``(len(sigmas), H * W)``.

    Row ``s`` is ``G_sigma_s(q - p~)`` of paper eqs. 9-10 for every pixel ``q`` of an odd
    ``H x W`` patch with centre ``p~``, normalised so that it sums to one over the patch.
    """
    rows = []
    for sigma in sigmas:
        gh = gaussian_1d(sigma, height // 2)
        gw = gaussian_1d(sigma, width // 2)
        w2 = torch.outer(gh, gw)
        rows.append((w2 / w2.sum()).reshape(-1))
    return torch.stack(rows).to(dtype=dtype, device=device)


@_cached_constant
def valid_mean_weights(
    sigma: float,
    radius: int,
    size: int,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``(size,)`` weights ``a`` with ``mean_p (g * v)(p) = sum_q a(q) v(q)`` along one axis.

    For the ``size - 2 radius`` valid outputs ``p`` of a 1-D filter ``g`` (:func:`gaussian_1d`),
    ``a(q) = sum_p g(q - p) / (size - 2 radius)``: the adjoint ("full") filtering of a constant.
    The mean of a separably filtered image over its valid region is then ``a^T V b``, one pass
    over the image instead of a filtering (Mix's sliding l1 term).
    """
    g = gaussian_1d(sigma, radius)
    outputs = size - 2 * radius
    if outputs < 1:
        raise ValueError(f"a {2 * radius + 1}-tap window does not fit in {size} pixels")
    a = F.conv1d(
        torch.ones(1, 1, outputs, dtype=torch.float64), g.view(1, 1, -1), padding=2 * radius
    )
    return (a.reshape(-1) / outputs).to(dtype=dtype, device=device)


def filter_valid(stack: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable "valid" filtering of every channel of ``stack`` with ``kernel x kernel^T``.

    Args:
        stack: ``(N, K, H, W)``, any memory format (channels-last is fastest on CPU).
        kernel: ``(k,)`` 1-D kernel, ``k`` odd.

    Returns:
        ``(N, K, H - k + 1, W - k + 1)``.
    """
    k = kernel.numel()
    channels = stack.shape[1]
    kern = kernel.to(stack.dtype)
    out = F.conv2d(stack, kern.view(1, 1, 1, k).expand(channels, 1, 1, k), groups=channels)
    return F.conv2d(out, kern.view(1, 1, k, 1).expand(channels, 1, k, 1), groups=channels)


def filter_full(stack: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Adjoint of :func:`filter_valid` for a symmetric kernel ("full" correlation).

    ``sum_p G(p - q) f(p)``: maps ``(N, K, h, w)`` to ``(N, K, h + k - 1, w + k - 1)``. This is
    the Gaussian sum that appears in the gradients of paper eqs. 9-10 when SSIM is evaluated at
    every pixel instead of the centre pixel only.
    """
    k = kernel.numel()
    channels = stack.shape[1]
    kern = kernel.to(stack.dtype)
    out = F.conv2d(
        stack, kern.view(1, 1, 1, k).expand(channels, 1, 1, k), padding=(0, k - 1), groups=channels
    )
    return F.conv2d(
        out, kern.view(1, 1, k, 1).expand(channels, 1, k, 1), padding=(k - 1, 0), groups=channels
    )
