"""Per-pixel maps of the paper's losses, for figures and the interactive sweeps.

For a prediction ``x`` and a target ``y`` (``(N, C, H, W)``, sliding mode), the map of a loss is
the per-pixel error whose mean over the map and the channels *is* that loss:

* ``l1``: ``|x - y|``; ``l2``: ``(x - y)^2`` (eqs. 1-2), on the whole image;
* ``ssimK``: ``1 - SSIM(p)`` with ``sigma_G = K`` (eqs. 4-6), on the region where the window fits;
* ``msssim``: ``1 - l_M(p) prod_i cs_i(p)`` with the paper's Gaussians (eqs. 11-13);
* ``mix``: ``alpha (1 - MS-SSIM(p)) + (1 - alpha) (G_{sigma_M} * |x - y|)(p)`` (eq. 14).

Maps of windowed losses are smaller than the image by the window's radius on each side;
:func:`align` crops a set of maps to their common centre region so they can be compared pixel for
pixel.
"""

from __future__ import annotations

import torch

from .losses._common import constants
from .losses._validation import check_data_range, check_pair
from .losses.mix import PAPER_ALPHA, _check_alpha
from .losses.msssim import PAPER_SIGMAS, _gaussian_sliding_maps
from .losses.registry import ssim_sigma
from .losses.ssim import ssim_map


def loss_map(
    name: str,
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    alpha: float = PAPER_ALPHA,
    sigmas: tuple[float, ...] = PAPER_SIGMAS,
    data_range: float = 1.0,
) -> torch.Tensor:
    """The per-pixel map ``(N, C, h, w)`` of the loss ``name`` (``l1``, ``l2``, ``ssimK``,
    ``msssim``, ``mix``); ``alpha`` is Mix's weight, ``sigmas`` MS-SSIM's Gaussians."""
    check_pair(prediction, target)
    data_range = check_data_range(data_range)
    x, y = prediction.double(), target.double()
    if name == "l1":
        return (x - y).abs()
    if name == "l2":
        return (x - y) ** 2
    sigma = ssim_sigma(name)  # the loss registry's reading of "ssimK"
    if sigma is not None:
        return 1 - ssim_map(x, y, sigma=sigma, data_range=data_range)
    if name in ("msssim", "mix"):
        c1, c2 = constants(data_range, 0.01, 0.03)
        maps, l1 = _gaussian_sliding_maps(x, y, tuple(sigmas), c1, c2, extra=(x - y).abs())
        if name == "msssim":
            return 1 - maps
        a = _check_alpha(alpha)
        assert l1 is not None
        return a * (1 - maps) + (1 - a) * l1 / data_range
    raise ValueError(f"name must be l1, l2, ssimK (e.g. ssim5), msssim or mix; got {name!r}")


def align(maps: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Crop every map to the centre region of the smallest one (same ``h x w`` for all)."""
    if not maps:
        return {}
    h = min(m.shape[-2] for m in maps.values())
    w = min(m.shape[-1] for m in maps.values())
    out = {}
    for key, m in maps.items():
        top, left = (m.shape[-2] - h) // 2, (m.shape[-1] - w) // 2
        out[key] = m[..., top : top + h, left : left + w]
    return out
