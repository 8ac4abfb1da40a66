"""MS-SSIM and the MS-SSIM loss (paper Section 3.3, eqs. 11-13), in two variants.

``variant="gaussian"`` — the paper's fast approximation (Section 3.3, last paragraph). Instead
of a dyadic pyramid, the full-resolution input is filtered with ``M = 5`` Gaussians,
``sigma_G^i in {0.5, 1, 2, 4, 8}``; with all exponents equal to one (eq. 11),

    MS-SSIM(p) = l_M(p) * prod_{i=1..M} cs_i(p),            l_M from the largest sigma.

In ``window="patch"`` mode it is evaluated at the centre pixel of each odd patch (eq. 12),
exactly as the authors' Caffe layer; in ``window="sliding"`` mode at every pixel where the
largest truncated window fits, then averaged. The product of the ``cs_i`` may be negative: no
clamping, no NaN (exponents are one).

``variant="pyramid"`` — standard MS-SSIM of Wang, Simoncelli & Bovik (2003): 5 scales of a
dyadic pyramid (2 x 2 average, then keep every other pixel), an 11-tap sigma 1.5 window per
scale, the exponents ``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``,

    MS-SSIM = prod_{j<M} mean(cs_j)^{w_j} * mean(SSIM_M)^{w_M},

per channel, then averaged. Negative means are clamped to zero before the fractional power (as
pytorch-msssim does; a negative base would be NaN). For even sizes this equals pytorch-msssim's
``ms_ssim``; for odd sizes the last row/column is averaged with itself (MATLAB's
``imfilter(..., 'symmetric')`` rule of Wang's code) where pytorch-msssim zero-pads the first.
Sliding mode only; the smallest side must be at least ``(win_size - 1) * 2^(M-1) + 1`` (161 for
five scales); pass fewer ``weights`` for fewer scales.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import FunctionalLoss, check_fits, constants, reduce, sliding_kernel
from ._filters import filter_valid, gaussian_1d, gaussian_radius
from ._stats import (
    SlidingSSIMMeans,
    full_precision,
    identical_planes,
    luminance_contrast_structure,
    one_where_identical,
    patch_lcs,
    stack_for_filtering,
    unstack,
)
from ._validation import (
    check_bool,
    check_data_range,
    check_k,
    check_odd_patch,
    check_pair,
    check_reduction,
    check_sigma,
    check_sigmas,
    check_variant,
    check_weights,
    check_win_size,
    check_window,
    to_compute_dtype,
)

PAPER_SIGMAS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
WANG_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _options(
    *,
    variant: str,
    sigmas: tuple[float, ...],
    weights: tuple[float, ...],
    sigma: float,
    data_range: float,
    window: str,
    win_size: int | None,
    k1: float,
    k2: float,
    reduction: str,
    check_finite: bool,
) -> dict:
    """Every option of :func:`ms_ssim`, validated (shared by it and :class:`MSSSIMLoss`).

    All options are checked whatever the variant (``sigmas`` also for ``"pyramid"``, ``weights``,
    ``sigma`` and ``win_size`` also for ``"gaussian"``), so that a typo never goes unnoticed.
    """
    out = {
        "variant": check_variant(variant),
        "sigmas": check_sigmas(sigmas),
        "weights": check_weights(weights),
        "sigma": check_sigma(sigma),
        "data_range": check_data_range(data_range),
        "window": check_window(window),
        "win_size": check_win_size(win_size),
        "k1": check_k("k1", k1),
        "k2": check_k("k2", k2),
        "reduction": check_reduction(reduction),
        "check_finite": check_bool("check_finite", check_finite),
    }
    if out["variant"] == "pyramid" and out["window"] == "patch":
        raise ValueError(
            "variant='pyramid' is defined on whole images (window='sliding'); the "
            "paper's patch-mode MS-SSIM is variant='gaussian'"
        )
    return out


class _ClampedPower(torch.autograd.Function):
    """``max(v, 0) ** w`` with a finite gradient everywhere.

    The true derivative ``w v^(w-1)`` is infinite at ``v = 0`` for ``w < 1``; it is evaluated
    at ``max(v, eps)`` (eps = 1e-6), which only matters for a nearly zero mean cs of a whole
    image, and is zero where ``v <= 0`` (the value is clamped there).
    """

    @staticmethod
    def forward(ctx, v, w: float):  # type: ignore[override]
        ctx.save_for_backward(v)
        ctx.w = w
        return v.clamp(min=0) ** w

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (v,) = ctx.saved_tensors
        slope = ctx.w * v.clamp(min=1e-6) ** (ctx.w - 1)
        return torch.where(v > 0, grad * slope, torch.zeros_like(grad)), None


def _gaussian_sliding_maps(
    x: torch.Tensor,
    y: torch.Tensor,
    sigmas: tuple[float, ...],
    c1: float,
    c2: float,
    extra: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-pixel ``l_M prod_i cs_i`` on the valid region of the largest window.

    Each sigma uses its own truncated window (radius ``int(3.5 sigma + 0.5)``); maps are cropped
    to the valid region of the largest window so that they are aligned. ``extra`` (``(N, C, H,
    W)``), if given, is filtered with the largest Gaussian on the same region (Mix's l1 term).
    """
    n, c = x.shape[:2]
    radii = [gaussian_radius(s) for s in sigmas]
    r_max = max(radii)
    top = sigmas.index(max(sigmas))
    stack = stack_for_filtering([x, y, x * x, y * y, x * y])
    product = l_top = extra_f = None
    for i, (sigma, radius) in enumerate(zip(sigmas, radii)):
        kernel = gaussian_1d(sigma, radius, dtype=x.dtype, device=x.device)
        filtered = filter_valid(stack, kernel)
        crop = r_max - radius
        if crop:
            filtered = filtered[..., crop:-crop, crop:-crop]
        l, cs = luminance_contrast_structure(*unstack(filtered, 5, n, c), c1, c2)
        product = cs if product is None else product * cs
        if i == top:  # the largest window: no crop; Mix's l1 term shares its region
            l_top = l
            if extra is not None:
                extra_f = unstack(filter_valid(stack_for_filtering([extra]), kernel), 1, n, c)[0]
    assert product is not None and l_top is not None
    return l_top * product, extra_f


