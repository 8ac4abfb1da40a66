"""Look up a loss by the paper's name: ``get("ssim5", window="patch")``.

Names: ``"l1"``, ``"l2"``, ``"ssimK"`` for any positive ``K`` (``SSIM_K`` of the paper, i.e.
``sigma_G = K``: ``"ssim5"``, ``"ssim9"``, ``"ssim1.5"``), ``"msssim"`` and ``"mix"``; and two
losses from after the paper, ``"charbonnier"`` and ``"psnr"`` (:mod:`imgloss.losses.modern`).
"""

from __future__ import annotations

import re

from .base import FunctionalLoss
from .mix import MixLoss
from .modern import CharbonnierLoss, PSNRLoss
from .msssim_loss import MSSSIMLoss
from .pixel import L1Loss, L2Loss
from .ssim_loss import SSIMLoss

#: The losses of the paper's Table 1 (denoising + demosaicking row), in its column order.
PAPER_LOSSES: tuple[str, ...] = ("l2", "l1", "ssim5", "ssim9", "msssim", "mix")

_FIXED: dict[str, type[FunctionalLoss]] = {
    "l1": L1Loss,
    "l2": L2Loss,
    "msssim": MSSSIMLoss,
    "mix": MixLoss,
    "charbonnier": CharbonnierLoss,
    "psnr": PSNRLoss,
}
_SSIM_K = re.compile(r"ssim(\d+(?:\.\d+)?)")


def ssim_sigma(name: str) -> float | None:
    """``sigma_G`` of an ``"ssimK"`` name (``"ssim5"`` -> 5.0), else ``None`` (case-insensitive)."""
    match = _SSIM_K.fullmatch(name.strip().lower())
    return float(match.group(1)) if match and float(match.group(1)) > 0 else None


def available() -> list[str]:
    """Names accepted by :func:`get` (``ssimK`` stands for any positive ``K``)."""
    return ["l1", "l2", "ssimK", "msssim", "mix", "charbonnier", "psnr"]


def _construct(name: str, factory: type[FunctionalLoss], options: dict) -> FunctionalLoss:
    allowed = factory.option_names()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"loss {name!r} got unknown option(s) {unknown}; valid options: {allowed}")
    return factory(**options)


def get(name: str, **options) -> FunctionalLoss:
    """Return a ready ``nn.Module`` for the loss ``name``, called as ``loss(prediction, target)``.

    Args:
        name: ``"l1"``, ``"l2"``, ``"ssimK"`` (e.g. ``"ssim5"``), ``"msssim"``, ``"mix"``,
            ``"charbonnier"`` or ``"psnr"`` (case-insensitive).
        **options: passed to the module: ``window`` (``"patch"``/``"sliding"``), ``data_range``,
            and the loss's own parameters (``sigmas``, ``alpha``, ``variant``, ...).

    Raises:
        ValueError: unknown name (the message lists the valid ones).
        TypeError: an option the loss does not take.
    """
    if not isinstance(name, str):
        raise TypeError(f"loss name must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    if key in _FIXED:
        return _construct(key, _FIXED[key], options)
    sigma = ssim_sigma(key)
    if sigma is not None:
        if "sigma" in options:
            raise ValueError(f"loss {name!r} fixes sigma={sigma:g}; do not pass sigma as well")
        return _construct(key, SSIMLoss, {"sigma": sigma, **options})
    raise ValueError(
        f"unknown loss {name!r}; valid names: 'l1', 'l2', 'ssimK' for a positive K "
        f"(e.g. 'ssim5', 'ssim9'), 'msssim', 'mix', 'charbonnier', 'psnr'"
    )
