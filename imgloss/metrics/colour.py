"""Signed colour measures: are a network's colours duller (less saturated) than the reference?

The paper says that SSIM and MS-SSIM are "not particularly sensitive to uniform biases ... This
can cause changes of brightness or shifts of colors, which typically become more dull" (Sec. 4,
and Sec. 5.2 for demosaicking). ``colour_bias`` (``imgloss.metrics.pixel``) measures the
size of a mean colour shift but not its direction; :func:`chroma_shift` measures the direction:

``chroma_shift(x, y) = mean_p [C*(x(p)) - C*(y(p))]``, with ``C* = sqrt(a*^2 + b*^2)`` the
CIELAB chroma (sRGB input in ``[0, 1]``, D65 white, the CIE 1976 formulas as in
``skimage.color.rgb2lab``). It is in CIELAB chroma units (a vivid sRGB red has ``C*`` of about
105, a grey 0): **negative means duller colours** than the reference, positive more saturated.
"""

from __future__ import annotations

import torch

from ..functional.validation import check_pair

#: Linear sRGB to CIE XYZ (D65), the matrix of ``skimage.color``.
_RGB_TO_XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
#: The D65 white point (CIE 1931 2-degree observer) in XYZ.
_WHITE = (0.95047, 1.0, 1.08883)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """CIELAB ``(L*, a*, b*)`` of sRGB images ``(N, 3, H, W)`` in ``[0, 1]``: ``(N, 3, H, W)``."""
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055).clamp_min(0) ** 2.4)
    matrix = torch.tensor(_RGB_TO_XYZ, dtype=rgb.dtype, device=rgb.device)
    white = torch.tensor(_WHITE, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    xyz = torch.einsum("ij,njhw->nihw", matrix, linear) / white
    eps = 0.008856
    f = torch.where(xyz > eps, xyz.clamp_min(eps) ** (1 / 3), 7.787 * xyz + 16 / 116)
    fx, fy, fz = f.unbind(dim=1)
    return torch.stack((116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)), dim=1)


def chroma(rgb: torch.Tensor) -> torch.Tensor:
    """CIELAB chroma ``C* = sqrt(a*^2 + b*^2)`` per pixel: ``(N, 3, H, W) -> (N, H, W)``."""
    lab = rgb_to_lab(rgb)
    return torch.hypot(lab[:, 1], lab[:, 2])


def chroma_shift(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean chroma change ``mean_p C*(x) - C*(y)`` per image, ``(N,)``: negative = duller."""
    check_pair(prediction, target)
    if prediction.shape[1] != 3:
        raise ValueError(f"images must be RGB (N, 3, H, W), got {tuple(prediction.shape)}")
    x, y = prediction.double(), target.double()
    return (chroma(x) - chroma(y)).mean(dim=(1, 2)).to(prediction.dtype)
