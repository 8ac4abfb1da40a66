"""SSIM and MS-SSIM under any :class:`~imgloss.metrics.conventions.SSIMConvention`.

A plain, float64 computation from the five moment maps, written to follow each convention's
record setting by setting (the fast, differentiable losses live in :mod:`imgloss.losses`). For
``(N, C, H, W)`` inputs,

    mu_x = w * x,  sigma_x^2 = s (w * x^2 - mu_x^2),  sigma_xy = s (w * xy - mu_x mu_y),

with ``w`` the separable window, ``s = NP / (NP - 1)`` for a sample covariance (else 1), and
``*`` a correlation over the convention's border (valid, or padded to keep ``H x W``). SSIM is
the mean of the map ``l * cs`` per channel: ``(N, C)`` (``(N, 1)`` for ``channels="luminance"``).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ..functional.filters import gaussian_1d
from ..functional.msssim import ms_ssim as _ms_ssim_measure
from ._matlab import auto_factor, box_downsample
from .conventions import LUMA_WEIGHTS, SSIMConvention


def resolve_range(x: torch.Tensor, y: torch.Tensor, data_range: float | str) -> float:
    """``L``: a number as given; ``"from_data"`` is ``max(x.max() - x.min(), y.max() - y.min())``
    over the whole batch (torchmetrics' ``data_range=None``)."""
    if data_range == "from_data":
        return float(max(x.max() - x.min(), y.max() - y.min()))
    return float(data_range)


def window_1d(conv: SSIMConvention, device: torch.device) -> torch.Tensor:
    """The convention's 1-D window, ``(win_size,)`` float64, summing to one."""
    if conv.window == "uniform":
        return torch.full((conv.win_size,), 1.0 / conv.win_size, dtype=torch.float64, device=device)
    return gaussian_1d(conv.sigma, conv.win_size // 2, device=device)


def _pad(x: torch.Tensor, border: str, radius: int) -> torch.Tensor:
    if border == "valid" or radius == 0:
        return x
    mode = "reflect" if border == "reflect" else "constant"
    return F.pad(x, (radius, radius, radius, radius), mode=mode)


def _filter(stack: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable valid correlation of every plane of ``(N, K, H, W)`` with ``kernel kernel^T``."""
    k, planes = kernel.numel(), stack.shape[1]
    out = F.conv2d(stack, kernel.view(1, 1, 1, k).expand(planes, 1, 1, k), groups=planes)
    return F.conv2d(out, kernel.view(1, 1, k, 1).expand(planes, 1, k, 1), groups=planes)


class Maps(NamedTuple):
    """The maps of eq. 4 at every window position: luminance, contrast-structure, SSIM."""

    lum: torch.Tensor
    cs: torch.Tensor
    ssim: torch.Tensor


def lcs_maps(
    x: torch.Tensor,
    y: torch.Tensor,
    conv: SSIMConvention,
    kernel: torch.Tensor,
    data_range: float,
) -> Maps:
    """Maps of eq. 4, each ``(N, C, H', W')``; ``ssim = l cs`` (with ``eps`` in its denominator).

    ``H' = H - k + 1`` for a valid border, ``H`` for a padded one (``k = kernel.numel()``).
    """
    c = x.shape[1]
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    m = _filter(_pad(stack, conv.border, kernel.numel() // 2), kernel).split(c, dim=1)
    mu_x, mu_y = m[0], m[1]
    scale = 1.0
    if conv.sample_covariance:
        np_ = kernel.numel() ** 2
        scale = np_ / (np_ - 1)
    var_x = scale * (m[2] - mu_x * mu_x)
    var_y = scale * (m[3] - mu_y * mu_y)
    cov = scale * (m[4] - mu_x * mu_y)
    if conv.clamp_variance:
        var_x, var_y = var_x.clamp(min=0), var_y.clamp(min=0)
    c1, c2 = (conv.k1 * data_range) ** 2, (conv.k2 * data_range) ** 2
    lum_num, lum_den = 2 * mu_x * mu_y + c1, mu_x * mu_x + mu_y * mu_y + c1
    cs_num, cs_den = 2 * cov + c2, var_x + var_y + c2
    ssim = (lum_num * cs_num) / (lum_den * cs_den + conv.eps)
    return Maps(lum_num / lum_den, cs_num / cs_den, ssim)


def _check_fits(x: torch.Tensor, size: int, conv: SSIMConvention, what: str) -> None:
    h, w = x.shape[-2:]
    need = size if conv.border == "valid" else size // 2 + 1
    if min(h, w) < need:
        raise ValueError(
            f"{what}: image of H x W = {h} x {w} is too small for the {size}-tap window of the "
            f"{conv.name!r} convention (both sides must be at least {need} pixels)"
        )


def to_channels(x: torch.Tensor, conv: SSIMConvention) -> torch.Tensor:
    """``x`` as float64 planes: per channel, or MATLAB ``rgb2gray`` luminance ``(N, 1, H, W)``."""
    x = x.to(torch.float64)
    if conv.channels == "per_channel":
        return x
    if x.shape[1] != 3:
        raise ValueError(f"channels='luminance' needs RGB input, got {x.shape[1]} channels")
    w = torch.tensor(LUMA_WEIGHTS, dtype=torch.float64, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def ssim(
    x: torch.Tensor, y: torch.Tensor, conv: SSIMConvention, data_range: float | str
) -> torch.Tensor:
    """SSIM per image and channel, ``(N, C)`` float64, under ``conv``."""
    x, y = to_channels(x, conv), to_channels(y, conv)
    if conv.auto_downsample:
        f = auto_factor(*x.shape[-2:])
        x, y = box_downsample(x, f), box_downsample(y, f)
    kernel = window_1d(conv, x.device)
    _check_fits(x, kernel.numel(), conv, "SSIM")
    return lcs_maps(x, y, conv, kernel, resolve_range(x, y, data_range)).ssim.mean(dim=(2, 3))


def pool(x: torch.Tensor, pooling: str) -> torch.Tensor:
    """One pyramid step, ``(N, C, H, W) -> (N, C, ~H/2, ~W/2)``, by the convention's rule."""
    if pooling == "symmetric":
        return box_downsample(x, 2)
    if pooling == "zero_pad_first":
        return F.avg_pool2d(x, 2, padding=[x.shape[-2] % 2, x.shape[-1] % 2])
    return F.avg_pool2d(x, 2)


def _crop(v: torch.Tensor, r: int) -> torch.Tensor:
    return v[..., r:-r, r:-r] if r else v


def _pyramid(x: torch.Tensor, y: torch.Tensor, conv: SSIMConvention, data_range: float | str):
    """Wang's MS-SSIM under ``conv``: ``(N, C)``; a negative base is clamped or gives NaN."""
    kernel = window_1d(conv, x.device)
    terms = []
    last = len(conv.ms_weights) - 1
    for j in range(last + 1):
        if j:
            x, y = pool(x, conv.ms_pooling), pool(y, conv.ms_pooling)
        _check_fits(x, kernel.numel(), conv, f"MS-SSIM scale {j + 1} of {last + 1}")
        maps = lcs_maps(x, y, conv, kernel, resolve_range(x, y, data_range))
        if j == last:
            terms.append(maps.ssim.mean(dim=(2, 3)))
        else:
            r = kernel.numel() // 2 if conv.ms_cs_valid and conv.border != "valid" else 0
            terms.append(_crop(maps.cs, r).mean(dim=(2, 3)))
    values = torch.stack(terms)
    if conv.ms_negative == "clamp":
        values = values.clamp(min=0)
    weights = torch.tensor(conv.ms_weights, dtype=values.dtype, device=values.device)
    return values.pow(weights.view(-1, 1, 1)).prod(dim=0)


def _gaussians_padded(x: torch.Tensor, y: torch.Tensor, conv: SSIMConvention, data_range: float):
    """The paper's Gaussian MS-SSIM on one padded window for all sigmas (kornia): ``(N, C)``.

    ``MS-SSIM(p) = l_M(p) prod_i cs_i(p)``, ``l_M`` at the largest sigma, all Gaussians on
    ``2 R + 1`` taps with ``R = int(truncate * sigma_max)``, averaged over the full map.
    """
    conv = dataclasses.replace(conv, border=conv.ms_border or conv.border)
    radius = int(conv.ms_truncate * max(conv.ms_sigmas))
    _check_fits(x, 2 * radius + 1, conv, "MS-SSIM")
    product, lum_top = None, None
    for sigma in conv.ms_sigmas:
        kernel = gaussian_1d(sigma, radius, device=x.device)
        maps = lcs_maps(x, y, conv, kernel, data_range)
        product = maps.cs if product is None else product * maps.cs
        if sigma == max(conv.ms_sigmas):
            lum_top = maps.lum
    assert product is not None and lum_top is not None
    return (lum_top * product).mean(dim=(2, 3))


def ms_ssim(
    x: torch.Tensor, y: torch.Tensor, conv: SSIMConvention, data_range: float | str
) -> torch.Tensor:
    """MS-SSIM per image and channel, ``(N, C)`` float64, under ``conv``."""
    if conv.ms_variant == "none":
        raise ValueError(f"the {conv.name!r} convention ({conv.reproduces}) has no MS-SSIM")
    x, y = to_channels(x, conv), to_channels(y, conv)
    if conv.ms_variant == "pyramid":
        return _pyramid(x, y, conv, data_range)
    range_ = resolve_range(x, y, data_range)
    if (conv.ms_border or conv.border) != "valid":
        return _gaussians_padded(x, y, conv, range_)
    return _ms_ssim_measure(
        x,
        y,
        variant="gaussian",
        sigmas=conv.ms_sigmas,
        data_range=range_,
        k1=conv.k1,
        k2=conv.k2,
        reduction="none",
        check_finite=False,
    )
