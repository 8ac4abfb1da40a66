"""The shared machinery under the losses and the measures.

* ``validation``: one checker per option and the input checks
  (:func:`~imgloss.functional.validation.check_pair`), with :class:`DataRangeWarning`;
* ``options``: each loss's and measure's options, one frozen dataclass
  each, validated once;
* ``filters`` and ``stats``: Gaussian windows and
  the SSIM statistics (eqs. 4-5) with their closed-form gradients (eqs. 8-10);
* ``ssim`` and ``msssim``: SSIM and MS-SSIM, the
  measures that :mod:`imgloss.losses` subtracts from one and :mod:`imgloss.metrics` reports
  under its conventions;
* ``fused``: the fused Triton paths of those measures.

Layer 1: it may import ``imgloss.core`` only; :mod:`imgloss.losses` and :mod:`imgloss.metrics`
(layer 2) both build on it and never on each other.
"""

from .msssim import ms_ssim
from .options import PAPER_SIGMAS, WANG_WEIGHTS, LossOptions, MSSSIMOptions, SSIMOptions
from .ssim import ssim, ssim_map
from .validation import DataRangeWarning

__all__ = [
    "PAPER_SIGMAS",
    "WANG_WEIGHTS",
    "DataRangeWarning",
    "LossOptions",
    "MSSSIMOptions",
    "SSIMOptions",
    "ms_ssim",
    "ssim",
    "ssim_map",
]
