"""Uniform input validation for every loss and index in :mod:`imgloss.losses` and the metrics.

Every public function calls :func:`check_pair` first, so that bad input fails early with a
message that names the argument and what was expected, instead of producing a silently wrong
number deep inside a convolution. Every option has exactly one checker here (``check_sigma``,
``check_sigmas``, ``check_weights``, ``check_win_size``, ``check_alpha``, ``check_k``,
``check_data_range``, ``check_window``, ``check_variant``, ``check_reduction``, ``check_bool``),
used both by the functional API (at every call) and by the module API (in the constructor, so a
bad option fails where it is given, not at the first forward call).

Values outside ``data_range`` (see ``check_values``): when the value check runs (the default
``check_finite=True``; never under ``torch.compile`` and never with ``check_finite=False``, the
trainer's fast path, so it adds no device synchronisation there), a :class:`DataRangeWarning`
is issued if an input has values above ``1.5 * data_range`` or below ``-0.5 * data_range``. The
band is generous on purpose: network outputs slightly outside ``[0, 1]`` are normal during
training; the typical catch is a 0-255 image scored with the default ``data_range=1``. It is a
warning, not an error, because such values can be legitimate (an unclipped prediction early in
training); turn it into an error with
``warnings.filterwarnings("error", category=imgloss.losses.DataRangeWarning)``.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
import os
import sys
import types
import warnings
from collections.abc import Iterable, Iterator

import torch

_LOW_PRECISION = (torch.float16, torch.bfloat16)

REDUCTIONS = ("mean", "sum", "none")
WINDOWS = ("patch", "sliding")
VARIANTS = ("gaussian", "pyramid")

#: Inputs above ``RANGE_HIGH * data_range`` or below ``RANGE_LOW * data_range`` are flagged.
RANGE_HIGH = 1.5
RANGE_LOW = -0.5


class DataRangeWarning(UserWarning):
    """An input has values far outside ``[0, data_range]`` (e.g. a 0-255 image,
    ``data_range=1``)."""


def _autocast_active(t: torch.Tensor) -> bool:
    try:
        return torch.is_autocast_enabled(t.device.type)
    except TypeError:  # torch < 2.4 signature
        return torch.is_autocast_enabled()


# --------------------------------------------------------------------------------------
# Options: one checker per option.
# --------------------------------------------------------------------------------------


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive(name: str, value: float) -> float:
    """Return ``value`` as a float after checking it is a finite positive number."""
    if not _is_real(value):
        raise TypeError(f"{name} must be a finite positive number, got {value!r}")
    out = float(value)
    if not (math.isfinite(out) and out > 0):
        raise ValueError(f"{name} must be a finite positive number, got {name}={value!r}")
    return out


def check_data_range(data_range: float) -> float:
    """``data_range`` (``L``, the value of white) as a float: a finite positive number."""
    return check_positive("data_range", data_range)


def check_sigma(sigma: float, name: str = "sigma") -> float:
    """A Gaussian standard deviation: a finite positive number (any window mode)."""
    return check_positive(name, sigma)


def check_k(name: str, value: float) -> float:
    """SSIM's ``k1`` or ``k2``: a finite positive number (``k1 < k2`` is not required)."""
    return check_positive(name, value)


def _sequence(name: str, values: object, expected: str) -> tuple:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be {expected}, got {values!r}")
    out = tuple(values)
    if not out:
        raise ValueError(f"{name} must not be empty, got {name}={values!r}; expected {expected}")
    for v in out:
        if not _is_real(v):
            raise TypeError(f"{name} must be {expected}, got {v!r} in {name}={values!r}")
    return out


def check_sigmas(sigmas: Iterable[float], name: str = "sigmas") -> tuple[float, ...]:
    """A non-empty sequence of finite positive sigmas, as a tuple of floats."""
    expected = "a non-empty sequence of finite positive numbers"
    out = tuple(float(s) for s in _sequence(name, sigmas, expected))
    for s in out:
        if not (math.isfinite(s) and s > 0):
            raise ValueError(
                f"{name} must be a finite positive number each, got {s!r} in {name}={sigmas!r}"
            )
    return out


def check_weights(weights: Iterable[float], name: str = "weights") -> tuple[float, ...]:
    """MS-SSIM exponents, one per scale (so any length >= 1 is a valid number of scales):
    finite and non-negative, not all zero."""
    expected = "a non-empty sequence of finite non-negative numbers, one per scale"
    out = tuple(float(w) for w in _sequence(name, weights, expected))
    for w in out:
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(
                f"{name} must be finite and non-negative, got {w!r} in {name}={weights!r}"
            )
    if not any(out):
        raise ValueError(f"{name} must not be all zero, got {name}={weights!r}")
    return out


def check_win_size(win_size: int | None) -> int | None:
    """A sliding window size: ``None`` (the 3.5-sigma rule) or a positive odd integer."""
    if win_size is None:
        return None
    if not isinstance(win_size, numbers.Integral) or isinstance(win_size, bool):
        raise TypeError(f"win_size must be a positive odd integer or None, got {win_size!r}")
    if win_size < 1 or win_size % 2 == 0:
        raise ValueError(f"win_size must be a positive odd integer, got win_size={win_size!r}")
    return int(win_size)


def check_alpha(alpha: float) -> float:
    """Mix's weight of the MS-SSIM term: a number in ``[0, 1]``."""
    if not _is_real(alpha):
        raise TypeError(f"alpha must be a number in [0, 1], got {alpha!r}")
    out = float(alpha)
    if not 0 <= out <= 1:  # also rejects NaN
        raise ValueError(f"alpha must be a number in [0, 1], got alpha={alpha!r}")
    return out


