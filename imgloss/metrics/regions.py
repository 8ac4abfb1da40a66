"""Edge and flat regions of a reference image, and the PSNR of each region.

The paper's qualitative claims are about regions: ``l2`` leaves "splotchy artifacts in flat
regions" while it keeps edges sharp (Sec. 3, Fig. 1), and "smaller values of sigma_G produce
better results at edges, but worse results in flat regions" (Sec. 5.2, Fig. 8). These measures
make the claims testable. The masks come from the **reference** image only, so every network
is judged on the same pixels.

The rule (:func:`region_masks`), for a reference ``y`` in ``[0, 1]``:

1. luminance ``Y = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601 luma), smoothed with a Gaussian of
   ``sigma = 1`` pixel (reflected borders), so that noise-free texture, not single pixels, makes
   the gradient;
2. gradient magnitude ``g = |grad Y|`` by central differences;
3. **edge** pixels: ``g`` at or above its 85th percentile in the image (the 15% strongest
   gradients) and ``g > 0``;
4. **flat** pixels: the local gradient activity ``a = G_4 * g`` (a Gaussian of ``sigma = 4``)
   at or below its 30th percentile (the 30% of pixels farthest from any structure). Splotches
   are low-frequency errors, visible where nothing in a neighbourhood masks them.

Percentiles per image give every image both regions in fixed shares, so an image full of
texture still has its calmest 30% judged as "flat". A constant reference has no edge pixel, and
its ``psnr_edge`` is NaN.

``psnr_edge`` and ``psnr_flat`` are ``10 log10(L^2 / MSE)`` over the region's pixels (all three
channels), per image: ``(N, 3, H, W) -> (N,)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..functional.filters import gaussian_1d, gaussian_radius
from ..functional.validation import check_data_range, check_pair

#: BT.601 luma weights of R, G and B.
LUMA = (0.299, 0.587, 0.114)
#: Smoothing of the luminance before its gradient (pixels).
GRADIENT_SIGMA = 1.0
#: The share of pixels called edges, with a gradient at or above this quantile.
EDGE_QUANTILE = 0.85
#: Neighbourhood (Gaussian sigma, pixels) of the gradient activity that defines flat regions.
ACTIVITY_SIGMA = 4.0
#: The share of pixels called flat, with an activity at or below this quantile.
FLAT_QUANTILE = 0.30


def _smooth(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian filter of ``(N, 1, H, W)`` with reflected borders (same size)."""
    r = min(gaussian_radius(sigma), x.shape[-2] - 1, x.shape[-1] - 1)
    if r < 1:
        return x
    g = gaussian_1d(sigma, r, dtype=x.dtype, device=x.device)
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, g.view(1, 1, 1, -1))
    return F.conv2d(x, g.view(1, 1, -1, 1))


def gradient_magnitude(target: torch.Tensor) -> torch.Tensor:
    """``|grad (G_1 * Y)|`` of RGB images ``(N, 3, H, W)``: ``(N, 1, H, W)`` (steps 1-2)."""
    weights = torch.tensor(LUMA, dtype=target.dtype, device=target.device).view(1, 3, 1, 1)
    y = _smooth((target * weights).sum(dim=1, keepdim=True), GRADIENT_SIGMA)
    padded = F.pad(y, (1, 1, 1, 1), mode="replicate")
    gx = (padded[..., 1:-1, 2:] - padded[..., 1:-1, :-2]) / 2
    gy = (padded[..., 2:, 1:-1] - padded[..., :-2, 1:-1]) / 2
    return torch.sqrt(gx.square() + gy.square())


def _at_or_beyond(values: torch.Tensor, q: float, *, above: bool) -> torch.Tensor:
    flat = values.flatten(1)
    threshold = torch.quantile(flat.double(), q, dim=1).to(values.dtype).view(-1, 1, 1, 1)
    return values >= threshold if above else values <= threshold


def region_masks(target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(edge, flat)`` boolean masks ``(N, 1, H, W)`` of reference images ``(N, 3, H, W)``
    (the rule of the module docstring), computed in ``target``'s floating dtype."""
    if target.dim() != 4 or target.shape[1] != 3:
        raise ValueError(f"target must be RGB images (N, 3, H, W), got {tuple(target.shape)}")
    cached = _LAST_MASKS.get("key")
    key = (id(target), target._version, target.shape, target.dtype, target.device)
    if cached is not None and cached[0] is target and cached[1] == key:
        return cached[2]
    t = target if target.is_floating_point() else target.double()
    g = gradient_magnitude(t.float() if t.dtype in (torch.float16, torch.bfloat16) else t)
    edge = _at_or_beyond(g, EDGE_QUANTILE, above=True) & (g > 0)
    flat = _at_or_beyond(_smooth(g, ACTIVITY_SIGMA), FLAT_QUANTILE, above=False)
    _LAST_MASKS["key"] = (target, key, (edge, flat))
    return edge, flat


# The masks of the last reference: psnr_edge and psnr_flat of one evaluation share them.
_LAST_MASKS: dict = {}


def _region_psnr(prediction, target, data_range, which: int) -> torch.Tensor:
    data_range = check_data_range(data_range)
    check_pair(prediction, target, data_range=data_range)
    if prediction.shape[1] != 3:
        raise ValueError(f"images must be RGB (N, 3, H, W), got {tuple(prediction.shape)}")
    mask = region_masks(target)[which].to(prediction.dtype)
    squared = (prediction - target).square().sum(dim=1, keepdim=True)
    mse = (squared * mask).sum(dim=(1, 2, 3)) / (3 * mask.sum(dim=(1, 2, 3)))
    return 10 * torch.log10(data_range**2 / mse)


def psnr_edge(
    prediction: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0
) -> torch.Tensor:
    """PSNR over the edge pixels of ``target`` (dB, ``(N,)``; NaN if it has none)."""
    return _region_psnr(prediction, target, data_range, 0)


def psnr_flat(
    prediction: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0
) -> torch.Tensor:
    """PSNR over the flat pixels of ``target`` (dB, ``(N,)``)."""
    return _region_psnr(prediction, target, data_range, 1)
