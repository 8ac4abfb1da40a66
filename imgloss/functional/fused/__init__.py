"""Fused GPU paths of the SSIM-family losses (Triton), and when they are used.

The eager code of :mod:`imgloss.functional` stays the reference and the CPU path. The fused path
computes the statistics, the maps and their means in one kernel launch per direction
(:mod:`imgloss.functional.fused.sliding_kernels`, :mod:`imgloss.functional.fused.patch_kernels`):

* sliding SSIM and each scale of the pyramid MS-SSIM (:func:`sliding_means` with one window:
  the means of the SSIM and cs maps);
* the paper's Gaussian MS-SSIM, and with it Mix's MS-SSIM term, in sliding mode
  (:func:`sliding_means` with the five windows);
* the patch-mode SSIM, MS-SSIM and Mix (:func:`patch_values`: the centre pixel's value and
  Mix's weighted l1 term).

When: the fused path is opt-in until the kernels have been compiled and measured on a GPU
(issue 35, item 3; so far they are tested only through Triton's interpreter). The environment
variable ``IMGLOSS_FUSED`` chooses (read at every call):

* ``off`` (default): always the eager path;
* ``auto``: :func:`use_fused` is true for float32 CUDA tensors when Triton imports, outside
  ``torch.compile`` tracing;
* ``force``: as ``auto``, and also on CPU tensors when the kernels run in Triton's interpreter
  (the tests: ``TRITON_INTERPRET=1`` must be set before :mod:`imgloss.functional.fused.functions`
  is first imported, because Triton 3.x reads it when ``@triton.jit`` decorates a kernel).

The fused backward adds overlapping tiles' shares with atomics, so its gradients may differ
between runs in the last bits (as cuDNN's), and it refuses second derivatives as the eager
closed-form backward does.
"""

from __future__ import annotations

import functools
import os
import types

import torch

#: The environment variable that chooses the path (``off``, the default; ``auto``; ``force``).
MODE_ENV = "IMGLOSS_FUSED"
MODES = ("auto", "off", "force")


def mode() -> str:
    """The value of ``IMGLOSS_FUSED`` (``off`` when unset); a bad value is a ``ValueError``."""
    value = os.environ.get(MODE_ENV, "off").strip().lower() or "off"
    if value not in MODES:
        raise ValueError(f"{MODE_ENV} must be one of {', '.join(MODES)}; got {value!r}")
    return value


@functools.cache
def kernels() -> types.ModuleType | None:
    """:mod:`imgloss.functional.fused.ops`, or None where Triton does not import."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return None
    from . import ops as module

    return module


def interpreted() -> bool:
    """Whether the kernels were built for Triton's interpreter (they then run on CPU tensors)."""
    module = kernels()
    if module is None:
        return False
    from triton.runtime.interpreter import InterpretedFunction

    return isinstance(module.sliding_kernels.sliding_forward, InterpretedFunction)


def use_fused(x: torch.Tensor) -> bool:
    """Whether the losses take the fused path for the (float32 compute) tensor ``x``."""
    chosen = mode()
    if chosen == "off" or x.dtype != torch.float32 or torch.compiler.is_compiling():
        return False
    if x.device.type == "cuda":
        return kernels() is not None
    return x.device.type == "cpu" and chosen == "force" and interpreted()


def sliding_means(
    x: torch.Tensor,
    y: torch.Tensor,
    windows: tuple[tuple[float, int], ...],
    top: int,
    c1: float,
    c2: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Means over the valid region of the largest window of ``l_top prod_i cs_i`` and of
    ``prod_i cs_i``, each ``(N, C)``; ``windows``: ``(sigma, radius)`` per Gaussian, ``top``:
    the index of the window whose luminance is used. Call only where :func:`use_fused`."""
    module = kernels()
    assert module is not None
    return module.SlidingMeans.apply(x, y, tuple(windows), top, c1, c2)


def patch_values(
    x: torch.Tensor, y: torch.Tensor, sigmas: tuple[float, ...], top: int, c1: float, c2: float
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(l_top prod_i cs_i, sum_q w_top(q) |x(q) - y(q)|)`` at the centre of odd patches,
    each ``(N, C)``; None for patches too large for one program (the caller goes eager)."""
    module = kernels()
    assert module is not None
    if x.shape[-2] * x.shape[-1] > module.MAX_PATCH_PIXELS:
        return None
    return module.PatchValues.apply(x, y, tuple(sigmas), top, c1, c2)
