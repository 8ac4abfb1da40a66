r"""Gradient Magnitude Similarity Deviation (GMSD), faithful to the authors' MATLAB ``GMSD.m``.

Xue, Zhang, Mou & Bovik, "Gradient Magnitude Similarity Deviation: A Highly Efficient Perceptual
Image Quality Index", IEEE TIP 23(2), 2014. One of the quality measures of Zhao et al., Table 1.

For one grey image pair (reference ``r`` = ``target``, distorted ``d`` = ``prediction``), with
intensities on the 0..255 scale that the constant ``T = 170`` was tuned for:

1. ``r, d <- conv2(., ones(2)/4, 'same')(1:2:end, 1:2:end)``: MATLAB centres the even 2 x 2 kernel
   so that output ``(i, j)`` averages ``x[i:i+2, j:j+2]`` with zeros past the last row/column;
   keeping every other sample gives non-overlapping 2 x 2 block means, ``ceil(H/2) x ceil(W/2)``
   of them (the last block of an odd side averages one or two pixels with zeros).
2. Prewitt gradients ``h_x = [1 0 -1; 1 0 -1; 1 0 -1] / 3``, ``h_y = h_x'``, ``conv2 'same'``
   (zero padding), ``m = sqrt((x*h_x)^2 + (x*h_y)^2)``.
3. Gradient magnitude similarity ``GMS = (2 m_r m_d + T) / (m_r^2 + m_d^2 + T)``.
4. ``GMSD = std2(GMS)``: the standard deviation over all pixels with MATLAB's ``N - 1``
   normalisation.

Lower is better; 0 for identical images. GMSD is symmetric in its two arguments.

Per-channel convention: each channel of an ``(N, C, H, W)`` tensor is scored as the MATLAB code's
grey input, so the result has shape ``(N, C)``; the paper's Table 1 averages over R, G, B.

Differences from ``piq.gmsd`` (0.8.0):

* piq converts RGB input to the luminance ``Y`` of YIQ and returns one value per image; here every
  channel is scored separately (feed piq one channel at a time to compare).
* piq's final deviation divides by ``N`` (population std); MATLAB's ``std2`` and this module
  divide by ``N - 1``: piq's value is ``sqrt((N - 1) / N)`` times ours (a relative difference
  of ``1 / (2N)``, about ``5e-6`` on a 256 x 256 input).
* Everything else is identical: piq's end-padding + 2 x 2 average pooling equals MATLAB's
  ``conv2 'same'`` + ``(1:2:end)`` subsampling for odd and even sizes, and ``T / 255^2`` on the
  0..1 scale equals ``T`` on the 0..255 scale.

Precision: computed in the input dtype (float16/bfloat16 are promoted to float32). GMSD is meant
for evaluation; the square root has an infinite derivative where a gradient magnitude is zero, so
it is not used as a training loss here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..functional.validation import check_data_range, check_pair, to_compute_dtype
from ._matlab import conv2_same_average_downsample

#: GMSD.m's stability constant for intensities on the 0..255 scale.
T = 170.0


def _half_resolution(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``conv2(x, ones(2)/4, 'same')`` followed by ``x(1:2:end, 1:2:end)``:
    ``(B, 1, H, W) -> (B, 1, ceil(H/2), ceil(W/2))``."""
    return conv2_same_average_downsample(x, 2)


def _gradient_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Prewitt gradient magnitude with ``conv2 'same'`` (zero padding). ``(B, 1, H, W)``."""
    hx = torch.tensor([[1.0, 0.0, -1.0]] * 3, dtype=x.dtype, device=x.device) / 3
    kernels = torch.stack([hx, hx.t()]).unsqueeze(1)  # (2, 1, 3, 3)
    # conv2 flips the kernel; the flip only changes the sign of each derivative.
    g = F.conv2d(x, kernels, padding=1)
    return torch.sqrt(g[:, 0:1] ** 2 + g[:, 1:2] ** 2)


def gmsd_map(prediction: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0):
    """The GMS map of every channel, ``(N, C, ceil(H/2), ceil(W/2))`` (``GMSD.m``'s
    ``quality_map``). Arguments as in :func:`gmsd`."""
    data_range = check_data_range(data_range)
    check_pair(prediction, target, data_range=data_range)
    prediction, target = to_compute_dtype(prediction, target)
    n, c, h, w = prediction.shape
    scale = 255.0 / data_range
    both = torch.cat([target, prediction], dim=0).reshape(2 * n * c, 1, h, w) * scale
    grad = _gradient_magnitude(_half_resolution(both))
    m_r, m_d = grad[: n * c], grad[n * c :]
    gms = (2 * m_r * m_d + T) / (m_r**2 + m_d**2 + T)
    return gms.reshape(n, c, *gms.shape[-2:])


def gmsd(
    prediction: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0
) -> torch.Tensor:
    """GMSD of each channel (``GMSD.m``), lower is better, 0 for identical images.

    Args:
        prediction: distorted images, ``(N, C, H, W)``, values in ``[0, data_range]``.
        target: reference images, same shape, dtype and device (GMSD is symmetric, so the order
            does not change the value).
        data_range: the intensity range of the inputs (1 for [0, 1], 255 for 8-bit values);
            inputs are scaled by ``255 / data_range`` because ``T = 170`` is for 0..255.

    Returns:
        ``(N, C)`` tensor: the ``N - 1``-normalised standard deviation of the GMS map of each
        channel, in the compute dtype (at least float32).

    Raises:
        TypeError, ValueError: from :func:`imgloss.functional.validation.check_pair` (not 4-D,
            shapes/devices/dtypes differ, non-finite values; values far outside
            ``[0, data_range]`` give a ``DataRangeWarning``) and ``check_data_range``
            (``data_range`` not a finite positive number); each names the argument.
    """
    gms = gmsd_map(prediction, target, data_range=data_range).flatten(-2)
    if gms.shape[-1] == 1:  # MATLAB's std of a single sample is 0 (torch would give NaN)
        return torch.zeros(gms.shape[:-1], dtype=gms.dtype, device=gms.device)
    return gms.std(dim=-1, correction=1)
