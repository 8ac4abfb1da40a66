"""The noise-level sweep: how the maps of the losses grow with the noise, and where.

One draw of standard Gaussian noise is scaled by each level ``s`` and added to a reference crop,
then clipped to ``[0, 1]``, so that the levels differ in the size of the noise and never in its
pattern. For each level, :func:`compute` gives the per-pixel maps of the losses (by default
:data:`LOSSES`) of the noisy crop against the reference
(:func:`imgloss.teaching.maps.loss_map`, averaged over the colour channels and cut to the
region they share by :func:`imgloss.teaching.maps.align`) and the noisy crop cut to that region.
:func:`slider` shows them one level at a time in the static book, each loss on one colour scale
over every level (:func:`limits`), so that moving the slider shows the loss growing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from imgloss.report import style
from imgloss.teaching import maps

#: The noise levels of the sweep, standard deviations of the Gaussian noise on ``[0, 1]`` images.
LEVELS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2)
#: The losses whose maps the sweep shows (names of :func:`imgloss.teaching.maps.loss_map`).
LOSSES: tuple[str, ...] = ("l1", "l2", "ssim5", "mix")


@dataclass
class NoiseLevel:
    """One level of the sweep: the noisy crop and the maps of the losses, all of one size."""

    level: float  # the noise's standard deviation
    noisy: torch.Tensor  # (1, 3, h, w), the noisy crop (clipped) cut to the maps' region
    maps: dict[str, np.ndarray]  # loss name -> (h, w) map, averaged over the colour channels


def compute(
    reference: torch.Tensor,
    levels: Sequence[float] = LEVELS,
    losses: Sequence[str] = LOSSES,
    *,
    seed: int = 0,
) -> list[NoiseLevel]:
    """The sweep on ``reference`` (``(1, 3, H, W)`` in ``[0, 1]``): one :class:`NoiseLevel` per
    level, the noise drawn once from ``seed`` on the CPU and scaled by each level."""
    if reference.ndim != 4 or reference.shape[:2] != (1, 3):
        raise ValueError(f"reference must be (1, 3, H, W), got {tuple(reference.shape)}")
    if not levels or any(not 0 <= s < float("inf") for s in levels):
        raise ValueError(f"levels must be standard deviations >= 0, got {list(levels)}")
    reference = reference.detach().cpu()
    generator = torch.Generator().manual_seed(seed)
    base = torch.randn(reference.shape, generator=generator, dtype=reference.dtype)
    out = []
    for s in levels:
        noisy = (reference + s * base).clamp(0, 1)
        aligned = maps.align({n: maps.loss_map(n, noisy, reference)[0].mean(0) for n in losses})
        h, w = next(iter(aligned.values())).shape
        top, left = (noisy.shape[-2] - h) // 2, (noisy.shape[-1] - w) // 2
        out.append(
            NoiseLevel(
                float(s),
                noisy[..., top : top + h, left : left + w],
                {n: m.detach().numpy() for n, m in aligned.items()},
            )
        )
    return out


def limits(sweep: Sequence[NoiseLevel]) -> dict[str, float]:
    """Each loss's colour scale over the whole sweep: the largest of its maps' 99th
    percentiles (one outlier pixel does not wash out the others)."""
    return {
        n: max(float(np.percentile(level.maps[n], 99)) for level in sweep) for n in sweep[0].maps
    }


def slider(sweep: Sequence[NoiseLevel], *, initial: int = 2):
    """The slider over the levels (:func:`imgloss.teaching.widgets.precomputed_slider`): for
    each, the noisy crop and every loss's map with its mean, all panels of one size."""
    from imgloss.teaching import widgets
    from imgloss.teaching.sweeps import panel

    scale = limits(sweep)
    views = []
    for level in sweep:
        row: dict[str, object] = {
            "input": panel(
                widgets.to_uint8(level.noisy), title=f"noise s = {level.level:g}", kind="rgb"
            ),
        }
        for n, m in level.maps.items():
            title = f"{style.loss_label(n)}: mean {float(m.mean()):.4f}"
            row[n] = panel(m, title=title, kind="error", limit=scale[n])
        views.append(widgets.image_row(row))
    return widgets.precomputed_slider(
        [f"{level.level:g}" for level in sweep], views, description="noise s", initial=initial
    )
