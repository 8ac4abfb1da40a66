"""Per-pixel losses: l1 (paper eq. 2) and l2 (mean squared error).

``L^l1(P) = 1/N sum_p |x(p) - y(p)|`` and ``L^l2(P) = 1/N sum_p (x(p) - y(p))^2`` (eq. 1 with
``E(p) = |x(p) - y(p)|`` or its square). Both are plain means over every element, so the spatial
mode makes no difference; ``window`` is accepted only so that every registry loss takes the
same options. ``data_range`` does not scale these losses: it only sets the range outside which
inputs give a :class:`~imgloss.losses.DataRangeWarning` (e.g. 0-255 images with the default 1).
Note: the authors' Caffe ``L2`` layer halves the squared error (``sum diff^2 / N / 2``); ours
does not, so it equals PSNR's MSE.
"""

from __future__ import annotations

import torch

from ..functional.common import reduce
from ..functional.options import LossOptions
from .base import FunctionalLoss


def l1_loss(prediction: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """Mean absolute error (eq. 2) of ``(N, C, H, W)`` tensors; gradient ``sign(x - y) / N``
    (eq. 3). ``options``: the fields of :class:`~imgloss.functional.options.LossOptions`;
    ``data_range`` only sets the range check of ``check_finite`` (the loss is not scaled)."""
    return _l1(prediction, target, LossOptions(**options))


def l2_loss(prediction: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """Mean squared error (``options``: as :func:`l1_loss`)."""
    return _l2(prediction, target, LossOptions(**options))


def _l1(prediction: torch.Tensor, target: torch.Tensor, o: LossOptions) -> torch.Tensor:
    o.check_inputs(prediction, target)
    return reduce((prediction - target).abs().mean(dim=(2, 3)), o.reduction)


def _l2(prediction: torch.Tensor, target: torch.Tensor, o: LossOptions) -> torch.Tensor:
    o.check_inputs(prediction, target)
    return reduce((prediction - target).square().mean(dim=(2, 3)), o.reduction)


class L1Loss(FunctionalLoss):
    """Module form of :func:`l1_loss` (registry name ``"l1"``); options validated here."""

    Options = LossOptions
    compute = staticmethod(_l1)


class L2Loss(FunctionalLoss):
    """Module form of :func:`l2_loss` (registry name ``"l2"``); options validated here."""

    Options = LossOptions
    compute = staticmethod(_l2)
