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

from imgloss.functional.common import constants
from imgloss.functional.msssim import PAPER_SIGMAS, gaussian_sliding_maps
from imgloss.functional.ssim import ssim_map
from imgloss.functional.validation import check_alpha, check_data_range, check_pair
from imgloss.losses.mix import PAPER_ALPHA
from imgloss.losses.registry import ssim_sigma


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
        maps, l1 = gaussian_sliding_maps(x, y, tuple(sigmas), c1, c2, extra=(x - y).abs())
        if name == "msssim":
            return 1 - maps
        a = check_alpha(alpha)
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


def plot_loss_maps(
    prediction: torch.Tensor,
    target: torch.Tensor,
    names: list[str],
    *,
    prediction_label: str = "prediction",
    title: str = "",
    columns: int = 4,
):
    """The prediction, the target and the map of each loss in ``names``, side by side.

    Shows image 0 of the ``(N, 3, H, W)`` pair, cropped to the region common to all maps
    (:func:`align`); each map is averaged over the channels, its colour scale ends at its 99th
    percentile, and its title gives its mean (the loss, up to the channel average). Returns the
    matplotlib figure.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from imgloss.report import style

    error = align({n: loss_map(n, prediction, target) for n in names})
    crop = next(iter(error.values())).shape[-1]
    border = (target.shape[-1] - crop) // 2
    inner = (0, slice(None), slice(border, border + crop), slice(border, border + crop))
    panels = len(names) + 2
    rows = -(-panels // columns)
    with style.context():
        fig, axes = plt.subplots(
            rows, columns, figsize=(style.FULL_WIDTH, 1.1 * style.PANEL * rows), squeeze=False
        )
        flat = list(axes.flat)
        for ax, label, img in zip(
            flat, (prediction_label, "reference"), (prediction, target), strict=False
        ):
            ax.imshow(img[inner].detach().permute(1, 2, 0).clamp(0, 1).cpu().numpy())
            ax.set_title(label)
        for ax, name in zip(flat[2:], names, strict=False):
            m = error[name][0].detach().mean(0).cpu().numpy()
            im = ax.imshow(m, cmap=style.ERROR_CMAP, vmin=0, vmax=float(np.percentile(m, 99)))
            ax.set_title(f"{style.loss_label(name)}: loss {m.mean():.4f}")
            style.colorbar(fig, im, ax, "per-pixel loss")
        for ax in flat:
            style.image_axes(ax)
        for ax in flat[panels:]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def plot_patch_gradients(losses: dict, prediction: torch.Tensor, target: torch.Tensor):
    """``|dL/dx|`` over one patch for each loss of ``losses`` (``{title: loss module}``), summed
    over the channels: where a patch loss sends its gradient (paper eqs. 3 and 8-10). Patch 0 of
    the ``(N, 3, P, P)`` pair; one colour bar per panel. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    from imgloss.report import style

    with style.context():
        fig, axes = plt.subplots(
            1, len(losses), figsize=(style.FULL_WIDTH, 1.1 * style.PANEL), squeeze=False
        )
        for ax, (title, loss_fn) in zip(axes[0], losses.items(), strict=True):
            xg = prediction.detach().clone().requires_grad_(True)
            loss_fn(xg, target).backward()
            assert xg.grad is not None
            shown = ax.imshow(xg.grad[0].abs().sum(0).numpy(), cmap=style.ERROR_CMAP)
            ax.set_title(title)
            style.image_axes(ax)
            style.colorbar(fig, shown, ax, r"$|\partial \mathcal{L} / \partial x|$")
        side = prediction.shape[-1]
        fig.suptitle(f"|gradient| over one {side} × {side} patch (summed over the channels)")
        fig.tight_layout()
    return fig
