"""The paper's losses as validated PyTorch functions and modules.

Functional API (index or loss, NCHW tensors, ``data_range``, ``window="sliding"|"patch"``)::

    ssim, ssim_map, ssim_loss, ms_ssim, ms_ssim_loss, mix_loss, l1_loss, l2_loss
    charbonnier_loss, psnr_loss   # two losses from after the paper

Module API, and the registry that uses the paper's names::

    loss = imgloss.losses.get("mix", window="patch")   # or "l1", "l2", "ssim5", "msssim"
    loss(prediction, target).backward()

Options are validated where they are given (module constructors, and every functional call);
inputs far outside ``[0, data_range]`` (e.g. 0-255 images with the default ``data_range=1``)
give a :class:`DataRangeWarning` unless ``check_finite=False``.

Layer 1: the paper's losses. It may import ``imgloss.core`` only.
"""

from .closed_form import (
    mix_patch_gradient,
    msssim_patch_gradient,
    ssim_patch_gradient,
)
from .mix import PAPER_ALPHA, MixLoss, mix_loss
from .modern import CharbonnierLoss, PSNRLoss, charbonnier_loss, psnr_loss
from .msssim import PAPER_SIGMAS, WANG_WEIGHTS, MSSSIMLoss, ms_ssim, ms_ssim_loss
from .pixel import L1Loss, L2Loss, l1_loss, l2_loss
from .registry import PAPER_LOSSES, available, get
from .ssim import SSIMLoss, ssim, ssim_loss, ssim_map
from .validation import DataRangeWarning

__all__ = [
    "PAPER_ALPHA",
    "PAPER_LOSSES",
    "PAPER_SIGMAS",
    "WANG_WEIGHTS",
    "CharbonnierLoss",
    "DataRangeWarning",
    "L1Loss",
    "L2Loss",
    "MSSSIMLoss",
    "MixLoss",
    "PSNRLoss",
    "SSIMLoss",
    "available",
    "charbonnier_loss",
    "get",
    "l1_loss",
    "l2_loss",
    "mix_loss",
    "mix_patch_gradient",
    "ms_ssim",
    "ms_ssim_loss",
    "msssim_patch_gradient",
    "psnr_loss",
    "ssim",
    "ssim_loss",
    "ssim_map",
    "ssim_patch_gradient",
]