def check_window(window: str) -> str:
    """Return ``window`` after checking it is ``"patch"`` or ``"sliding"``."""
    if window not in WINDOWS:
        raise ValueError(f"window must be 'patch' or 'sliding', got window={window!r}")
    return window


def check_variant(variant: str) -> str:
    """MS-SSIM's ``variant``: ``"gaussian"`` or ``"pyramid"``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got variant={variant!r}")
    return variant


def check_reduction(reduction: str) -> str:
    """``"mean"``, ``"sum"`` or ``"none"``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got reduction={reduction!r}")
    return reduction


def check_bool(name: str, value: bool) -> bool:
    """A flag that must be exactly ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {name}={value!r}")
    return value


# --------------------------------------------------------------------------------------
# Tensors.
# --------------------------------------------------------------------------------------

_RANGE_CHECK: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "imgloss_range_check", default=True
)


@contextlib.contextmanager
def range_check_suppressed() -> Iterator[None]:
    """No :class:`DataRangeWarning` inside (for callers that checked the range already)."""
    token = _RANGE_CHECK.set(False)
    try:
        yield
    finally:
        _RANGE_CHECK.reset(token)


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep


def warn_outside(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` attributed to the first caller outside ``imgloss`` and ``torch``."""
    level = 1
    frame: types.FrameType | None = sys._getframe(0)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        (_PACKAGE_DIR, _TORCH_DIR)
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def value_extremes(*tensors: torch.Tensor) -> list[tuple[float, float]]:
    """``(min, max)`` of each tensor with one reduction pass each and one device sync in all.

    NaN anywhere gives NaN for both (``aminmax`` propagates NaN); an infinity shows as one.
    """
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    stats = torch.stack([torch.stack(torch.aminmax(t.detach())).to(dtype) for t in tensors])
    return [(float(lo), float(hi)) for lo, hi in stats.tolist()]


def range_message(
    extremes: dict[str, tuple[float, float]], data_range: float, *, where: str = ""
) -> str | None:
    """The :class:`DataRangeWarning` text for ``{name: (min, max)}``, or ``None`` if all the
    values lie within ``[RANGE_LOW * data_range, RANGE_HIGH * data_range]``."""
    bad = {
        name: (lo, hi)
        for name, (lo, hi) in extremes.items()
        if hi > RANGE_HIGH * data_range or lo < RANGE_LOW * data_range
    }
    if not bad:
        return None
    found = ", ".join(
        f"{name} has values in [{lo:.4g}, {hi:.4g}]" for name, (lo, hi) in bad.items()
    )
    top = max(hi for _, hi in bad.values())
    bottom = min(lo for lo, _ in bad.values())
    if top > RANGE_HIGH * data_range and top <= 255:
        hint = (
            "this looks like a 0-255 (8-bit) image: pass data_range=255, or divide the images "
            "by 255"
        )
    elif top > RANGE_HIGH * data_range and top <= 65535:
        hint = (
            "this looks like a 0-65535 (16-bit) image: pass data_range=65535, or divide the "
            "images by 65535"
        )
    elif bottom < RANGE_LOW * data_range and bottom >= -1.0 * data_range * 1.01:
        hint = "if the images are in [-1, 1], map them to [0, 1] with (x + 1) / 2"
    else:
        hint = "pass the images' real range as data_range, or rescale them to [0, data_range]"
    return (
        f"{found}{where}, far outside [0, data_range] = [0, {data_range:g}] (values above "
        f"{RANGE_HIGH:g} * data_range or below {RANGE_LOW:g} * data_range are flagged): {hint}. "
        "The constants C1, C2 and the measures' thresholds assume [0, data_range]."
    )


def check_values(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float | None = None,
    warn: bool = True,
) -> str | None:
    """Raise on NaN/Inf; with ``data_range``, also flag values far outside ``[0, data_range]``.

    One ``aminmax`` per tensor and a single device sync. Returns the range message (or
    ``None``); issues it as a :class:`DataRangeWarning` if ``warn`` (and range checks are not
    suppressed by :func:`range_check_suppressed`).
    """
    (lo_p, hi_p), (lo_t, hi_t) = value_extremes(prediction, target)
    for name, lo, hi in (("prediction", lo_p, hi_p), ("target", lo_t, hi_t)):
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"{name} contains NaN or Inf values")
    if data_range is None or not _RANGE_CHECK.get():
        return None
    message = range_message({"prediction": (lo_p, hi_p), "target": (lo_t, hi_t)}, data_range)
    if message is not None and warn:
        warn_outside(message, DataRangeWarning)
    return message


def check_pair(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    check_finite: bool = True,
    data_range: float | None = None,
) -> None:
    """Check that ``prediction`` and ``target`` form a valid NCHW pair.

    With ``check_finite`` (the default; skipped while tracing with ``torch.compile``) the values
    are checked too, with one reduction per tensor and one device sync: NaN/Inf raise, and if
    ``data_range`` is given, values far outside ``[0, data_range]`` give a
    :class:`DataRangeWarning` (see the module docstring). ``check_finite=False`` skips both
    (the trainer's fast path: no device sync).

    Raises:
        TypeError: an argument is not a tensor, is not floating point, or the dtypes differ
            (outside ``torch.autocast``, where a low-precision prediction next to a float32
            target is the normal case and both are promoted to float32).
        ValueError: not 4-D (5-D video/volume input included: reshape it to
            ``(N*T, C, H, W)``), shapes differ, devices differ, an empty dimension, or
            non-finite values.
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
    if check_finite and not torch.compiler.is_compiling() and prediction.device.type != "meta":
        check_values(prediction, target, data_range=data_range)


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
