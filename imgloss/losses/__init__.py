"""The paper's losses as validated PyTorch functions and modules.

Functional API (index or loss, NCHW tensors, ``data_range``, ``window="sliding"|"patch"``)::

    ssim, ssim_map, ssim_loss, ms_ssim, ms_ssim_loss, mix_loss, l1_loss, l2_loss
    charbonnier_loss, psnr_loss   # two losses from after the paper

Module API, and the registry that uses the paper's names::

    loss = imgloss.losses.get("mix", window="patch")   # or "l1", "l2", "ssim5", "msssim"
    loss(prediction, target).backward()

Each loss's options are one frozen dataclass (:class:`SSIMOptions`, :class:`MSSSIMOptions`,
:class:`MixOptions`, :class:`LossOptions`, ...), validated where they are given (module
constructors, and every functional call); a module keeps them in ``loss.options``;
inputs far outside ``[0, data_range]`` (e.g. 0-255 images with the default ``data_range=1``)
give a :class:`DataRangeWarning` unless ``check_finite=False``.

The measures under the SSIM-family losses (``ssim``, ``ms_ssim``, ``ssim_map``) live in
:mod:`imgloss.functional` and are re-exported here; a loss is one minus its measure.

Layer 2: the paper's losses. It may import ``imgloss.core`` and ``imgloss.functional``.
"""

from ..functional.msssim import ms_ssim
from ..functional.options import (
    PAPER_SIGMAS,
    WANG_WEIGHTS,
    LossOptions,
    MSSSIMOptions,
    SSIMOptions,
)
from ..functional.ssim import ssim, ssim_map
from ..functional.validation import DataRangeWarning
from .closed_form import (
    mix_patch_gradient,
    msssim_patch_gradient,
    ssim_patch_gradient,
)
from .mix import PAPER_ALPHA, MixLoss, MixOptions, mix_loss
from .modern import (
    CharbonnierLoss,
    CharbonnierOptions,
    PSNRLoss,
    PSNROptions,
    charbonnier_loss,
    psnr_loss,
)
from .msssim_loss import MSSSIMLoss, ms_ssim_loss
from .pixel import L1Loss, L2Loss, l1_loss, l2_loss
from .registry import PAPER_LOSSES, available, get
from .ssim_loss import SSIMLoss, ssim_loss

__all__ = [
    "PAPER_ALPHA",
    "PAPER_LOSSES",
    "PAPER_SIGMAS",
    "WANG_WEIGHTS",
    "CharbonnierLoss",
    "CharbonnierOptions",
    "DataRangeWarning",
    "L1Loss",
    "L2Loss",
    "LossOptions",
    "MSSSIMLoss",
    "MSSSIMOptions",
    "MixLoss",
    "MixOptions",
    "PSNRLoss",
    "PSNROptions",
    "SSIMLoss",
    "SSIMOptions",
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
