"""The "Which SSIM?" chapter's numbers and figures.

One image pair (a photograph bundled with scikit-image and a seeded noisy copy, or any pair the
caller gives), every convention of :mod:`imgloss.metrics.conventions` on it, each setting that
separates them changed alone, and the paper's patch-centre values next to the whole-image ones.
All values are per-channel means over ``(1, C, H, W)`` pairs in ``[0, 1]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from imgloss.functional.msssim import ms_ssim as loss_ms_ssim
from imgloss.functional.ssim import ssim as loss_ssim
from imgloss.metrics import conventions as cv
from imgloss.metrics import ssim as metric
from imgloss.report import style


def example_pair(sigma: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-image's astronaut (512 x 512) and a copy with Gaussian noise of ``sigma``,
    clipped: ``(noisy, clean)``, each ``(1, 3, 512, 512)`` float64 in ``[0, 1]``."""
    from skimage import data

    clean = torch.from_numpy(data.astronaut().astype(np.float64) / 255).permute(2, 0, 1)[None]
    g = torch.Generator().manual_seed(seed)
    noisy = clean + sigma * torch.randn(clean.shape, generator=g, dtype=torch.float64)
    return noisy.clamp(0, 1), clean


def _value(fn, x: torch.Tensor, y: torch.Tensor, **kwargs) -> float:
    try:
        return float(fn(x, y, **kwargs).mean())
    except ValueError:
        return float("nan")


@dataclass(frozen=True)
class ConventionRow:
    """One convention on the pair: with its own default ``L`` and with ``L = 1``."""

    name: str
    reproduces: str
    default_range: str
    ssim_default: float
    ssim_l1: float
    ms_ssim_l1: float


def convention_rows(x: torch.Tensor, y: torch.Tensor) -> list[ConventionRow]:
    """Every convention of :data:`~imgloss.metrics.conventions.CONVENTIONS` on ``x, y``."""
    rows = []
    for name, conv in cv.CONVENTIONS.items():
        rows.append(
            ConventionRow(
                name=name,
                reproduces=conv.reproduces,
                default_range=str(conv.data_range),
                ssim_default=_value(metric.ssim, x, y, convention=name),
                ssim_l1=_value(metric.ssim, x, y, convention=name, data_range=1.0),
                ms_ssim_l1=_value(metric.ms_ssim, x, y, convention=name, data_range=1.0),
            )
        )
    return rows


def rows_markdown(rows: list[ConventionRow]) -> str:
    """The rows as a Markdown table (NaN: the convention has no such measure)."""

    def f(v: float) -> str:
        return "–" if math.isnan(v) else f"{v:.4f}"

    lines = [
        "| convention | reproduces | its L | SSIM at its L | SSIM, L = 1 | MS-SSIM, L = 1 |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r.name}` | {r.reproduces} | {r.default_range} | {f(r.ssim_default)} | "
            f"{f(r.ssim_l1)} | {f(r.ms_ssim_l1)} |"
        )
    # long names and titles may break anywhere, so that the table fits the text column
    return ":::{div} imgloss-wrap\n" + "\n".join(lines) + "\n:::\n"


@dataclass(frozen=True)
class Difference:
    """One setting changed alone from ``imgloss``'s SSIM: the values before and after."""

    setting: str
    before_label: str
    after_label: str
    before: float
    after: float


#: The settings that separate the conventions, each changed alone: (setting, label before,
#: label after, changes to the imgloss convention).
DIFFERENCES: tuple[tuple[str, str, str, dict], ...] = (
    ("truncation", "11 taps", "13 taps", {"win_size": 13}),
    ("window", "Gaussian 11", "uniform 7", {"window": "uniform", "win_size": 7}),
    ("covariance", "population", "sample (N-1)", {"sample_covariance": True}),
    ("border", "valid", "reflect-padded", {"border": "reflect"}),
    ("downsampling", "none", "ssim.m's f = 2", {"auto_downsample": True}),
    ("data range", "L = 1", "L = 255", {"data_range": 255.0}),
    ("channels", "per channel", "luminance", {"channels": "luminance"}),
)


