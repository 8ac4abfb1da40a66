"""The non-network columns of Table 1: Noisy (demosaic), Bilinear (sr), Original JPEG (jpeg).

``baseline_table(task)`` corrupts every test image of the task exactly as the networks' inputs
are corrupted (:meth:`imgloss.tasks.Task.test_pair`) and scores the corrupted image against the
clean one with all nine measures. ``write_baselines`` stores one JSON file per task with the
per-image values, the per-dataset means, the paper's values for the same column (labelled as the
paper's) and the provenance (commit, data, device, date).

For ``demosaic`` it also reports the PSNR of the noisy *mosaic* itself (before demosaicking)
and :func:`noise_analysis`, which explains the gap to the paper's 28.24 dB: the noise variance
``a y + b`` grows with intensity, so a test set's noisy PSNR is set by its mean brightness.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from . import degradations as D
from . import tasks as T
from .data import is_present, load_images
from .metrics import METRICS, evaluate_dataset
from .paper import PAPER_TEST_SET, TABLE1
from .provenance import provenance, write_json


def noise_analysis(task: T.Task, images, dataset: str, seed: int) -> dict:
    """Why a test set's noisy-input PSNR is what it is.

    Without clipping, the noise of a pixel of intensity ``y`` has variance ``a y + b``, so the
    expected MSE of a mosaic is ``a * mean(y) + b``: the PSNR is set by the images' mean
    intensity. Returns the measured mosaic PSNR, the mean mosaic intensity, the PSNR that the
    model predicts from it (``-10 log10(a mean(y) + b)``, per image, averaged), and the mean
    intensity that the paper's 28.24 dB would imply for its own test images.
    """
    measured, predicted, means = [], [], []
    for name, img in images:
        clean = T.to_tensor(img)
        gen = torch.Generator().manual_seed(T.image_seed(seed, task.name, dataset, name))
        mosaic = D.bayer_mosaic(clean)
        noisy = D.poisson_gaussian(mosaic, generator=gen)
        measured.append(-10 * math.log10(float((noisy - mosaic).square().mean())))
        mean = float(mosaic.mean())
        means.append(mean)
        predicted.append(-10 * math.log10(D.FOI_A * mean + D.FOI_B))
    paper_psnr = TABLE1["demosaic"]["Noisy"]["psnr"]
    return {
        "mosaic_psnr": sum(measured) / len(measured),
        "mean_mosaic_intensity": sum(means) / len(means),
        "model_predicted_mosaic_psnr": sum(predicted) / len(predicted),
        "paper_psnr_implies_mean_intensity": (10 ** (-paper_psnr / 10) - D.FOI_B) / D.FOI_A,
    }


def resolve_test_sets(
    task: T.Task, datasets: list[str] | None = None, root: str | os.PathLike | None = None
) -> list[str]:
    """``datasets`` if given, else the task's test sets present under the data root, else
    ``["embedded_test"]`` (the bundled photographs), so that a fresh machine still runs."""
    if datasets:
        return list(datasets)
    present = [d for d in task.test_sets if is_present(d, root)]
    return present or ["embedded_test"]


def baseline_table(
    task_name: str,
    datasets: list[str] | None = None,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    root: str | os.PathLike | None = None,
    metrics: list[str] | None = None,
) -> dict:
    """Table 1's baseline column for ``task_name`` on each dataset: a JSON-ready dict."""
    task = T.get(task_name)
    device = torch.device(device)
    out: dict = {
        "task": task.name,
        "column": task.baseline,
        "seed": seed,
        "datasets": {},
    }
    data_records = []
    for dataset in resolve_test_sets(task, datasets, root):
        images, record = load_images(dataset, root)
        data_records.append(record)

        def pairs(images=images, dataset=dataset):
            for name, img in images:
                clean = T.to_tensor(img, device)
                x, y = task.test_pair(clean, seed=seed, dataset=dataset, image=name)
                yield name, x, y

        table = evaluate_dataset(
            pairs(), metrics=metrics, total=len(images), progress=f"{task.name}/{dataset}"
        )
        entry = table.to_dict()
        if task.name == "demosaic":
            entry.update(noise_analysis(task, images, dataset, seed))
        out["datasets"][dataset] = entry
    out["paper"] = {
        "test_set": PAPER_TEST_SET,
        "values": TABLE1[task.name][task.baseline],
        "note": "reported in the paper's Table 1 on its own test set; not computed by imgloss",
    }
    out["provenance"] = provenance(device, data=data_records, metrics=list(metrics or METRICS))
    return out


def write_baselines(
    out_dir: str | os.PathLike = "results/baselines",
    task_names: list[str] | None = None,
    **options,
) -> list[Path]:
    """Compute and atomically write ``<out_dir>/<task>.json`` for each task; return the paths."""
    paths = []
    for name in task_names or list(T.TASKS):
        result = baseline_table(name, **options)
        path = Path(out_dir) / f"{name}.json"
        write_json(path, result)
        paths.append(path)
    return paths


def format_table(result: dict) -> str:
    """A Markdown table of one task's baseline column: our datasets next to the paper's."""
    from .metrics import DISPLAY_SCALE, LABELS

    datasets = list(result["datasets"])
    head = ["measure", *[f"{d} (ours)" for d in datasets], "paper (FiveK)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    paper = result["paper"]["values"]
    for m in result["provenance"]["metrics"]:
        scale = DISPLAY_SCALE.get(m, 1.0)
        cells = [f"{result['datasets'][d]['mean'][m] * scale:.4f}" for d in datasets]
        lines.append(f"| {LABELS[m]} | " + " | ".join(cells) + f" | {paper[m] * scale:.4f} |")
    return "\n".join(lines)
