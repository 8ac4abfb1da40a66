"""SSIM and MS-SSIM as *quality measures* (Table 1), faithful to Wang et al.'s MATLAB code.

Both are computed on each channel separately, ``(N, C, H, W) -> (N, C)``; the paper's Table 1
reports the mean over R, G and B. Inputs are in ``[0, data_range]``.

* :func:`ssim` follows Wang's ``ssim.m`` (2009 release): 11 x 11 Gaussian window with ``sigma =
  1.5``, ``K = (0.01, 0.03)``, statistics over the *valid* region only (``filter2(..., 'valid')``),
  mean of the SSIM map. That release first **downsamples** images automatically by ``f = max(1,
  round(min(H, W) / 256))`` with an ``f x f`` box filter ('symmetric' borders) and ``(1:f:end,
  1:f:end)`` subsampling, to mimic a typical viewing distance; the original 2004 ``ssim_index.m``
  (like scikit-image and pytorch-msssim) does not; piq does by default. The choice changes the value
  a lot on large noisy images (the box filter removes much of the noise), so both are offered:
  ``downsample=False`` (the default) or ``True``. See ``SSIM_DOWNSAMPLE_DEFAULT`` for why the
  default is what it is.
* :func:`ms_ssim` follows Wang's ``msssim.m`` (2003): five scales, weights ``(0.0448, 0.2856,
  0.3001, 0.2363, 0.1333)``, the same window and constants per scale, a 2 x 2 box filter with
  'symmetric' borders and ``(1:2:end, 1:2:end)`` between scales, and ``prod_{j<5} cs_j^{w_j} * (l_5
  cs_5)^{w_5}``. It never downsamples automatically. This is :func:`imgloss.losses.ms_ssim` with
  ``variant="pyramid"``, which the tests check against pytorch-msssim and the MATLAB odd-size rule.

Both take a ``convention`` (:mod:`imgloss.metrics.conventions`): the default ``"imgloss"`` is
the behaviour above; ``"matlab"``, ``"skimage"``, ``"pytorch_msssim"``, ``"torchmetrics"``,
``"kornia"`` and ``"paper"`` (or any :class:`~imgloss.metrics.conventions.SSIMConvention`)
reproduce what that implementation returns with its defaults, computed by
:mod:`imgloss.metrics.ssim_variants`; ``data_range=None`` then takes the convention's default.
"""

from __future__ import annotations

import torch

from ..functional.msssim import ms_ssim as _ms_ssim_measure
from ..functional.ssim import ssim as _ssim_measure
from ..functional.validation import check_bool, check_data_range, check_pair
from . import ssim_variants
from ._matlab import auto_factor, box_downsample
from .conventions import IMGLOSS, SSIMConvention, get_convention

#: Default of :func:`ssim`'s ``downsample``: ``False``. The paper does not say which SSIM code
#: it ran. Without downsampling SSIM is the measure as defined by Wang et al. (2004) and as
#: computed by scikit-image and pytorch-msssim (piq follows ``ssim.m``), and it does not depend on the image size:
#: with ``ssim.m``'s rule Kodak24 (768 x 512) is box-filtered by 2 and the paper's 999 x 666
#: images by 3, so values on different test sets would be measured at different scales. The
#: paper's noisy-input value (0.8075 at 28.24 dB) does not settle the question: on Kodak24 at
#: 26.1 dB we measure 0.638 without, 0.766 with (f = 2) and 0.851 with f = 3 downsampling.
SSIM_DOWNSAMPLE_DEFAULT = False

WINDOW_SIGMA = 1.5
WINDOW_SIZE = 11


