"""The pixel measures of Table 1: ``l2`` (MSE), PSNR and ``l1`` (MAE), one value per image.

Each is taken over all pixels and channels of an image, ``(N, C, H, W) -> (N,)``. The paper
reports ``1000 * l2`` and ``1000 * l1`` for images in ``[0, 1]``; we return the plain values.
PSNR is computed per image, ``10 log10(L^2 / MSE)``, then averaged over a test set (as Table 1:
its noisy-input PSNR of 28.24 dB is higher than ``10 log10(1 / mean MSE) = 27.8`` dB).
"""

from __future__ import annotations

import torch

from ..functional.validation import check_data_range, check_pair


def mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image: ``(N,)``."""
    check_pair(prediction, target)
    return (prediction - target).square().mean(dim=(1, 2, 3))


def mae(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image: ``(N,)``."""
    check_pair(prediction, target)
    return (prediction - target).abs().mean(dim=(1, 2, 3))


def psnr(
    prediction: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0
) -> torch.Tensor:
    """``10 log10(L^2 / MSE)`` per image in dB: ``(N,)``; ``inf`` for identical images.

    Values far outside ``[0, data_range]`` give a ``DataRangeWarning`` (the PSNR of 0-255 images
    with ``data_range=1`` is 48 dB too low). ``mse``, ``mae`` and ``colour_bias`` take no range
    and do not check it.
    """
    data_range = check_data_range(data_range)
    check_pair(prediction, target, data_range=data_range)
    mse_ = (prediction - target).square().mean(dim=(1, 2, 3))
    return 10 * torch.log10(data_range**2 / mse_)


def colour_bias(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Norm of the mean colour error per image: ``|| mean_p(x_c(p) - y_c(p)) ||_2`` over the
    channels ``c``: ``(N, C, H, W) -> (N,)``. Not a Table 1 measure: it quantifies the colour
    shifts that the paper observes for SSIM-trained networks (Section 5.2), which a per-pixel
    error mixes with noise and an SSIM per channel barely sees."""
    check_pair(prediction, target)
    return (prediction - target).mean(dim=(2, 3)).norm(dim=1)
