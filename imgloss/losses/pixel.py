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

from .common import FunctionalLoss, reduce
from .validation import check_bool, check_data_range, check_pair, check_reduction, check_window


def _per_channel(err: torch.Tensor) -> torch.Tensor:
    return err.mean(dim=(2, 3))


def shared_options(*, data_range: float, reduction: str, check_finite: bool) -> dict:
    """The options every per-pixel loss takes, validated (also used by ``modern``)."""
    return {
        "data_range": check_data_range(data_range),
        "reduction": check_reduction(reduction),
        "check_finite": check_bool("check_finite", check_finite),
    }


def l1_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    reduction: str = "mean",
    check_finite: bool = True,
) -> torch.Tensor:
    """Mean absolute error (eq. 2); gradient ``sign(x - y) / N`` (eq. 3).

    ``data_range`` only sets the range check of ``check_finite`` (the loss is not scaled).
    """
    o = shared_options(data_range=data_range, reduction=reduction, check_finite=check_finite)
    check_pair(prediction, target, check_finite=check_finite, data_range=o["data_range"])
    return reduce(_per_channel((prediction - target).abs()), o["reduction"])


def l2_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    reduction: str = "mean",
    check_finite: bool = True,
) -> torch.Tensor:
    """Mean squared error (``data_range``: as :func:`l1_loss`)."""
    o = shared_options(data_range=data_range, reduction=reduction, check_finite=check_finite)
    check_pair(prediction, target, check_finite=check_finite, data_range=o["data_range"])
    return reduce(_per_channel((prediction - target).square()), o["reduction"])


class _PixelLoss(FunctionalLoss):
    """Per-pixel losses take the shared options; ``window`` changes nothing and ``data_range``
    only sets the range check. All are validated here, in the constructor."""

    def __init__(
        self,
        *,
        window: str = "sliding",
        data_range: float = 1.0,
        reduction: str = "mean",
        check_finite: bool = True,
    ) -> None:
        check_window(window)
        super().__init__(
            **shared_options(data_range=data_range, reduction=reduction, check_finite=check_finite)
        )


class L1Loss(_PixelLoss):
    """Module form of :func:`l1_loss` (registry name ``"l1"``)."""

    loss_fn = staticmethod(l1_loss)


class L2Loss(_PixelLoss):
    """Module form of :func:`l2_loss` (registry name ``"l2"``)."""

    loss_fn = staticmethod(l2_loss)