def differences(x: torch.Tensor, y: torch.Tensor) -> list[Difference]:
    """SSIM with each of :data:`DIFFERENCES` applied alone to the ``imgloss`` convention."""
    base = float(metric.ssim(x, y, convention=cv.IMGLOSS.with_(name="base")).mean())
    out = []
    for setting, before, after, changes in DIFFERENCES:
        value = float(metric.ssim(x, y, convention=cv.IMGLOSS.with_(**changes)).mean())
        out.append(Difference(setting, before, after, base, value))
    return out


@style.styled
def differences_figure(diffs: list[Difference]):
    """One small panel per setting: SSIM before and after changing it alone."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(diffs), figsize=(1.35 * len(diffs), 2.2), sharey=True)
    low = min(min(d.before, d.after) for d in diffs)
    for ax, d in zip(axes, diffs, strict=True):
        ax.bar([0, 1], [d.before, d.after], color=["0.6", "tab:blue"], width=0.7)
        ax.set_xticks([0, 1], [d.before_label, d.after_label], rotation=45, ha="right", fontsize=7)
        ax.set_title(d.setting, fontsize=8)
        ax.set_ylim(max(0.0, low - 0.05), 1.0)
    axes[0].set_ylabel("SSIM")
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class PaperRow:
    """One of the paper's definitions (or Wang's) on the pair."""

    measure: str
    where: str
    value: float


def _centre_patches(x: torch.Tensor, size: int, count: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    h, w = x.shape[-2:]
    tops = torch.randint(0, h - size + 1, (count,), generator=g)
    lefts = torch.randint(0, w - size + 1, (count,), generator=g)
    return torch.cat([x[..., t : t + size, s : s + size] for t, s in zip(tops, lefts, strict=True)])


def paper_rows(
    x: torch.Tensor, y: torch.Tensor, *, patch: int = 31, count: int = 512, seed: int = 0
) -> list[PaperRow]:
    """The paper's patch-centre SSIM and Gaussian MS-SSIM (mean over ``count`` random odd
    patches, as in training), the same on every pixel, and Wang's pyramid MS-SSIM."""
    px, py = _centre_patches(x, patch, count, seed), _centre_patches(y, patch, count, seed)
    return [
        PaperRow("SSIM, σ = 1.5", "every pixel (sliding)", float(loss_ssim(x, y))),
        PaperRow(
            "SSIM, σ = 1.5",
            f"centre of {count} {patch} x {patch} patches",
            float(loss_ssim(px, py, window="patch")),
        ),
        PaperRow(
            "MS-SSIM, paper (5 Gaussians)",
            "every pixel (sliding)",
            float(loss_ms_ssim(x, y, variant="gaussian")),
        ),
        PaperRow(
            "MS-SSIM, paper (5 Gaussians)",
            f"centre of {count} {patch} x {patch} patches",
            float(loss_ms_ssim(px, py, variant="gaussian", window="patch")),
        ),
        PaperRow("MS-SSIM, Wang's pyramid", "whole image", float(metric.ms_ssim(x, y).mean())),
    ]


def paper_markdown(rows: list[PaperRow]) -> str:
    """The rows as a Markdown table."""
    lines = ["| measure | evaluated at | value |", "|---|---|---|"]
    lines += [f"| {r.measure} | {r.where} | {r.value:.4f} |" for r in rows]
    return "\n".join(lines)


#: How Table 1's noisy demosaicking input is scored under each setting of
#: :func:`noisy_input_ssim`: label -> keyword arguments of :func:`imgloss.metrics.ssim.ssim`.
NOISY_INPUT_SETTINGS: dict[str, dict] = {
    "imgloss (Table 1: no downsampling)": {},
    '"matlab" (ssim.m on each channel, its automatic downsampling), L = 1': {
        "convention": "matlab",
        "data_range": 1.0,
    },
}


