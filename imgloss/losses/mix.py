"""The Mix loss, MS-SSIM + l1 (paper Section 3.4, eq. 14).

    L^Mix = alpha * L^MS-SSIM + (1 - alpha) * G_{sigma_G^M} . L^l1,

with the paper's fast MS-SSIM (``sigmas = (0.5, 1, 2, 4, 8)``) and ``alpha = 0.84`` by default
(the value the paper reports). The l1 term is weighted by the largest Gaussian ``G_{sigma_G^M}``
because MS-SSIM propagates the error at pixel ``q`` according to those weights (eqs. 9-10):

* ``window="patch"``: ``sum_q G_{sigma_M}(q - p~) |x(q) - y(q)| / L`` over each odd patch, the
  Gaussian spanning the whole patch and normalised to one (as in the authors' Caffe layer);
* ``window="sliding"``: the ``G_{sigma_M}``-filtered ``|x - y|`` map, averaged over the same
  valid region as the MS-SSIM map (computed without filtering, as a weighted sum of ``|x - y|``:
  ``imgloss.functional.stats.sliding_filtered_mean``).

The l1 term is divided by the data range ``L`` so that both terms are on the same scale for
any ``L`` (with ``L = 1``, the default, it is exactly eq. 14).

Note on defaults elsewhere: the authors' released Caffe layer (NVlabs PL4NN, ``MSSSIML1``)
defaults to ``alpha = 0.025``, and popular ports (e.g. kornia's ``MS_SSIMLoss``) also multiply
the loss by 200. This API is explicit and unscaled: ``alpha`` defaults to the paper's 0.84 and no
factor is applied; pass ``alpha`` yourself and scale outside if you want those conventions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..functional.common import check_fits, constants, reduce
from ..functional.filters import gaussian_radius
from ..functional.msssim import gaussian_sliding_means, patch_ms_ssim
from ..functional.options import PAPER_SIGMAS, SSIMConstants, set_field
from ..functional.stats import (
    full_precision,
    identical_planes,
    one_where_identical,
    patch_weighted_sum,
    sliding_filtered_mean,
)
from ..functional.validation import (
    check_alpha,
    check_odd_patch,
    check_sigmas,
    to_compute_dtype,
)
from .base import FunctionalLoss

PAPER_ALPHA = 0.84


@dataclass(frozen=True, kw_only=True)
class MixOptions(SSIMConstants):
    """Mix (eq. 14): ``alpha``, the weight of the MS-SSIM term in ``[0, 1]`` (paper: 0.84), and
    ``sigmas``, the Gaussians of the paper's MS-SSIM; the l1 term's Gaussian is the largest of
    them (there is no separate option)."""

    alpha: float = PAPER_ALPHA
    sigmas: tuple[float, ...] = PAPER_SIGMAS

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "alpha", check_alpha(self.alpha))
        set_field(self, "sigmas", check_sigmas(self.sigmas))


def mix_loss(prediction: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """Mix loss of eq. 14, per channel, averaged.

    Args:
        prediction, target: ``(N, C, H, W)`` floating-point tensors.
        **options: the fields of :class:`MixOptions`: ``alpha`` (0.84), ``sigmas`` (the l1
            weights use the largest), ``window`` (``"patch"``: odd patches, centre pixel; or
            ``"sliding"``), and ``data_range``, ``k1``, ``k2``, ``reduction``, ``check_finite``
            as :func:`imgloss.losses.ssim`.

    Returns:
        The loss; exactly 0 for identical images (its MS-SSIM term is exactly 1 there).
    """
    return _mix_loss(prediction, target, MixOptions(**options))


def _mix_loss(prediction: torch.Tensor, target: torch.Tensor, o: MixOptions) -> torch.Tensor:
    o.check_inputs(prediction, target)
    alpha, sigmas, data_range = o.alpha, o.sigmas, o.data_range
    c1, c2 = constants(data_range, o.k1, o.k2)
    x, y = to_compute_dtype(prediction, target)
    top = sigmas.index(max(sigmas))
    with full_precision(x.device):
        abs_err = (x - y).abs()
        identical = identical_planes(x, y, abs_err)
        if o.window == "patch":
            check_odd_patch(x)
            msssim, l1 = patch_ms_ssim(x, y, sigmas, c1, c2)
            if l1 is None:  # the eager path: one more matrix product
                l1 = patch_weighted_sum(abs_err, sigmas[top])
        else:
            radius = gaussian_radius(sigmas[top])
            size = 2 * radius + 1
            check_fits(x, size, f"Mix with sigma up to {sigmas[top]} ({size}-tap window)")
            msssim = gaussian_sliding_means(x, y, sigmas, c1, c2)
            l1 = sliding_filtered_mean(abs_err, sigmas[top], radius)
        msssim = one_where_identical(msssim, identical)
        values = alpha * (1 - msssim) + (1 - alpha) * l1 / data_range
    return reduce(values, o.reduction)


class MixLoss(FunctionalLoss):
    """Module form of :func:`mix_loss` (registry name ``"mix"``); options validated here
    (:class:`MixOptions`)."""

    Options = MixOptions
    compute = staticmethod(_mix_loss)

    def __init__(self, alpha: float = PAPER_ALPHA, **options) -> None:
        super().__init__(alpha=alpha, **options)
