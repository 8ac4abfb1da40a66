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

import torch

from .common import FunctionalLoss, reduce
from .pixel import shared_options
from .validation import check_pair, check_positive, check_window

#: Charbonnier's ``eps`` (the scale below which it turns quadratic).
CHARBONNIER_EPS = 1e-3
#: The PSNR loss's ``eps``, added to the normalised MSE (NAFNet's ``1e-8``).
PSNR_EPS = 1e-8


def charbonnier_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    eps: float = CHARBONNIER_EPS,
    data_range: float = 1.0,
    reduction: str = "mean",
    check_finite: bool = True,
) -> torch.Tensor:
    """``mean sqrt((x - y)^2 + eps^2)`` per image and channel (``data_range`` only sets the
    range check, as for :func:`imgloss.losses.l1_loss`)."""
    o = _checked(prediction, target, eps, data_range, reduction, check_finite)
    err = prediction - target
    return reduce((err.square() + o["eps"] ** 2).sqrt().mean(dim=(2, 3)), o["reduction"])


def psnr_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    eps: float = PSNR_EPS,
    data_range: float = 1.0,
    reduction: str = "mean",
    check_finite: bool = True,
) -> torch.Tensor:
    """``10 log10(MSE / data_range^2 + eps)`` per image, i.e. minus its PSNR (up to ``eps``)."""
    o = _checked(prediction, target, eps, data_range, reduction, check_finite)
    mse = (prediction - target).square().mean(dim=(1, 2, 3))
    return reduce(10 * torch.log10(mse / o["data_range"] ** 2 + o["eps"]), o["reduction"])


def _options(eps, data_range, reduction, check_finite) -> dict:
    """``eps`` and the per-pixel losses' shared options, validated."""
    shared = shared_options(data_range=data_range, reduction=reduction, check_finite=check_finite)
    return {"eps": check_positive("eps", eps)} | shared


def _checked(prediction, target, eps, data_range, reduction, check_finite) -> dict:
    """The options validated, and the inputs checked against them."""
    o = _options(eps, data_range, reduction, check_finite)
    check_pair(prediction, target, check_finite=check_finite, data_range=o["data_range"])
    return o


class _ModernLoss(FunctionalLoss):
    """Module form: the options validated in the constructor."""

    default_eps: float

    def __init__(
        self,
        *,
        eps: float | None = None,
        window: str = "sliding",
        data_range: float = 1.0,
        reduction: str = "mean",
        check_finite: bool = True,
    ) -> None:
        check_window(window)
        eps = self.default_eps if eps is None else eps
        super().__init__(**_options(eps, data_range, reduction, check_finite))


class CharbonnierLoss(_ModernLoss):
    """Module form of :func:`charbonnier_loss` (registry name ``"charbonnier"``)."""

    default_eps = CHARBONNIER_EPS
    loss_fn = staticmethod(charbonnier_loss)


class PSNRLoss(_ModernLoss):
    """Module form of :func:`psnr_loss` (registry name ``"psnr"``)."""

    default_eps = PSNR_EPS
    loss_fn = staticmethod(psnr_loss)
