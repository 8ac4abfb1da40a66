"""Figures of the book, from the runner's results files.

* :func:`crop_sets` gathers the paper-style visual comparison (Figs. 1, 3-8): the same crops of
  the same test image for every training loss, as a :class:`CropSet`. Network outputs are read
  from each run's ``crops/`` folder; the input and the reference are cut again from the test
  data, with the very corruption the runs were scored on, or read from the small crops committed
  beside the results (:mod:`imgloss.experiments.figure_inputs`) where the data is not at hand.
* :func:`crops_html` lays them out side by side as zoomable HTML (hover to magnify, pixels kept
  sharp), each crop with its PSNR against the reference.
* :func:`load_curves` and :func:`switching_curves` read the training curves (Section 5.1).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgloss.data import DatasetError
from imgloss.design.experiments import PROFILES, SWITCHES, RunSpec, schedule_label, spec
from imgloss.experiments import figure_inputs
from imgloss.experiments.crops import CROP_REGIONS, CropFile, centre_crop, figure_boxes, test_image
from imgloss.imaging.convert import to_uint8
from imgloss.report import style
from imgloss.results.records import View

CROP_CSS = """
<style>
.imgloss-crops {border-collapse: collapse; margin: 0.5em 0; width: 100%;
  table-layout: fixed !important;}  /* the theme sets auto on rendered HTML tables */
.imgloss-crops td, .imgloss-crops th {padding: 2px 3px; text-align: center; vertical-align: top;
  font-size: 0.8em; border: none; overflow: visible;}
.imgloss-crops img {image-rendering: pixelated; transition: transform 0.12s ease-in-out;
  position: relative; z-index: 1; width: 100%; height: auto;}
.imgloss-crops img:hover {transform: scale(2.6); z-index: 20;
  box-shadow: 0 0 8px rgba(0, 0, 0, 0.6);}
