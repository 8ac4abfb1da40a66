"""Uniform input validation for every loss and index in :mod:`imgloss.losses`.

Every public function calls :func:`check_pair` first, so that bad input fails early with a
message that names the argument and what was expected, instead of producing a silently wrong
number deep inside a convolution.
"""

from __future__ import annotations

import math

import torch

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _autocast_active(t: torch.Tensor) -> bool:
    try:
        return torch.is_autocast_enabled(t.device.type)
    except TypeError:  # torch < 2.4 signature
        return torch.is_autocast_enabled()


def check_pair(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    check_finite: bool = True,
) -> None:
    """Check that ``prediction`` and ``target`` form a valid NCHW pair.

    Raises:
        TypeError: an argument is not a tensor, is not floating point, or the dtypes differ
            (outside ``torch.autocast``, where a low-precision prediction next to a float32
            target is the normal case and both are promoted to float32).
        ValueError: not 4-D (5-D video/volume input included: reshape it to
            ``(N*T, C, H, W)``), shapes differ, devices differ, an empty dimension, or
            non-finite values (skipped while tracing with ``torch.compile``).
    """
    for name, t in (("prediction", prediction), ("target", target)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
        if t.dim() != 4:
            hint = (
                " (5-D video/volume input is not supported: reshape it to (N*T, C, H, W)"
                " so that each frame or slice is scored as an image)"
                if t.dim() == 5
                else ""
            )
            raise ValueError(
                f"{name} must be a 4-D tensor of shape (N, C, H, W), got {t.dim()}-D shape "
                f"{tuple(t.shape)}{hint}"
            )
        if t.numel() == 0:
            raise ValueError(f"{name} must not be empty, got shape {tuple(t.shape)}")
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction and target must have the same shape, got {tuple(prediction.shape)} "
            f"and {tuple(target.shape)}"
        )
    if prediction.device != target.device:
        raise ValueError(
            f"prediction and target must be on the same device, got {prediction.device} "
            f"and {target.device}"
        )
    if prediction.dtype != target.dtype:
        mixed_ok = _autocast_active(prediction) and {prediction.dtype, target.dtype} <= {
            torch.float32,
            *_LOW_PRECISION,
        }
        if not mixed_ok:
            raise TypeError(
                f"prediction and target must have the same dtype, got {prediction.dtype} and "
                f"{target.dtype} (mixed precision is accepted only inside torch.autocast)"
            )
    if check_finite and not torch.compiler.is_compiling():
        for name, t in (("prediction", prediction), ("target", target)):
            # A sum is NaN/Inf if any element is (one cheap reduction); confirm element-wise
            # only then, since a sum of huge finite values can overflow too.
            if not bool(torch.isfinite(t.sum())) and not bool(torch.isfinite(t).all()):
                raise ValueError(f"{name} contains NaN or Inf values")


def check_data_range(data_range: float) -> float:
    """Return ``data_range`` as a float after checking it is a finite positive number."""
    if isinstance(data_range, bool) or not isinstance(data_range, (int, float)):
        raise TypeError(f"data_range must be a positive number, got {data_range!r}")
    value = float(data_range)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"data_range must be a finite positive number, got {data_range!r}")
    return value


def check_positive(name: str, value: float) -> float:
    """Return ``value`` as a float after checking it is a finite positive number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return value


def check_window(window: str) -> str:
    """Return ``window`` after checking it is ``"patch"`` or ``"sliding"``."""
    if window not in ("patch", "sliding"):
        raise ValueError(f"window must be 'patch' or 'sliding', got {window!r}")
    return window


def check_odd_patch(prediction: torch.Tensor) -> None:
    """Patch mode needs a centre pixel: both spatial sizes must be odd."""
    h, w = prediction.shape[-2:]
    if h % 2 == 0 or w % 2 == 0:
        raise ValueError(
            f"window='patch' needs odd patch sizes so that a centre pixel exists (paper eq. 7), "
            f"got H x W = {h} x {w}; crop to an odd size (e.g. 31 x 31) or use window='sliding'"
        )


def to_compute_dtype(
    prediction: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Promote float16/bfloat16 inputs to float32; float32 and float64 are kept.

    SSIM's second moments are differences of nearly equal numbers (E[x^2] - mu^2); in half
    precision they lose most of their digits, so statistics are always computed in at least
    float32.
    """
    dtype = torch.promote_types(prediction.dtype, target.dtype)
    if dtype in _LOW_PRECISION:
        dtype = torch.float32
    return prediction.to(dtype), target.to(dtype)