def _pyramid(
    x: torch.Tensor,
    y: torch.Tensor,
    weights: tuple[float, ...],
    sigma: float,
    win_size: int | None,
    c1: float,
    c2: float,
) -> torch.Tensor:
    """Wang et al. 2003 MS-SSIM per image and channel: ``(N, C)``."""
    kernel, size = sliding_kernel(sigma, win_size, x)
    levels = len(weights)
    min_side = (size - 1) * 2 ** (levels - 1) + 1
    h, w = x.shape[-2:]
    if min(h, w) < min_side:
        raise ValueError(
            f"image of H x W = {h} x {w} is too small for {levels}-scale pyramid MS-SSIM with a "
            f"{size}-tap window: the smaller side must be at least {min_side} pixels "
            f"((win_size - 1) * 2^(scales - 1) + 1); pass fewer weights for fewer scales, or use "
            f"variant='gaussian'"
        )
    value = None
    for j, weight in enumerate(weights):
        if j:
            x = F.avg_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)
            y = F.avg_pool2d(y, kernel_size=2, stride=2, ceil_mode=True)
        ssim_mean, cs_mean = SlidingSSIMMeans.apply(x, y, kernel, c1, c2)
        term = _ClampedPower.apply(ssim_mean if j == levels - 1 else cs_mean, weight)
        value = term if value is None else value * term
    assert value is not None
    return value