def ssim(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float | None = None,
    downsample: bool | None = None,
    convention: str | SSIMConvention = "imgloss",
) -> torch.Tensor:
    """Per-channel SSIM of Wang et al., ``(N, C, H, W) -> (N, C)`` (symmetric in its arguments).

    Args:
        prediction, target: images in ``[0, data_range]``.
        data_range: ``L``; ``None`` takes the convention's default (1 for ``"imgloss"``).
        downsample: apply ``ssim.m``'s automatic ``f = max(1, round(min(H, W) / 256))`` box
            downsampling first; ``None`` takes the convention's setting
            (``SSIM_DOWNSAMPLE_DEFAULT`` for ``"imgloss"``).
        convention: a name of :data:`~imgloss.metrics.conventions.CONVENTIONS` or a record.

    Returns:
        ``(N, C)`` (``(N, 1)`` for a luminance convention); exactly 1.0 for identical channels
        (constant ones included) under ``"imgloss"``.
    """
    conv = get_convention(convention)
    if downsample is not None:
        check_bool("downsample", downsample)
    if conv != IMGLOSS:
        if downsample is not None:
            conv = conv.with_(auto_downsample=downsample)
        return _under(ssim_variants.ssim, prediction, target, conv, data_range, conv.data_range)
    data_range = check_data_range(1.0 if data_range is None else data_range)
    downsample = SSIM_DOWNSAMPLE_DEFAULT if downsample is None else downsample
    check_pair(prediction, target, data_range=data_range)
    if downsample:
        if prediction.dtype in (torch.float16, torch.bfloat16):  # average in float32, not half
            prediction, target = prediction.float(), target.float()
        f = auto_factor(*prediction.shape[-2:])
        prediction, target = box_downsample(prediction, f), box_downsample(target, f)
    return _ssim_measure(
        prediction,
        target,
        sigma=WINDOW_SIGMA,
        win_size=WINDOW_SIZE,
        data_range=data_range,
        window="sliding",
        reduction="none",
        check_finite=False,
    )


def ssim_matlab(
    prediction: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0
) -> torch.Tensor:
    """SSIM as Wang's ``ssim.m`` (2009) computes it, ``(N, C, H, W) -> (N, C)``: :func:`ssim`
    after the automatic downsampling by ``f = max(1, round(min(H, W) / 256))``, the
    ``"matlab"`` convention at the caller's ``data_range`` (Table 1's extra measure
    ``ssim_matlab``). ``msssim.m`` and ``iwssim.m`` never downsample, so MS-SSIM and IW-SSIM are
    the same under both conventions (``tests/metrics`` checks it)."""
    return ssim(prediction, target, data_range=data_range, downsample=True)


def _under(fn, prediction, target, conv: SSIMConvention, data_range, default) -> torch.Tensor:
    """``fn`` of :mod:`~imgloss.metrics.ssim_variants` under ``conv``, in the input's dtype."""
    range_ = default if data_range is None else check_data_range(data_range)
    numeric = None if range_ == "from_data" else range_
    check_pair(prediction, target, data_range=numeric)
    return fn(prediction, target, conv, range_).to(prediction.dtype)


def ms_ssim(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float | None = None,
    convention: str | SSIMConvention = "imgloss",
) -> torch.Tensor:
    """Per-channel MS-SSIM of Wang et al. 2003, ``(N, C, H, W) -> (N, C)``.

    Needs both sides at least 161 pixels (an 11-tap window at the 5th scale). A negative
    contrast-structure term (possible only for anti-correlated images) contributes 0, where
    MATLAB's fractional power would return a complex number. ``data_range=None`` takes the
    convention's default (1 for ``"imgloss"``); ``convention`` as in :func:`ssim`.
    """
    conv = get_convention(convention)
    if conv != IMGLOSS:
        default = conv.ms_default_range
        return _under(ssim_variants.ms_ssim, prediction, target, conv, data_range, default)
    data_range = check_data_range(1.0 if data_range is None else data_range)
    check_pair(prediction, target, data_range=data_range)
    return _ms_ssim_measure(
        prediction,
        target,
        variant="pyramid",
        sigma=WINDOW_SIGMA,
        win_size=WINDOW_SIZE,
        data_range=data_range,
        reduction="none",
        check_finite=False,
    )
