"""SSIM, the measure under the SSIM loss (paper Section 3.2, eqs. 4-7).

Two spatial modes:

* ``window="sliding"`` (conventional): SSIM is evaluated at every pixel whose truncated
  Gaussian window (radius ``int(3.5 sigma + 0.5)``) lies inside the image, and averaged over
  those pixels: ``SSIM(x, y) = 1/N sum_p SSIM(p)`` (eq. 6 with ``E(p) = 1 - SSIM(p)``). With
  ``sigma=1.5`` this is exactly scikit-image's
  ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` and
  pytorch-msssim's ``ssim``.
* ``window="patch"`` (the paper's training formulation, eq. 7): the input is a batch of odd
  ``H x W`` training patches; one normalised Gaussian spanning the whole patch is centred on the
  centre pixel ``p~`` and the loss is ``1 - SSIM(p~)``. The gradient reaches every pixel of the
  patch through the Gaussian weights (eqs. 8-10). This is what the authors' Caffe layer does.

All statistics are computed in at least float32, also under ``torch.autocast``.
"""

from __future__ import annotations

import torch

from . import fused
from .common import check_fits, constants, reduce, sliding_kernel
from .options import SSIMOptions
from .stats import (
    SlidingSSIMMeans,
    full_precision,
    identical_planes,
    one_where_identical,
    patch_lcs,
    sliding_lcs_maps,
)
from .validation import check_odd_patch, to_compute_dtype


def ssim(prediction: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """Structural similarity index, per channel, averaged (paper eqs. 4-7).

    Args:
        prediction, target: ``(N, C, H, W)`` floating-point tensors, any ``C``.
        **options: the fields of :class:`~imgloss.functional.options.SSIMOptions`: ``sigma``
            (``sigma_G``, 1.5), ``window`` (``"sliding"``: mean over all valid pixels;
            ``"patch"``: centre pixel of an odd patch, eq. 7), ``win_size``, ``data_range``,
            ``k1``, ``k2``, ``reduction`` (``"none"`` gives ``(N, C)``) and ``check_finite``.

    Returns:
        SSIM in ``[-1, 1]``; 1 means identical (exactly 1.0 for an identical image/channel
        plane, constant ones included, in any dtype).

    Raises:
        ValueError, TypeError: a bad option (the message names it and the value) or bad input.
    """
    return ssim_with(prediction, target, SSIMOptions(**options))


def ssim_with(prediction: torch.Tensor, target: torch.Tensor, o: SSIMOptions) -> torch.Tensor:
    """:func:`ssim` with its options already validated (the loss modules call this)."""
    o.check_inputs(prediction, target)
    sigma = o.sigma
    c1, c2 = constants(o.data_range, o.k1, o.k2)
    x, y = to_compute_dtype(prediction, target)
    identical = identical_planes(x, y)
    with full_precision(x.device):
        if o.window == "patch":
            check_odd_patch(x)
            values = _patch_ssim(x, y, sigma, c1, c2)
        else:
            kernel, size = sliding_kernel(sigma, o.win_size, x)
            check_fits(x, size, f"a sliding SSIM window of {size} x {size} (sigma={sigma})")
            values = sliding_ssim_means(x, y, sigma, kernel, c1, c2)[0]
        values = one_where_identical(values, identical)
    return reduce(values, o.reduction)


def _patch_ssim(x: torch.Tensor, y: torch.Tensor, sigma: float, c1: float, c2: float):
    """``(N, C)`` SSIM at the centre of odd patches (eq. 7): fused where
    :func:`imgloss.functional.fused.use_fused`, else one matrix product (:func:`patch_lcs`)."""
    done = fused.patch_values(x, y, (sigma,), 0, c1, c2) if fused.use_fused(x) else None
    if done is not None:
        return done[0]
    l, cs = patch_lcs(x, y, (sigma,), c1, c2)
    return (l * cs)[..., 0]


def sliding_ssim_means(
    x: torch.Tensor, y: torch.Tensor, sigma: float, kernel: torch.Tensor, c1: float, c2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, C)`` means of the SSIM and cs maps for the 1-D window ``kernel`` (of ``sigma``):
    the fused kernels where :func:`imgloss.functional.fused.use_fused`, else
    :class:`SlidingSSIMMeans`."""
    if fused.use_fused(x):
        return fused.sliding_means(x, y, ((sigma, kernel.numel() // 2),), 0, c1, c2)
    return SlidingSSIMMeans.apply(x, y, kernel, c1, c2)


def ssim_map(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    sigma: float = 1.5,
    data_range: float = 1.0,
    win_size: int | None = None,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Per-pixel SSIM over the valid region: ``(N, C, H - 2r, W - 2r)`` (sliding mode)."""
    o = SSIMOptions(sigma=sigma, data_range=data_range, win_size=win_size, k1=k1, k2=k2)
    o.check_inputs(prediction, target)
    c1, c2 = constants(o.data_range, o.k1, o.k2)
    x, y = to_compute_dtype(prediction, target)
    with full_precision(x.device):
        kernel, size = sliding_kernel(o.sigma, o.win_size, x)
        check_fits(x, size, f"a sliding SSIM window of {size} x {size} (sigma={sigma})")
        l, cs = sliding_lcs_maps(x, y, kernel, c1, c2)
        return one_where_identical(l * cs, identical_planes(x, y))