@dataclass(frozen=True)
class NoisyInputSSIM:
    """The mean SSIM of Table 1's Noisy column (demosaicking) on one test set, per setting."""

    dataset: str
    images: int
    values: dict[str, float]  # NOISY_INPUT_SETTINGS label -> mean over the images


def noisy_input_ssim(root=None, dataset: str = "Kodak24") -> NoisyInputSSIM | None:
    """SSIM of the noisy demosaicking test inputs against their references, as Table 1's Noisy
    column is computed (:mod:`imgloss.experiments.baselines`: whole images, the seeded corruption of
    :meth:`imgloss.design.tasks.Task.test_pair`), under each of :data:`NOISY_INPUT_SETTINGS`;
    ``None`` when ``dataset`` is not readable (no data root, or not under it)."""
    from imgloss.data import DatasetError, load_images
    from imgloss.design import tasks

    try:
        images, _ = load_images(dataset, root)
    except (DatasetError, ValueError, FileNotFoundError):  # not under the root; no data root
        return None
    task = tasks.get("demosaic")
    sums = dict.fromkeys(NOISY_INPUT_SETTINGS, 0.0)
    for name, img in images:
        x, y = task.test_pair(tasks.to_tensor(img), seed=0, dataset=dataset, image=name)
        for label, options in NOISY_INPUT_SETTINGS.items():
            sums[label] += float(metric.ssim(x, y, **options).double().mean())
    return NoisyInputSSIM(dataset, len(images), {k: v / len(images) for k, v in sums.items()})


def noisy_input_markdown(found: NoisyInputSSIM | None, paper_value: float) -> str:
    """The settings' values beside the paper's Noisy SSIM (labelled), or why they are absent."""
    if found is None:
        return (
            "*The test images are not readable here (no data root with Kodak24), so the Noisy "
            f"column cannot be scored; the paper reports SSIM {paper_value:.4f} for it.*"
        )
    lines = [
        f"| SSIM of the noisy input, {found.dataset} ({found.images} images) | value |",
        "|---|---|",
    ]
    lines += [f"| {label} | {value:.4f} |" for label, value in found.values.items()]
    lines.append(f"| *the paper's Table 1 (its own test images)* | *{paper_value:.4f}* |")
    return "\n".join(lines)


def convention_widget(x: torch.Tensor, y: torch.Tensor, rows: list[ConventionRow]):
    """A slider over the conventions showing each one's settings and values (precomputed, so
    it switches in the static HTML too)."""
    from imgloss.teaching import widgets

    views = []
    for r in rows:
        conv = cv.CONVENTIONS[r.name]
        notes = "".join(f"<li>{n}</li>" for n in conv.notes)
        views.append(
            widgets.html(
                f"<p><b>{r.name}</b>: {r.reproduces}</p><p>SSIM {r.ssim_default:.4f} with its "
                f"default L = {r.default_range}; {r.ssim_l1:.4f} at L = 1; MS-SSIM "
                f"{r.ms_ssim_l1:.4f} at L = 1</p><ul>{notes}</ul>"
            )
        )
    return widgets.precomputed_slider([r.name for r in rows], views, description="convention")


def gallery_markdown(pitfalls) -> str:
    """The pitfalls gallery (:func:`imgloss.teaching.ssim_pitfalls.gallery`) as Markdown: one
    section per item with its setup, one row per implementation and the threads."""
    parts = []
    for p in pitfalls:
        rows = "\n".join(f"| {o.implementation} | `{o.call}` | {o.text} |" for o in p.outcomes)
        links = ", ".join(f"<{u}>" for u in p.threads) or "–"
        listed = ", ".join(f"<{u}>" for u in p.listed)
        more = f" Also listed in issue 32: {listed}." if listed else ""
        parts.append(
            f"### {p.title}\n\n*{p.setup}.* {p.explanation}\n\n"
            f"| implementation | call | result |\n|---|---|---|\n{rows}\n\n"
            f"Reported in: {links}.{more}\n"
        )
    return "\n".join(parts)
