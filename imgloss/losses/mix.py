"""The Mix loss, MS-SSIM + l1 (paper Section 3.4, eq. 14).

    L^Mix = alpha * L^MS-SSIM + (1 - alpha) * G_{sigma_G^M} . L^l1,

with the paper's fast MS-SSIM (``sigmas = (0.5, 1, 2, 4, 8)``) and ``alpha = 0.84`` by default
(the value the paper reports). The l1 term is weighted by the largest Gaussian ``G_{sigma_G^M}``
because MS-SSIM propagates the error at pixel ``q`` according to those weights (eqs. 9-10):

* ``window="patch"``: ``sum_q G_{sigma_M}(q - p~) |x(q) - y(q)| / L`` over each odd patch, the
  Gaussian spanning the whole patch and normalised to one (as in the authors' Caffe layer);
* ``window="sliding"``: the ``G_{sigma_M}``-filtered ``|x - y|`` map, averaged over the same
  valid region as the MS-SSIM map.

The l1 term is divided by the data range ``L`` so that both terms are on the same scale for
any ``L`` (with ``L = 1``, the default, it is exactly eq. 14).

Note on defaults elsewhere: the authors' released Caffe layer (NVlabs PL4NN, ``MSSSIML1``)
defaults to ``alpha = 0.025``, and popular ports (e.g. kornia's ``MS_SSIMLoss``) also multiply
the loss by 200. This API is explicit and unscaled: ``alpha`` defaults to the paper's 0.84 and no
factor is applied; pass ``alpha`` yourself and scale outside if you want those conventions.
"""

from __future__ import annotations

import torch

from ._common import FunctionalLoss, check_fits, check_sigmas, constants, reduce
from ._filters import gaussian_radius
from ._stats import full_precision, patch_lcs, patch_weighted_sum
from ._validation import (
    check_data_range,
    check_odd_patch,
    check_pair,
    check_window,
    to_compute_dtype,
)
from .msssim import PAPER_SIGMAS, _gaussian_sliding_maps

PAPER_ALPHA = 0.84


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    return float(alpha)


def mix_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float = PAPER_ALPHA,
    sigmas: tuple[float, ...] = PAPER_SIGMAS,
    data_range: float = 1.0,
    window: str = "sliding",
    k1: float = 0.01,
    k2: float = 0.03,
    reduction: str = "mean",
    check_finite: bool = True,
) -> torch.Tensor:
    """Mix loss of eq. 14, per channel, averaged.

    Args:
        prediction, target: ``(N, C, H, W)`` floating-point tensors.
        alpha: weight of the MS-SSIM term, in ``[0, 1]`` (paper: 0.84).
        sigmas: the Gaussians of the paper's MS-SSIM; the l1 weights use the largest.
        window: ``"patch"`` (odd patches, centre pixel) or ``"sliding"``.
        data_range, k1, k2, reduction, check_finite: as :func:`imgloss.losses.ssim`.
    """
    check_pair(prediction, target, check_finite=check_finite)
    window = check_window(window)
    alpha = _check_alpha(alpha)
    sigmas = check_sigmas(sigmas)
    data_range = check_data_range(data_range)
    c1, c2 = constants(data_range, k1, k2)
    x, y = to_compute_dtype(prediction, target)
    top = sigmas.index(max(sigmas))
    with full_precision(x.device):
        abs_err = (x - y).abs()
        if window == "patch":
            check_odd_patch(x)
            l, cs = patch_lcs(x, y, sigmas, c1, c2)
            msssim = l[..., top] * cs.prod(dim=-1)
            l1 = patch_weighted_sum(abs_err, sigmas[top])
        else:
            size = 2 * gaussian_radius(sigmas[top]) + 1
            check_fits(x, size, f"Mix with sigma up to {sigmas[top]} ({size}-tap window)")
            maps, l1_map = _gaussian_sliding_maps(x, y, sigmas, c1, c2, extra=abs_err)
            assert l1_map is not None
            msssim = maps.mean(dim=(2, 3))
            l1 = l1_map.mean(dim=(2, 3))
        values = alpha * (1 - msssim) + (1 - alpha) * l1 / data_range
    return reduce(values, reduction)


class MixLoss(FunctionalLoss):
    """Module form of :func:`mix_loss` (registry name ``"mix"``)."""

    loss_fn = staticmethod(mix_loss)

    def __init__(
        self,
        alpha: float = PAPER_ALPHA,
        *,
        sigmas: tuple[float, ...] = PAPER_SIGMAS,
        data_range: float = 1.0,
        window: str = "sliding",
        k1: float = 0.01,
        k2: float = 0.03,
        reduction: str = "mean",
        check_finite: bool = True,
    ) -> None:
        super().__init__(
            alpha=_check_alpha(alpha),
            sigmas=check_sigmas(sigmas),
            data_range=check_data_range(data_range),
            window=check_window(window),
            k1=k1,
            k2=k2,
            reduction=reduction,
            check_finite=check_finite,
        )
