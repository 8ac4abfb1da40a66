"""The MS-SSIM loss (paper Section 3.3, eq. 12): one minus the measure of
:mod:`imgloss.functional.msssim` (the paper's Gaussian variant by default, or Wang et al.'s
pyramid)."""

from __future__ import annotations

import torch

from ..functional.msssim import ms_ssim_with
from ..functional.options import MSSSIMOptions
from .base import FunctionalLoss


def ms_ssim_loss(prediction: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """``L^MS-SSIM = 1 - MS-SSIM`` (eq. 12) for ``(N, C, H, W)`` tensors; ``options``: the
    fields of :class:`~imgloss.functional.options.MSSSIMOptions`, as
    :func:`imgloss.losses.ms_ssim`."""
    return _ms_ssim_loss(prediction, target, MSSSIMOptions(**options))


def _ms_ssim_loss(prediction: torch.Tensor, target: torch.Tensor, o: MSSSIMOptions):
    return 1 - ms_ssim_with(prediction, target, o)


class MSSSIMLoss(FunctionalLoss):
    """Module form of :func:`ms_ssim_loss` (registry name ``"msssim"``); options validated here
    (:class:`MSSSIMOptions`)."""

    Options = MSSSIMOptions
    compute = staticmethod(_ms_ssim_loss)