def ms_ssim(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    variant: str = "gaussian",
    sigmas: tuple[float, ...] = PAPER_SIGMAS,
    weights: tuple[float, ...] = WANG_WEIGHTS,
    sigma: float = 1.5,
    data_range: float = 1.0,
    window: str = "sliding",
    win_size: int | None = None,
    k1: float = 0.01,
    k2: float = 0.03,
    reduction: str = "mean",
    check_finite: bool = True,
) -> torch.Tensor:
    """Multi-scale SSIM (paper eqs. 11-12), per channel, averaged.

    Args:
        prediction, target: ``(N, C, H, W)`` floating-point tensors.
        variant: ``"gaussian"`` (the paper's approximation, ``sigmas``) or ``"pyramid"``
            (Wang et al. 2003, ``weights``, ``sigma``/``win_size`` per scale; sliding only).
        sigmas: the Gaussians of the ``"gaussian"`` variant; ``l`` uses the largest (finite,
            positive).
        weights: the pyramid exponents, one per scale (finite, non-negative, not all zero).
        sigma, win_size: the pyramid's per-scale window (1.5 and 11 by default).
        data_range, k1, k2, reduction, check_finite: as :func:`imgloss.losses.ssim`.
        window: ``"sliding"`` or ``"patch"`` (centre pixel of odd patches, eq. 12).

    Returns:
        MS-SSIM; exactly 1.0 for an identical image/channel plane (constant ones included).
    """
    o = _options(
        variant=variant,
        sigmas=sigmas,
        weights=weights,
        sigma=sigma,
        data_range=data_range,
        window=window,
        win_size=win_size,
        k1=k1,
        k2=k2,
        reduction=reduction,
        check_finite=check_finite,
    )
    check_pair(prediction, target, check_finite=check_finite, data_range=o["data_range"])
    c1, c2 = constants(o["data_range"], o["k1"], o["k2"])
    x, y = to_compute_dtype(prediction, target)
    identical = identical_planes(x, y)
    sigmas = o["sigmas"]
    with full_precision(x.device):
        if o["variant"] == "pyramid":
            values = _pyramid(x, y, o["weights"], o["sigma"], o["win_size"], c1, c2)
        elif o["window"] == "patch":
            check_odd_patch(x)
            l, cs = patch_lcs(x, y, sigmas, c1, c2)
            top = sigmas.index(max(sigmas))
            values = l[..., top] * cs.prod(dim=-1)
        else:
            size = 2 * gaussian_radius(max(sigmas)) + 1
            check_fits(x, size, f"MS-SSIM with sigma up to {max(sigmas)} ({size}-tap window)")
            maps, _ = _gaussian_sliding_maps(x, y, sigmas, c1, c2)
            values = maps.mean(dim=(2, 3))
        values = one_where_identical(values, identical)
    return reduce(values, o["reduction"])


def ms_ssim_loss(prediction: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """``L^MS-SSIM = 1 - MS-SSIM`` (eq. 12); options as :func:`ms_ssim`."""
    return 1 - ms_ssim(prediction, target, **options)


class MSSSIMLoss(FunctionalLoss):
    """Module form of :func:`ms_ssim_loss` (registry name ``"msssim"``)."""

    loss_fn = staticmethod(ms_ssim_loss)

    def __init__(
        self,
        *,
        variant: str = "gaussian",
        sigmas: tuple[float, ...] = PAPER_SIGMAS,
        weights: tuple[float, ...] = WANG_WEIGHTS,
        sigma: float = 1.5,
        data_range: float = 1.0,
        window: str = "sliding",
        win_size: int | None = None,
        k1: float = 0.01,
        k2: float = 0.03,
        reduction: str = "mean",
        check_finite: bool = True,
    ) -> None:
        super().__init__(
            **_options(
                variant=variant,
                sigmas=sigmas,
                weights=weights,
                sigma=sigma,
                data_range=data_range,
                window=window,
                win_size=win_size,
                k1=k1,
                k2=k2,
                reduction=reduction,
                check_finite=check_finite,
            )
        )
