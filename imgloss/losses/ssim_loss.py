"""The SSIM loss (paper Section 3.2, eqs. 6-7): one minus the measure of
:mod:`imgloss.functional.ssim`.

``window="sliding"`` gives ``L = 1 - 1/N sum_p SSIM(p)`` over every pixel whose window fits
(eq. 6); ``window="patch"`` gives ``1 - SSIM(p~)`` at the centre of each odd training patch
(eq. 7), the authors' Caffe formulation, whose gradient reaches every pixel of the patch through
the Gaussian weights (eqs. 8-10).
"""

from __future__ import annotations

import torch

from ..functional.options import SSIMOptions
from ..functional.ssim import ssim_with
from .base import FunctionalLoss


def ssim_loss(prediction: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """``L^SSIM = 1 - SSIM`` for ``(N, C, H, W)`` tensors; ``options``: the fields of
    :class:`~imgloss.functional.options.SSIMOptions`, as :func:`imgloss.losses.ssim`."""
    return _ssim_loss(prediction, target, SSIMOptions(**options))


def _ssim_loss(prediction: torch.Tensor, target: torch.Tensor, o: SSIMOptions) -> torch.Tensor:
    return 1 - ssim_with(prediction, target, o)


class SSIMLoss(FunctionalLoss):
    """Module form of :func:`ssim_loss`: ``SSIMLoss(sigma=5, window="patch")(pred, target)``.

    ``SSIM_k`` of the paper is ``SSIMLoss(sigma=k)``; the registry name is ``"ssimK"``. Every
    option is validated here, in the constructor (:class:`SSIMOptions`).
    """

    Options = SSIMOptions
    compute = staticmethod(_ssim_loss)

    def __init__(self, sigma: float = SSIMOptions.sigma, **options) -> None:
        super().__init__(sigma=sigma, **options)
