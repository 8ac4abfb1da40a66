"""One style for every figure of the book: sizes, fonts, colour maps, colour bars and labels.

Every plotting function of ``imgloss`` draws inside :func:`context`, a matplotlib style
context (nothing global is changed: the settings hold inside the ``with`` block only), and uses
the helpers below, so that the book's figures look like one report's:

* widths from :data:`FULL_WIDTH` (the text column) and :data:`PANEL` (one image panel);
* one colour per loss (:data:`LOSS_COLOURS`) in every plot and one label per loss
  (:func:`loss_label`: ``l1`` as :math:`\\ell_1`, ``ssim5`` as SSIM\\ :sub:`5`);
* error maps in :data:`ERROR_CMAP` (sequential, from zero), signed maps such as gradients in
  :data:`SIGNED_CMAP` (diverging, centred on zero), each with a colour bar that names the
  quantity and its unit (:func:`colorbar`);
* math in labels as matplotlib mathtext (``$\\sigma_G$``), never as ``σ_G`` with an underscore.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator

#: The width of a figure that spans the text column (inches).
FULL_WIDTH = 10.0
#: The side of one image panel in a grid of panels (inches).
PANEL = 2.4
#: Sequential colour map of non-negative errors (zero is black).
ERROR_CMAP = "magma"
#: Diverging colour map of signed maps (gradients), white at zero.
SIGNED_CMAP = "RdBu_r"
#: The loss of each schedule label, in one colour everywhere.
LOSS_COLOURS = {
    "l2": "#d62728",
    "l1": "#1f77b4",
    "ssim1": "#bcbd22",
    "ssim3": "#8c564b",
    "ssim5": "#2ca02c",
    "ssim9": "#17becf",
    "msssim": "#9467bd",
    "mix": "#ff7f0e",
    "charbonnier": "#e377c2",
    "psnr": "#7f7f7f",
}
_LOSS_TEXT = {
    "l1": r"$\ell_1$",
    "l2": r"$\ell_2$",
    "msssim": "MS-SSIM",
    "mix": "Mix",
    "charbonnier": "Charbonnier",
    "psnr": "PSNR loss",
}

#: The rc settings of :func:`context`.
RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "image.interpolation": "nearest",
    "mathtext.fontset": "dejavusans",
}


@contextlib.contextmanager
def context() -> Iterator[None]:
    """The book's matplotlib settings, inside a ``with`` block only."""
    import matplotlib.pyplot as plt

    with plt.style.context(RC):
        yield


def styled(fn: Callable) -> Callable:
    """Run a plotting function inside :func:`context`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with context():
            return fn(*args, **kwargs)

    return wrapper


def loss_label(label: str) -> str:
    """A schedule label for a figure, with math: ``l1-l2`` -> ``$\\ell_1$ → $\\ell_2$``,
    ``ssim5`` -> ``SSIM$_{5}$``, ``mix_alpha0.5`` -> ``Mix ($\\alpha$ = 0.5)``."""
    from imgloss.design.experiments import label_phases

    phases = []
    for phase in label_phases(label):
        name, _, option = phase.partition("_")
        if name.startswith("ssim") and name[4:]:
            text = f"SSIM$_{{{name[4:]}}}$"
        else:
            text = _LOSS_TEXT.get(name, name)
        if option.startswith("alpha"):
            text += rf" ($\alpha$ = {option[5:]})"
        phases.append(text)
    return " → ".join(phases)


def loss_colour(label: str) -> str:
    """The colour of a schedule: its last loss's (grey for an unknown one)."""
    from imgloss.design.experiments import label_phases

    last = label_phases(label)[-1].partition("_")[0]
    return LOSS_COLOURS.get(last, "0.5")


def colorbar(fig, image, ax, label: str):
    """A colour bar beside ``ax`` for ``image`` (an ``imshow`` result), labelled with the
    quantity and its unit. It is drawn in an inset just right of the panel, so a panel with a
    colour bar keeps the size of one without (all panels of a grid stay equal)."""
    bar = fig.colorbar(image, cax=ax.inset_axes((1.03, 0.0, 0.05, 1.0)))
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return bar


def image_axes(ax) -> None:
    """An image panel: no ticks, no frame."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