</style>
"""


def _phases(item) -> tuple:
    """``"l1"`` -> one phase; ``("mix", {"alpha": 0.5})`` -> one phase with options;
    ``("l2", "l1")`` -> two phases."""
    if isinstance(item, str):
        return (item,)
    if len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], dict):
        return (item,)
    return tuple(item)


def finished_run(view: View, task: str, *losses, seed: int = 0) -> Path | None:
    """The folder of a finished run of the view, or ``None`` (``losses`` as for
    :func:`imgloss.design.experiments.spec`)."""
    return view.run_folder(task, spec(task, *losses).label, seed)


def read_png(path: str | os.PathLike) -> np.ndarray:
    """An image file as ``H x W x 3`` uint8."""
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


@dataclass
class CropSet:
    """The paper-style visual comparison of one test image (:func:`crop_sets`).

    ``labels`` are the columns (``"input"``, the schedules' labels, ``"reference"``) and
    ``crops`` one row per figure window, ``{label: H x W x 3 uint8}``; ``regions`` says what each
    row shows. ``missing`` lists the schedules without a finished run. ``note`` says where the
    input and the reference come from (the committed crops, with the dataset's licence) or why
    they are not shown.
    """

    task: str
    profile: str
    dataset: str | None = None
    image: str | None = None  # the image's stem, as the runs' crop files spell it
    labels: list[str] = field(default_factory=list)
    crops: list[dict[str, np.ndarray]] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    note: str | None = None
    unavailable: str | None = None  # why the test image itself could not be read here


def _run_folders(view: View, task: str, schedules, seed: int) -> tuple[dict[str, Path], list]:
    """``({label: finished run folder with crops}, [labels of the others])``."""
    folders, missing = {}, []
    for item in schedules:
        label = item.label if isinstance(item, RunSpec) else spec(task, *_phases(item)).label
        folder = view.run_folder(task, label, seed)
        if folder is None or not any((folder / "crops").glob("*-output.png")):
            missing.append(label)
        else:
            folders[label] = folder
    return folders, missing


def crop_sets(
    view: View,
    task: str,
    schedules: list[str | tuple | RunSpec],
    *,
    seed: int = 0,
    root=None,
    with_input: bool = True,
) -> CropSet:
    """The figure crops of ``schedules``: loss names, ``(name, options)`` pairs, or tuples of
    those for multi-phase schedules (``("l2", "l1")``), or ``RunSpec`` records (a run of
    another network), with the input (if ``with_input``) and the reference.

    The input and the reference are cut again from the test data where it is readable, else read
    from the crops committed with the results (:mod:`imgloss.experiments.figure_inputs`); without
    either the set shows the networks' crops alone and its ``note`` says why.
    """
    folders, missing = _run_folders(view, task, schedules, seed)
    out = CropSet(task, view.profile, missing=missing)
    if not folders:
        return out
    first = next(iter(folders.values()))
    names = sorted(CropFile.parse(p.name) for p in (first / "crops").glob("*-output.png"))
    out.dataset, out.image = names[0].dataset, names[0].image
    count = len({c.k for c in names if (c.dataset, c.image) == (out.dataset, out.image)})
    given = _given(view, task, out, count, root)
    out.labels = (["input"] if with_input and given else []) + list(folders)
    out.labels += ["reference"] if given else []
    for k in range(count):
        row = {}
        if with_input and given:
            row["input"] = given[k][0]
        for label, folder in folders.items():
            path = folder / "crops" / CropFile(out.dataset, out.image, k, "output").name
            if path.is_file():
                row[label] = read_png(path)
        if given:
            row["reference"] = given[k][1]
        out.crops.append(row)
        out.regions.append(CROP_REGIONS[k] if k < len(CROP_REGIONS) else f"crop {k + 1}")
    return out


def _given(view: View, task: str, out: CropSet, count: int, root) -> list | None:
    """``[(input, reference)]`` uint8 crops of the set's test image, one per window: cut from
    the data, else the committed ones; ``None`` (and ``out.note`` says why) without either."""
    prof = PROFILES[view.profile]
    assert out.dataset is not None and out.image is not None  # read from the runs' crops
    try:
        x, y = test_image(task, prof, out.dataset, out.image, root)
    except (FileNotFoundError, ValueError, DatasetError) as e:
        out.unavailable = str(e)
    else:  # as the runner saves its crops
        return [
            (to_uint8(x[b].clamp(0, 1)), to_uint8(y[b].clamp(0, 1))) for b in figure_boxes(y, prof)
        ]
    stored = committed_inputs(view, task, out.dataset, out.image)
    if stored is None:
        out.note = (
            f"input and reference not shown: test image {out.dataset}/{out.image} "
            f"unavailable ({out.unavailable})"
        )
        return None
    out.note = (
        f"input and reference: the committed 8-bit crops of {out.dataset}/{out.image}; "
        f"{out.dataset} licence: {stored.licence}"
    )
    return [(stored.crop(k, "input"), stored.crop(k, "reference")) for k in range(count)]


def committed_inputs(view: View, task: str, dataset: str | None, image: str | None):
    """The committed :class:`imgloss.experiments.figure_inputs.FigureInputs` of ``task`` at the
    view's profile when they show ``dataset/image`` (the runs' crops), else ``None``."""
    if view.folder is None:
        return None
    stored = figure_inputs.load(view.folder, view.profile, task)
    if stored is None or (stored.dataset, stored.stem) != (dataset, image):
        return None
    return stored


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (peak 255): ``imgloss.metrics.pixel.psnr`` on them."""
    import torch

    from imgloss.metrics.pixel import psnr as psnr_

    x, y = (torch.from_numpy(np.asarray(v, dtype=np.float64) / 255.0) for v in (a, b))
    # one "image" of all values (H x W x C as 1 x 1 x H x W*C): the MSE over every value
    return float(psnr_(x.reshape(1, 1, x.shape[0], -1), y.reshape(1, 1, y.shape[0], -1)))


def png_data_uri(arr: np.ndarray) -> str:
    """``data:image/png;base64,...`` of a uint8 image (``H x W`` or ``H x W x 3``)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def crops_html(sets: CropSet, *, scale: int = 2, caption: str | None = None) -> str:
    """An HTML table: one row per crop (headed by the region it shows, if known), one column per
    label; PSNR of each crop under it; then the schedules not finished, if any."""
    missing = (
        f"<p><em>Not finished at profile <code>{html.escape(sets.profile)}</code>: "
        f"{html.escape(', '.join(sets.missing))}.</em></p>"
        if sets.missing
        else ""
    )
    if not sets.crops:
        return "<p><em>No finished runs with figure crops.</em></p>" + missing
    regions = sets.regions
    corner = "<th></th>" if regions else ""
    head = corner + "".join(f"<th>{html.escape(label)}</th>" for label in sets.labels)
    rows = []
    for k, row in enumerate(sets.crops):
        cells = [f"<th>{html.escape(regions[k])}</th>"] if k < len(regions) else []
        for label in sets.labels:
            arr = row.get(label)
            if arr is None:
                cells.append("<td>—</td>")
                continue
            size = arr.shape[1] * scale
            ref = row.get("reference")
            note = "" if label == "reference" or ref is None else f"{psnr(arr, ref):.2f} dB"
            cells.append(
                f'<td><img src="{png_data_uri(arr)}" style="max-width: {size}px" '
                f'alt="{html.escape(label)}">'
                f"<br>{note}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if sets.note:
        caption = (caption + " " if caption else "") + f"({sets.note})"
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    table = f'<table class="imgloss-crops">{cap}<tr>{head}</tr>{"".join(rows)}</table>'
    return CROP_CSS + table + missing


def load_curves(folder: Path | None) -> list[dict]:
    """The rows of a run's ``curves.json`` (``[]`` if there is no run)."""
    if folder is None or not (folder / "curves.json").is_file():
        return []
    return json.loads((folder / "curves.json").read_text())["curves"]


def switching_curves(view: View, *, seed: int = 0, metric: str = "val_l2") -> dict[str, dict]:
    """Test-crop curves of the switching runs (Section 5.1), both phases, for ``metric``.

    Keys ``"l1 → l2"`` etc.; values ``{"step": [...], "value": [...], "switch": step}``. A
    continued run's ``curves.json`` holds its parent's first phase too, steps counted on.
    """
    out = {}
    for first, second in SWITCHES:
        rows = load_curves(finished_run(view, "demosaic", first, second, seed=seed))
        if not rows:
            continue
        switch = max((r["step"] for r in rows if r["phase"] == 0), default=0)
        out[f"{first} → {second}"] = {
            "step": [r["step"] for r in rows],
            "value": [r[metric] for r in rows],
            "switch": switch,
        }
    return out


@style.styled
def plot_switching(curves: dict[str, dict], *, title: str = "", scale: float = 1000.0):
    """Fig. 7's inset for our runs: the test-crop curves of :func:`switching_curves`.

    Left, the whole training; right, the steps from the switch on, where the continuations
    differ by a few percent. A switch (l1 → l2, l2 → l1) is drawn solid and the same-loss control
    that continues from the same network (l1 → l1, l2 → l2) dashed in the same colour, so that
    the pairs, identical before the switch, stay visible. Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, (full, zoom) = plt.subplots(1, 2, figsize=(style.FULL_WIDTH, 4), width_ratios=(3, 2))
    for label, c in curves.items():
        first, second = label.split(" → ")
        line = {
            "color": style.loss_colour(first),  # by the loss trained first
            "ls": ":" if first == second else "-",
            "marker": "." if first == second else "o",
            "ms": 5 if first == second else 4,
            "label": style.loss_label(schedule_label(first, second)),
        }
        values = [scale * v for v in c["value"]]
        full.plot(c["step"], values, **line)
        after = [(s, v) for s, v in zip(c["step"], values, strict=True) if s >= c["switch"]]
        if after:
            zoom.plot(*zip(*after, strict=True), **line)
    for ax in (full, zoom):
        if curves:
            ax.axvline(next(iter(curves.values()))["switch"], color="grey", lw=0.8, ls="--")
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    full.set_ylabel(
        rf"{scale:g} · $\ell_2$ on the test crops" if scale != 1 else r"$\ell_2$ on the test crops"
    )
    full.set_title(title or "whole training (the dashed line is the switch)")
    zoom.set_title("from the switch on")
    if curves:
        full.legend()
    fig.tight_layout()
    return fig


def sample_pair(task: str = "demosaic", size: int = 192, *, root=None, seed: int = 0) -> dict:
    """A degraded test image and its reference: a ``size`` centre crop of the first image of the
    task's first test set present (else the embedded photographs), corrupted as in testing.

    Returns ``{"dataset", "image", "input", "target", "source"}`` (tensors ``(1, 3, h, w)``).
    """
    from imgloss.data import load_images, resolve_source
    from imgloss.design import tasks as T

    t = T.get(task)
    dataset = resolve_source(root).test_sets(t)[0]
    images, record = load_images(dataset, root)
    image, img = images[0]
    clean = centre_crop(T.to_tensor(img), size)
    x, y = t.test_pair(clean, seed=seed, dataset=dataset, image=image)
    return {"dataset": dataset, "image": image, "input": x, "target": y, "source": record["source"]}


def gains_over_l2(view: View, task: str = "demosaic", measure: str = "psnr") -> dict:
    """Each Table 1 loss's gain over ``l2`` on ``measure`` (ours and the paper's).

    Ours: the mean paired per-image difference over every seed, with its 95% interval under the
    claims' model (:func:`imgloss.report.claims.difference`: image and pooled training variance);
    the paper's: the difference of its Table 1 values (one run each, no interval). Returns
    ``{"losses": [...], "ours": [(effect, low, high) or None], "paper": [value or None], "n":
    (images, seeds), "dataset": name}``.
    """
    from imgloss.design.experiments import TABLE1_LOSSES
    from imgloss.design.paper import TABLE1
    from imgloss.metrics import LOWER_IS_BETTER
    from imgloss.report.claims import difference

    summary = view.summary("table1")
    datasets = summary.datasets(task) if summary else []
    out: dict[str, Any] = {"losses": [], "ours": [], "paper": [], "n": (0, 0), "dataset": None}
    if not datasets:
        return out
    out["dataset"] = dataset = datasets[0]
    paper = TABLE1.get(task, {})
    sign = -1.0 if measure in LOWER_IS_BETTER else 1.0
    for loss in TABLE1_LOSSES[task]:
        if loss == "l2":
            continue
        found = difference(view, task, dataset, loss, "l2", measure)
        ours = None
        if found is not None:
            est = found[0]
            ours = (est.effect, *est.ci(0.95))
            out["n"] = (est.n_images, est.n_seeds)
        theirs = None
        if loss in paper and "l2" in paper:
            theirs = sign * (paper[loss][measure] - paper["l2"][measure])
        out["losses"].append(loss)
        out["ours"].append(ours)
        out["paper"].append(theirs)
    return out


@style.styled
def plot_gains_over_l2(gains: dict, *, measure_label: str = r"PSNR gain over $\ell_2$ (dB)"):
    """The front page's figure: each loss's gain over ``l2`` (:func:`gains_over_l2`), ours as
    dots with 95% intervals, the paper's as hollow diamonds, on one axis. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(0.8 * style.FULL_WIDTH, 3.2))
    ys = np.arange(len(gains["losses"]))[::-1]
    for y, ours, theirs in zip(ys, gains["ours"], gains["paper"], strict=True):
        if ours is not None:
            effect, low, high = ours
            ax.errorbar(
                effect,
                y,
                xerr=[[effect - low], [high - effect]],
                fmt="o",
                color="tab:blue",
                capsize=3,
                label="ours (95% CI)",
            )
        if theirs is not None:
            ax.plot(theirs, y, "D", mfc="none", color="tab:orange", label="the paper's (one run)")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(ys, [style.loss_label(n) for n in gains["losses"]])
    ax.set_xlabel(measure_label)
    ax.grid(axis="x", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    if unique:
        ax.legend(
            unique.values(),
            unique.keys(),
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
            fontsize="small",
            frameon=False,
        )
    images, seeds = gains["n"]
    ax.set_title(f"{gains['dataset']}: {images} images × {seeds} seeds (ours)", fontsize="medium")
    fig.tight_layout()
    return fig


@style.styled
def plot_gains_by_network(
    gains: dict, losses=None, *, measure_label: str = r"PSNR gain over $\ell_2$ (dB)"
):
    """ "Ten years on": each loss's gain over ``l2`` on the same network, one panel per network
    (``imgloss.report.ten_years.gains_over_l2``, ``{network: [Gain, ...]}``), dots with 95%
    intervals on one shared axis, so that the gaps close or open in plain sight; ``losses`` fixes
    the rows (a loss not run yet leaves its row empty). Returns the figure (``None`` without
    gains)."""
    import matplotlib.pyplot as plt

    if not gains:
        return None
    losses = list(losses or dict.fromkeys(g.loss for v in gains.values() for g in v))
    fig, axes = plt.subplots(
        1,
        len(gains),
        figsize=(style.FULL_WIDTH, 0.45 * len(losses) + 1.2),
        sharex=True,
        sharey=True,
    )
    ys = {loss: y for y, loss in enumerate(reversed(losses))}
    for ax, (network, found) in zip(np.atleast_1d(axes), gains.items(), strict=True):
        for g in found:
            ax.errorbar(
                g.effect,
                ys[g.loss],
                xerr=[[g.effect - g.low], [g.high - g.effect]],
                fmt="o",
                color=style.loss_colour(g.loss),
                capsize=3,
            )
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(list(ys.values()), [style.loss_label(n) for n in ys])
        seeds = max(g.n_seeds for g in found)
        ax.set_title(f"{network} ({found[0].n_images} images × {seeds} seeds)", fontsize="medium")
        ax.set_xlabel(measure_label)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_fig9(edge: dict, bias: dict):
    """Fig. 9 from :func:`imgloss.experiments.toy.edge_experiment` and
    :func:`imgloss.experiments.toy.bias_experiment`; returns the figure.

    (a) the signal and SSIM's Gaussian support at ``P`` for each ``sigma_G``; (b) SSIM across the
    edge, with SSIM at ``P`` (mean ± std over the noise draws) in the legend; (c) the dark|bright
    signal and its biased copy; (d) SSIM of (c).
    """
    import matplotlib.pyplot as plt

    with style.context():
        return _plot(plt, style, edge, bias)


def _plot(plt, style, edge: dict, bias: dict):
    fig, axes = plt.subplots(2, 2, figsize=(style.FULL_WIDTH, 6.2))
    q = np.arange(edge["y"].size)
    ax = axes[0, 0]
    ax.plot(q, edge["x"], color="0.6", lw=0.8, label="noisy")
    ax.plot(q, edge["y"], color="k", label="clean edge")
    for s, g in edge["support"].items():
        ax.plot(q, 0.1 + g / g.max() * 0.6, label=rf"support, $\sigma_G$ = {s:g}")
    ax.axvline(edge["pixel"], color="r", ls=":")
    ax.annotate(
        "P",
        (edge["pixel"], 0),
        xytext=(-3, 3),
        textcoords="offset points",
        xycoords=("data", "axes fraction"),
        color="r",
        ha="right",
    )
    ax.set_title("(a) signal and SSIM's support at P", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    for s, prof in edge["profile"].items():
        m, sd = edge["ssim_at_pixel"][s]
        ax.plot(q, prof, label=f"SSIM$_{{{s:g}}}$: at P {m:.3f} ± {sd:.3f}")
    ax.axvline(edge["pixel"], color="r", ls=":")
    ax.set_title("(b) SSIM across the edge", fontsize=10)
    ax.legend(fontsize=7)
    q = np.arange(bias["y"].size)
    ax = axes[1, 0]
    ax.plot(q, bias["y"], color="k", label="clean")
    ax.plot(q, bias["x"], color="tab:orange", label=f"biased by +{bias['bias']:g}")
    ax.axvline(bias["pixel"], color="r", ls=":")
    ax.annotate(
        "S",
        (bias["pixel"], 0),
        xytext=(3, 3),
        textcoords="offset points",
        xycoords=("data", "axes fraction"),
        color="r",
    )
    ax.set_ylim(0, 1)
    ax.set_title("(c) the same bias on a dark and a bright region", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    ax.plot(q, bias["profile"], color="tab:orange")
    ax.axvline(bias["pixel"], color="r", ls=":")
    ax.set_title(f"(d) SSIM$_{{{bias['sigma']:g}}}$ of (c)", fontsize=10)
    fig.tight_layout()
    return fig
