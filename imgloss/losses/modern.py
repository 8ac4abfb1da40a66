"""Two losses restoration networks train with since the paper (not in it): Charbonnier and PSNR.

* Charbonnier (a smooth l1, as in LapSRN, EDSR-style training and SwinIR):
  ``L(P) = 1/N sum_p sqrt((x(p) - y(p))^2 + eps^2)``, ``eps = 1e-3``; its gradient
  ``(x - y) / sqrt((x - y)^2 + eps^2) / N`` is l1's ``sign(x - y) / N`` (eq. 3) away from
  ``|x - y| ~ eps`` and l2-like (linear) within it.
* The PSNR loss (HINet, NAFNet): minus the PSNR of each image, averaged over the batch,
  ``L = 1/B sum_b 10 log10(MSE_b / L^2 + eps)``, ``MSE_b`` over the image's channels and pixels,
  ``L`` the ``data_range`` and ``eps = 1e-8`` (NAFNet's), so that a perfect image gives a finite
  loss. Its gradient ``20 / ln 10 (x - y) / (N_b (MSE_b + eps L^2))`` is l2's divided by the
  image's own error: each image weighs the same whatever its error.

Both are plain means, so the spatial ``window`` makes no difference (accepted so that every
registry loss takes the same options). Shapes: ``(N, C, H, W)`` in; ``reduction="none"`` gives
``(N, C)`` for Charbonnier and ``(N,)`` for the PSNR loss (a per-image quantity).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..functional.common import reduce
from ..functional.options import LossOptions, set_field
from ..functional.validation import check_positive
from .base import FunctionalLoss

#: Charbonnier's ``eps`` (the scale below which it turns quadratic).
CHARBONNIER_EPS = 1e-3
#: The PSNR loss's ``eps``, added to the normalised MSE (NAFNet's ``1e-8``).
PSNR_EPS = 1e-8


@dataclass(frozen=True, kw_only=True)
class CharbonnierOptions(LossOptions):
    """Charbonnier's ``eps`` (positive), and the options every loss takes."""

    eps: float = CHARBONNIER_EPS

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "eps", check_positive("eps", self.eps))


@dataclass(frozen=True, kw_only=True)
class PSNROptions(CharbonnierOptions):
    """The PSNR loss's ``eps`` (positive), and the options every loss takes."""

    eps: float = PSNR_EPS


def charbonnier_loss(prediction: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """``mean sqrt((x - y)^2 + eps^2)`` per image and channel; ``options``: the fields of
    :class:`CharbonnierOptions` (``data_range`` only sets the range check, as for
    :func:`imgloss.losses.l1_loss`)."""
    return _charbonnier(prediction, target, CharbonnierOptions(**options))


def psnr_loss(prediction: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """``10 log10(MSE / data_range^2 + eps)`` per image, i.e. minus its PSNR (up to ``eps``);
    ``options``: the fields of :class:`PSNROptions`."""
    return _psnr(prediction, target, PSNROptions(**options))


def _charbonnier(prediction: torch.Tensor, target: torch.Tensor, o: CharbonnierOptions):
    o.check_inputs(prediction, target)
    err = prediction - target
    return reduce((err.square() + o.eps**2).sqrt().mean(dim=(2, 3)), o.reduction)


def _psnr(prediction: torch.Tensor, target: torch.Tensor, o: PSNROptions) -> torch.Tensor:
    o.check_inputs(prediction, target)
    mse = (prediction - target).square().mean(dim=(1, 2, 3))
    return reduce(10 * torch.log10(mse / o.data_range**2 + o.eps), o.reduction)


class CharbonnierLoss(FunctionalLoss):
    """Module form of :func:`charbonnier_loss` (registry name ``"charbonnier"``)."""

    Options = CharbonnierOptions
    compute = staticmethod(_charbonnier)


class PSNRLoss(FunctionalLoss):
    """Module form of :func:`psnr_loss` (registry name ``"psnr"``)."""

    Options = PSNROptions
    compute = staticmethod(_psnr)
