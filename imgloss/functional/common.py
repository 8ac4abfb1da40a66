"""Constants, windows, size checks and reductions shared by the SSIM-family functions."""

from __future__ import annotations

import torch

from .filters import gaussian_1d, gaussian_radius
from .validation import check_k, check_reduction, check_sigma, check_win_size


def constants(data_range: float, k1: float, k2: float) -> tuple[float, float]:
    """``C1 = (k1 L)^2`` and ``C2 = (k2 L)^2`` (paper eq. 4; Wang et al. 2004)."""
    k1, k2 = check_k("k1", k1), check_k("k2", k2)
    return (k1 * data_range) ** 2, (k2 * data_range) ** 2


def sliding_kernel(
    sigma: float, win_size: int | None, like: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """1-D sliding Gaussian and its size; ``win_size=None`` uses the 3.5-sigma rule."""
    sigma = check_sigma(sigma)
    win_size = check_win_size(win_size)
    radius = gaussian_radius(sigma) if win_size is None else win_size // 2
    return gaussian_1d(sigma, radius, dtype=like.dtype, device=like.device), 2 * radius + 1


def check_fits(x: torch.Tensor, size: int, what: str) -> None:
    """Sliding mode needs the whole window inside the image at least once."""
    h, w = x.shape[-2:]
    if h < size or w < size:
        raise ValueError(
            f"image of H x W = {h} x {w} is too small for {what}: both sides must be at least "
            f"{size} pixels"
        )


def reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce per-(image, channel) values of shape ``(N, C)``."""
    reduction = check_reduction(reduction)
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values
