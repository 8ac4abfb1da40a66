"""The non-network columns of Table 1: Noisy (demosaic), Bilinear (sr), Original JPEG (jpeg).

``baseline_table(task)`` corrupts every test image of the task exactly as the networks' inputs are
corrupted (:meth:`imgloss.design.tasks.Task.test_pair`) and scores the corrupted image against the
clean one with all nine measures. ``write_baselines`` stores one
:class:`imgloss.results.records.BaselineRecord` per task under the data source's results folder with
the per-image values, the per-dataset means, the paper's values for the same column (labelled as the
paper's) and the provenance (commit, data by checksum, device, date).

For ``demosaic`` it also reports the PSNR of the noisy *mosaic* itself (before demosaicking)
and :func:`noise_analysis`, which explains the gap to the paper's 28.24 dB: the noise variance
``a y + b`` grows with intensity, so a test set's noisy PSNR is set by its mean brightness.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import torch

from imgloss.core.errors import InputError
from imgloss.core.provenance import provenance
from imgloss.data import load_images
from imgloss.data.source import DataSource
from imgloss.data.source import resolve as resolve_source
from imgloss.design import tasks as T
from imgloss.design.paper import PAPER_TEST_SETS, TABLE1
from imgloss.imaging import degradations as D
from imgloss.metrics import METRICS, MetricTable, evaluate_dataset

#: The default measures of the non-network columns, Table 1's nine and SSIM under ``ssim.m``'s
#: convention (the noisy input's SSIM under both says which convention the paper's is nearer).
BASELINE_METRICS: tuple[str, ...] = (*METRICS, "ssim_matlab")
from imgloss.results.records import BaselineRecord
from imgloss.results.workspace import Workspace


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


def test_sets(
    task: T.Task, datasets: list[str] | None = None, source: DataSource | None = None
) -> list[str]:
    """``datasets`` if given (each must belong to ``source``), else the task's test sets in the
    data source (the registered ones present under the data root, or ``embedded_test``)."""
    source = source or resolve_source()
    if not datasets:
        return list(source.test_sets(task))
    for name in datasets:
        source.ref(name)  # a DataRootError names a dataset the source lacks
    return list(datasets)


def baseline_table(
    task_name: str,
    datasets: list[str] | None = None,
    ws: Workspace | None = None,
    *,
    seed: int = 0,
    metrics: list[str] | None = None,
    **where: Any,
) -> BaselineRecord:
    """Table 1's baseline column for ``task_name`` on each test set of the workspace's data
    source (``where``: the workspace's keywords instead; ``device`` defaults to the CPU)."""
    if ws is None:
        where.setdefault("device", "cpu")
    ws = Workspace.of(ws, **where)
    task = T.get(task_name)
    device = ws.torch_device()
    source = ws.source
    tables, extras, data_records = {}, {}, []
    for dataset in test_sets(task, datasets, source):
        images, record = load_images(dataset, ws.root)
        data_records.append(record)

        def pairs(images=images, dataset=dataset):
            for name, img in images:
                clean = T.to_tensor(img, device)
                x, y = task.test_pair(clean, seed=seed, dataset=dataset, image=name)
                yield name, x, y

        bar = f"{task.name}/{dataset}" if ws.progress else False
        tables[dataset] = evaluate_dataset(
            pairs(), metrics=metrics or BASELINE_METRICS, total=len(images), progress=bar
        )
        if task.noisy_input:
            extras[dataset] = noise_analysis(task, images, dataset, seed)
    return BaselineRecord(
        task=task.name,
        column=task.baseline,
        seed=seed,
        source=source.tag,
        tables=tables,
        extras=extras,
        paper={
            "test_set": PAPER_TEST_SETS[task.name],
            "values": TABLE1[task.name][task.baseline],
            "note": "reported in the paper's Table 1 on its own test set; not computed by imgloss",
        },
        provenance=provenance(
            device, source=source.tag, data=data_records, metrics=list(metrics or BASELINE_METRICS)
        ),
    )


def write_baselines(
    ws: Workspace | str | os.PathLike = "results",
    task_names: list[str] | None = None,
    *,
    datasets: list[str] | None = None,
    seed: int = 0,
    metrics: list[str] | None = None,
    **where: Any,
) -> list[Path]:
    """Compute and atomically write ``<results>/<source>/baselines/<task>.json`` in the workspace
    ``ws`` for each task; return the paths. ``ws`` may be a results folder instead, with the
    workspace's other keywords in ``where`` (``root=``; ``device`` defaults to the CPU)."""
    if not isinstance(ws, Workspace):
        ws = Workspace.resolve(ws, **({"device": "cpu"} | where))
    elif where:
        raise TypeError(f"give a workspace or its keywords, not both ({', '.join(where)})")
    paths = []
    folder = ws.register()
    for name in task_names or list(T.TASKS):
        path = folder.baseline(name)
        record = baseline_table(name, datasets, ws, seed=seed, metrics=metrics)
        if path.is_file():  # a subset of test sets or measures adds to the file, never shrinks it
            record = merge_baselines(BaselineRecord.load(path), record)
        record.save(path)
        paths.append(path)
    return paths


def merge_baselines(old: BaselineRecord, new: BaselineRecord) -> BaselineRecord:
    """``new`` merged into ``old``: the test sets and measures ``new`` computed replace those
    values, and everything else ``old`` held is kept. Records of another task, column, seed or
    data source are not merged: ``new`` replaces ``old`` then (a ``ValueError`` if the seed or
    source differ, which would mix two noise draws or two datasets in one file)."""
    if (old.task, old.column) != (new.task, new.column):
        return new
    if (old.seed, old.source) != (new.seed, new.source):
        raise InputError(
            f"baselines of {new.task}: the file holds seed {old.seed} on {old.source}, this run "
            f"is seed {new.seed} on {new.source}; write it to another --results folder"
        )
    tables = dict(old.tables)
    for dataset, table in new.tables.items():
        before = old.tables.get(dataset)
        if before is None or set(before.rows) != set(table.rows):
            tables[dataset] = table
            continue
        metrics = tuple(dict.fromkeys((*before.metrics, *table.metrics)))
        merged = MetricTable(metrics)
        for image, row in before.rows.items():
            merged.add(image, row | table.rows[image], warn=False)
        tables[dataset] = merged
    extras = old.extras | new.extras
    provenance = new.provenance | {
        "metrics": list(dict.fromkeys(m for t in tables.values() for m in t.metrics))
    }
    return dataclasses.replace(new, tables=tables, extras=extras, provenance=provenance)


def format_table(result: BaselineRecord) -> str:
    """A Markdown table of one task's baseline column: our datasets next to the paper's."""
    from imgloss.metrics import DISPLAY_SCALE, LABELS

    datasets = list(result.tables)
    head = [
        "measure",
        *[f"{d} (ours)" for d in datasets],
        f"paper ({PAPER_TEST_SETS[result.task]})",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    paper = result.paper["values"]
    means = {d: result.tables[d].mean() for d in datasets}
    for m in result.provenance["metrics"]:
        scale = DISPLAY_SCALE.get(m, 1.0)
        cells = [f"{means[d][m] * scale:.4f}" if m in means[d] else "—" for d in datasets]
        theirs = f"{paper[m] * scale:.4f}" if m in paper else "—"  # ssim_matlab: not in the paper
        lines.append(f"| {LABELS[m]} | " + " | ".join(cells) + f" | {theirs} |")
    return "\n".join(lines)
