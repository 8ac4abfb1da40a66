"""The nine image-quality measures of the paper's Table 1, faithful to their original code.

``evaluate(prediction, target)`` returns, for NCHW RGB tensors in ``[0, data_range]``:

===========  =====================================  ======  ==========================
name         measure                                better  implementation
===========  =====================================  ======  ==========================
``l2``       mean squared error (Table 1: x 1000)   lower
``psnr``     ``10 log10(L^2 / l2)`` per image, dB   higher
``l1``       mean absolute error (Table 1: x 1000)  lower
``ssim``     Wang et al. 2004, per channel          higher  ``imgloss.metrics.ssim``
``ms_ssim``  Wang et al. 2003, per channel          higher  ``imgloss.metrics.ssim``
``iw_ssim``  Wang & Li 2011, per channel            higher  ``imgloss.metrics.iwssim``
``gmsd``     Xue et al. 2014, per channel           lower   ``imgloss.metrics.gmsd``
``fsim``     Zhang et al. 2011, per channel         higher  ``imgloss.metrics.fsim``
``fsimc``    Zhang et al. 2011, colour (YIQ)        higher  ``imgloss.metrics.fsim``
===========  =====================================  ======  ==========================

As in Table 1, SSIM, MS-SSIM, IW-SSIM, GMSD and FSIM are computed on each of R, G and B
separately and averaged; FSIMc is the colour version. ``target`` is the reference image: it
matters for IW-SSIM (its information weights come from the reference) and for FSIM/FSIMc's
argument order in the MATLAB code. :func:`evaluate_dataset` evaluates a whole test set image by
image and averages per image, as the paper does.

Input checks: inputs far outside ``[0, data_range]`` (above ``1.5 * data_range`` or below
``-0.5 * data_range``; typically 0-255 images with the default ``data_range=1``) give one
:class:`~imgloss.functional.DataRangeWarning` per call (per dataset for :func:`evaluate_dataset`,
naming the images); the individual measures that take ``data_range`` warn too. A NaN value (FSIM
and FSIMc of two constant images are NaN, as in the authors' MATLAB code) gives a
:class:`MetricNaNWarning` naming the image(s) and the measure; means over it stay NaN.

Layer 2: the measures. It may import ``imgloss.core`` and :mod:`imgloss.functional` (the input
checks, the filters and the SSIM measures it shares with the losses), never
:mod:`imgloss.losses`.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from ..functional.validation import (
    DataRangeWarning,
    check_bool,
    check_data_range,
    check_pair,
    check_values,
    range_check_suppressed,
    warn_outside,
)


class MetricNaNWarning(UserWarning):
    """A measure is NaN for an image (e.g. FSIM of two constant images): its means are NaN."""


_NAN_CAUSES = {
    "fsim": "FSIM is 0/0 = NaN where neither image has phase congruency, e.g. two constant "
    "images, as in the authors' FeatureSIM.m",
    "fsimc": "FSIMc is 0/0 = NaN where neither image's luminance has phase congruency, e.g. two "
    "constant images, as in the authors' FeatureSIM.m",
}


def _warn_nan(metric: str, images: Sequence[str], mean_of: str) -> None:
    cause = _NAN_CAUSES.get(metric, "a degenerate input")
    warn_outside(
        f"{metric} is NaN for {', '.join(repr(i) for i in images)} ({cause}); "
        f"the mean of {metric} over {mean_of} is NaN",
        MetricNaNWarning,
    )


def _check_downsample(ssim_downsample: bool | None) -> bool | None:
    return None if ssim_downsample is None else check_bool("ssim_downsample", ssim_downsample)


#: The measures, in Table 1's row order.
METRICS: tuple[str, ...] = (
    "l2",
    "psnr",
    "l1",
    "ssim",
    "ms_ssim",
    "iw_ssim",
    "gmsd",
    "fsim",
    "fsimc",
)
#: The measures beyond Table 1, reported next to it, are the colour shift and the chroma change of
#: Section 5.2 (:mod:`imgloss.metrics.colour`), the PSNR of edge and flat regions (Sec. 3,
#: Fig. 8; :mod:`imgloss.metrics.regions`), and SSIM under ``ssim.m``'s convention, automatic
#: downsampling included (:func:`imgloss.metrics.ssim.ssim_matlab`; the paper does not say which
#: SSIM code it ran).
EXTRA_METRICS: tuple[str, ...] = (
    "colour_bias",
    "chroma_shift",
    "psnr_edge",
    "psnr_flat",
    "ssim_matlab",
)
#: Measures for which a lower value is better (Table 1's caption).
LOWER_IS_BETTER = frozenset({"l2", "l1", "gmsd", "colour_bias"})
#: Signed measures, best at zero (a chroma change of either sign is a change).
BEST_AT_ZERO = frozenset({"chroma_shift"})
#: Table 1's labels.
LABELS = {
    "l2": "1000·ℓ2",
    "psnr": "PSNR",
    "l1": "1000·ℓ1",
    "ssim": "SSIM",
    "ms_ssim": "MS-SSIM",
    "iw_ssim": "IW-SSIM",
    "gmsd": "GMSD",
    "fsim": "FSIM",
    "fsimc": "FSIMc",
    "colour_bias": "1000·colour bias",
    "chroma_shift": "chroma shift",
    "psnr_edge": "PSNR (edges)",
    "psnr_flat": "PSNR (flat)",
    "ssim_matlab": "SSIM (ssim.m)",
    "fsim_luminance": "FSIM (luminance)",
}
#: Table 1 prints l2 and l1 multiplied by 1000.
DISPLAY_SCALE = {"l2": 1000.0, "l1": 1000.0, "colour_bias": 1000.0}

# name -> (module, function, per-channel?, takes data_range?)
_IMPLEMENTATIONS: dict[str, tuple[str, str, bool, bool]] = {
    "l2": ("pixel", "mse", False, False),
    "psnr": ("pixel", "psnr", False, True),
    "l1": ("pixel", "mae", False, False),
    "ssim": ("ssim", "ssim", True, True),
    "ms_ssim": ("ssim", "ms_ssim", True, True),
    "iw_ssim": ("iwssim", "iw_ssim", True, True),
    "gmsd": ("gmsd", "gmsd", True, True),
    "fsim": ("fsim", "fsim", True, True),
    "fsimc": ("fsim", "fsimc", False, True),
    "colour_bias": ("pixel", "colour_bias", False, False),
    "chroma_shift": ("colour", "chroma_shift", False, False),
    "psnr_edge": ("regions", "psnr_edge", False, True),
    "psnr_flat": ("regions", "psnr_flat", False, True),
    "ssim_matlab": ("ssim", "ssim_matlab", True, True),
    # on request only: FeatureSIM.m's first output for colour images (why FSIMc < FSIM there)
    "fsim_luminance": ("fsim", "fsim_luminance", False, True),
}


def metric_function(name: str) -> Callable[..., torch.Tensor]:
    """The function computing measure ``name`` (``(N, C, H, W)`` pair -> ``(N,)`` or ``(N, C)``)."""
    if name not in _IMPLEMENTATIONS:
        raise ValueError(
            f"unknown metric {name!r}; choose from {', '.join(METRICS + EXTRA_METRICS)}"
        )
    module, fn, _, _ = _IMPLEMENTATIONS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), fn)


def check_metrics(metrics: Sequence[str] | None) -> tuple[str, ...]:
    """``metrics`` as a tuple of known names (``None``: all nine)."""
    if metrics is None:
        return METRICS
    if isinstance(metrics, str):
        raise TypeError(f"metrics must be a sequence of names, got the string {metrics!r}")
    unknown = [m for m in metrics if m not in _IMPLEMENTATIONS]
    if unknown:
        raise ValueError(
            f"unknown metric(s) {unknown}; choose from {', '.join(METRICS + EXTRA_METRICS)}"
        )
    if not metrics:
        raise ValueError("metrics must not be empty")
    return tuple(metrics)


@torch.no_grad()
def evaluate_batch(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    metrics: Sequence[str] | None = None,
    ssim_downsample: bool | None = None,
) -> dict[str, torch.Tensor]:
    """Every measure per image: ``{name: (N,) tensor}`` (per-channel measures averaged over C).

    Args:
        prediction: ``(N, 3, H, W)`` images to judge, in ``[0, data_range]``.
        target: ``(N, 3, H, W)`` reference images.
        metrics: a subset of :data:`METRICS` (default: all nine).
        ssim_downsample: SSIM's automatic downsampling (see
            ``imgloss.metrics.ssim.SSIM_DOWNSAMPLE_DEFAULT``); ``None`` keeps the default.

    Values far outside ``[0, data_range]`` give one :class:`~imgloss.functional.DataRangeWarning`.
    """
    data_range = check_data_range(data_range)
    names = check_metrics(metrics)
    ssim_downsample = _check_downsample(ssim_downsample)
    check_pair(prediction, target, data_range=data_range)
    if prediction.shape[1] != 3:
        raise ValueError(
            f"prediction must be RGB, (N, 3, H, W), got {tuple(prediction.shape)} (expand a grey "
            "image to three equal channels first)"
        )
    x, y = prediction, target
    if x.dtype in (torch.float16, torch.bfloat16):
        x, y = x.float(), y.float()
    out: dict[str, torch.Tensor] = {}
    with range_check_suppressed():  # checked once above, not once per measure
        for name in names:
            _, _, per_channel, takes_range = _IMPLEMENTATIONS[name]
            kwargs: dict = {"data_range": data_range} if takes_range else {}
            if name == "ssim" and ssim_downsample is not None:
                kwargs["downsample"] = ssim_downsample
            value = metric_function(name)(x, y, **kwargs)
            out[name] = value.mean(dim=1) if per_channel else value
    return out


def evaluate(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    metrics: Sequence[str] | None = None,
    ssim_downsample: bool | None = None,
) -> dict[str, float]:
    """Every measure, averaged over the images of the batch: ``{name: float}``.

    See :func:`evaluate_batch` for the arguments; ``evaluate(x, y)["psnr"]`` is the mean of the
    per-image PSNRs, as in Table 1. A measure that is NaN for some image of the batch gives a
    :class:`MetricNaNWarning` naming the image indices, and its mean is NaN.
    """
    values = evaluate_batch(
        prediction,
        target,
        data_range=data_range,
        metrics=metrics,
        ssim_downsample=ssim_downsample,
    )
    for name, v in values.items():
        nan = torch.isnan(v).nonzero().flatten().tolist()
        if nan:
            _warn_nan(name, [f"image {i} of the batch" for i in nan], "the batch")
    return {name: float(v.double().mean()) for name, v in values.items()}


@dataclass
class MetricTable:
    """Per-image values of a set of measures on one test set, and their means.

    ``rows[image] = {metric: value}``; :meth:`MetricTable.mean` averages per image (Table 1's
    convention).

    NaN values are kept (FSIM/FSIMc of two constant images is NaN, as in the authors' code):
    :meth:`add` warns with a :class:`MetricNaNWarning` naming the image and the measure, and the
    mean of that measure is NaN, so that no number silently averages over fewer images than
    the table holds. (``MetricTable.from_dict`` re-reads stored values without warning again.)
    """

    metrics: tuple[str, ...]
    rows: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, image: str, values: dict[str, float], *, warn: bool = True) -> None:
        """Add one image's row; a NaN value gives a :class:`MetricNaNWarning` if ``warn``."""
        if image in self.rows:
            raise ValueError(f"image {image!r} is already in the table")
        row = {m: float(values[m]) for m in self.metrics}
        if warn:
            for m, v in row.items():
                if math.isnan(v):
                    _warn_nan(m, [image], "the table")
        self.rows[image] = row

    def mean(self) -> dict[str, float]:
        """``{metric: mean over the images}`` (a :class:`ValueError` if there are none).

        A measure that is NaN for any image has a NaN mean (see the class docstring).
        """
        if not self.rows:
            raise ValueError("the table is empty")
        return {
            m: math.fsum(r[m] for r in self.rows.values()) / len(self.rows) for m in self.metrics
        }

    def to_dict(self) -> dict:
        return {"metrics": list(self.metrics), "mean": self.mean(), "per_image": self.rows}

    @classmethod
    def from_dict(cls, d: dict) -> MetricTable:
        table = cls(tuple(d["metrics"]))
        for image, values in d["per_image"].items():
            table.add(image, values, warn=False)
        return table


def evaluate_dataset(
    pairs: Iterable[tuple[str, torch.Tensor, torch.Tensor]],
    *,
    data_range: float = 1.0,
    metrics: Sequence[str] | None = None,
    ssim_downsample: bool | None = None,
    batch_size: int = 8,
    progress: bool | str = True,
    total: int | None = None,
) -> MetricTable:
    """Evaluate ``(image name, prediction, target)`` triples, one row per image.

    ``prediction`` and ``target`` are ``(3, H, W)`` or ``(1, 3, H, W)``; consecutive images of the
    same size are batched (up to ``batch_size``), which is what makes a GPU fast here. Images
    may differ in size. ``progress`` shows a tqdm bar (a string is used as its label).

    Every option is checked before the first image is read. Images with values far outside
    ``[0, data_range]`` give a :class:`~imgloss.functional.DataRangeWarning` at the first one (named)
    and, if there are more, one more at the end naming all of them; a NaN value gives a
    :class:`MetricNaNWarning` naming the image and the measure (see :class:`MetricTable`).
    """
    names = check_metrics(metrics)
    data_range = check_data_range(data_range)
    ssim_downsample = _check_downsample(ssim_downsample)
    if not (isinstance(batch_size, int) and not isinstance(batch_size, bool) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    table = MetricTable(names)
    pending: list[tuple[str, torch.Tensor, torch.Tensor]] = []
    out_of_range: list[str] = []

    def flush() -> None:
        if not pending:
            return
        x = torch.cat([p for _, p, _ in pending])
        y = torch.cat([t for _, _, t in pending])
        with range_check_suppressed():  # checked per image below, with the image's name
            values = evaluate_batch(
                x, y, data_range=data_range, metrics=names, ssim_downsample=ssim_downsample
            )
        for i, (image, _, _) in enumerate(pending):
            table.add(image, {m: float(values[m][i]) for m in names})
        pending.clear()

    label = progress if isinstance(progress, str) else "evaluating"
    for image, prediction, target in tqdm(
        pairs, desc=label, total=total, unit="img", disable=not progress, leave=False
    ):
        x, y = (t if t.dim() == 4 else t.unsqueeze(0) for t in (prediction, target))
        check_pair(x, y, check_finite=False)
        message = check_values(x, y, data_range=data_range, warn=False)
        if message is not None:
            out_of_range.append(image)
            if len(out_of_range) == 1:
                warn_outside(f"image {image!r}: {message}", DataRangeWarning)
        if pending and (x.shape != pending[0][1].shape or len(pending) == batch_size):
            flush()
        pending.append((image, x, y))
    flush()
    if len(out_of_range) > 1:
        warn_outside(
            f"{len(out_of_range)} of {len(table.rows)} images have values far outside "
            f"[0, data_range] = [0, {data_range:g}]: {', '.join(map(repr, out_of_range))} "
            "(see the first warning)",
            DataRangeWarning,
        )
    return table


__all__ = [
    "BEST_AT_ZERO",
    "DISPLAY_SCALE",
    "EXTRA_METRICS",
    "LABELS",
    "LOWER_IS_BETTER",
    "METRICS",
    "MetricNaNWarning",
    "MetricTable",
    "check_metrics",
    "evaluate",
    "evaluate_batch",
    "evaluate_dataset",
    "metric_function",
]
