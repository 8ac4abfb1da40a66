"""Markdown tables of the results files: ours next to the paper's (labelled as the paper's).

``table1_markdown("quick")`` reads ``results/baselines/<task>.json`` and
``results/<profile>/table1.json`` (written by ``imgloss baselines`` and ``imgloss run``) and
returns, per task and test set, Table 1's rows (the nine measures) with the baseline column and
one column per training loss (mean over seeds, +- the 95% confidence half-width when there are
several seeds), followed by the paper's values for the same columns on its own test set.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .metrics import DISPLAY_SCALE, EXTRA_METRICS, LABELS, LOWER_IS_BETTER, METRICS
from .paper import PAPER_TEST_SET, TABLE1
from .runner import TABLE1_LOSSES
from .tasks import TASKS


def _fmt(value: float, metric: str, ci: float | None = None) -> str:
    scale = DISPLAY_SCALE.get(metric, 1.0)
    digits = 2 if metric == "psnr" else (3 if metric in DISPLAY_SCALE else 4)
    text = f"{value * scale:.{digits}f}"
    if ci is not None:
        text += f" ± {ci * scale:.{digits}f}"
    return text


def load(results: str | os.PathLike, *parts: str) -> dict | None:
    path = Path(results, *parts)
    return json.loads(path.read_text()) if path.is_file() else None


def _subset_mean(table: dict, metric: str, images: list[str] | None):
    rows = table["per_image"]
    names = [n for n in (images or rows) if n in rows]
    if not names or (images and len(names) < len(images)) or metric not in rows[names[0]]:
        return None  # not scored on the same images (or not with this measure): no comparison
    return (sum(rows[n][metric] for n in names) / len(names), None)


def _baseline_means(base: dict | None, dataset: str, images: list[str] | None) -> dict | None:
    """The baseline column over exactly the images the networks were scored on."""
    if not base or dataset not in base["datasets"]:
        return None
    per_image = base["datasets"][dataset]["per_image"]
    names = [n for n in (images or per_image) if n in per_image]
    if not names:
        return None
    return {
        m: (sum(per_image[n][m] for n in names) / len(names), None)
        for m in base["datasets"][dataset]["metrics"]
    }


def table1_markdown(
    profile: str, results: str | os.PathLike = "results", tasks: list[str] | None = None
) -> str:
    """Table 1 for every task (or ``tasks``) with results, ours and the paper's. In each row the
    best of our networks (the best loss) is in bold; the non-network and BM3D columns are shown
    for reference and never bold, so the bold still says which loss wins where BM3D is better."""
    summary = load(results, profile, "table1.json") or {"tasks": {}}
    out = []
    for task_name, task in TASKS.items():
        if tasks is not None and task_name not in tasks:
            continue
        base = load(results, "baselines", f"{task_name}.json")
        runs = summary["tasks"].get(task_name, {})
        datasets = list((base or {}).get("datasets", {})) or sorted(
            {d for cells in runs.values() for d in cells}
        )
        losses = [name for name in TABLE1_LOSSES[task_name] if name in runs]
        for dataset in datasets:
            if losses and not any(dataset in runs[n] for n in losses):
                continue  # the profile did not score the networks on this test set
            used = summary.get("images", {}).get(task_name, {}).get(dataset)
            cropped = summary.get("evaluation", {}).get("test_crop") is not None
            bm3d = load(results, "bm3d", "demosaic.json") if task_name == "demosaic" else None
            full_images = bm3d and bm3d["settings"].get("crop") is None and not cropped
            bm3d_cells = bm3d["datasets"].get(dataset) if full_images else None
            header = [task.baseline, *(["BM3D"] if bm3d_cells else []), *losses]
            baseline = None if cropped else _baseline_means(base, dataset, used)
            rows = []
            extras = [
                m for m in EXTRA_METRICS if any(m in runs[n].get(dataset, {}) for n in losses)
            ]
            for metric in METRICS + tuple(extras):
                cells = [baseline.get(metric) if baseline else None]
                if bm3d_cells:
                    cells.append(_subset_mean(bm3d_cells, metric, used))
                for name in losses:
                    cell = runs[name].get(dataset, {}).get(metric)
                    cells.append((cell["mean"], cell["ci95"]) if cell else None)
                first_net = 2 if bm3d_cells else 1
                values = [c[0] for c in cells[first_net:] if c is not None]
                best = _best(metric, values)
                text = []
                for i, c in enumerate(cells):
                    if c is None:
                        text.append("—")
                        continue
                    s = _fmt(c[0], metric, c[1])
                    bold = i >= first_net and c[0] == best and len(values) > 1
                    text.append(_bold(s, bold))
                rows.append(f"| {LABELS[metric]} | " + " | ".join(text) + " |")
            seeds = {runs[n][dataset]["psnr"]["seeds"] for n in losses if dataset in runs[n]}
            n_images = len(
                used or (base or {}).get("datasets", {}).get(dataset, {}).get("per_image", ())
            )
            out.append(
                f"**{task.title}, {dataset}** (ours: profile `{profile}`, {n_images} images, "
                f"seeds per cell: {', '.join(map(str, sorted(seeds))) or '—'})\n"
            )
            out.append("| measure | " + " | ".join(header) + " |")
            out.append("|---|" + "---|" * len(header))
            out.extend(rows)
            out.append("")
        paper = TABLE1[task_name]
        columns = [c for c in paper]
        out.append(f"*The paper's Table 1, {task.title} ({PAPER_TEST_SET}; not computed by us):*\n")
        out.append("| measure | " + " | ".join(columns) + " |")
        out.append("|---|" + "---|" * len(columns))
        for metric in METRICS:
            out.append(
                f"| {LABELS[metric]} | "
                + " | ".join(_fmt(paper[c][metric], metric) for c in columns)
                + " |"
            )
        out.append("")
    return "\n".join(out)


def switching_markdown(profile: str, results: str | os.PathLike = "results") -> str:
    """Section 5.1: the measures after l1 -> l2 and l2 -> l1, next to the single-loss runs and
    the continued controls (l1 -> l1, l2 -> l2), on every test set of the demosaicking task."""
    table1 = (load(results, profile, "table1.json") or {"tasks": {}})["tasks"].get("demosaic", {})
    switch = (load(results, profile, "switching.json") or {"tasks": {}})["tasks"].get(
        "demosaic", {}
    )
    if not switch:
        return ""
    rows = [("l1", table1.get("l1")), ("l2", table1.get("l2"))]
    rows += [(label.replace("-", " → "), cells) for label, cells in switch.items()]
    datasets = sorted({d for _, cells in rows if cells for d in cells})
    out = []
    for dataset in datasets:
        out.append(
            f"**Loss switching (Section 5.1), demosaicking, {dataset}** (profile `{profile}`)\n"
        )
        out.append("| training | 1000·ℓ2 | PSNR | 1000·ℓ1 | SSIM |")
        out.append("|---|---|---|---|---|")
        for label, cells in rows:
            cell = (cells or {}).get(dataset)
            if not cell:
                continue
            values = " | ".join(
                _fmt(cell[m]["mean"], m, cell[m]["ci95"]) for m in ("l2", "psnr", "l1", "ssim")
            )
            out.append(f"| {label} | {values} |")
        out.append("")
    return "\n".join(out)


#: The measures of :func:`fig8_markdown`'s rows.
FIG8_MEASURES = ("l2", "psnr", "ssim", "ms_ssim", "fsim", "colour_bias")


def fig8_markdown(profile: str, results: str | os.PathLike = "results") -> str:
    """Fig. 8's networks as a table: one column per ``SSIM_k`` (``k`` in
    :data:`imgloss.runner.FIG8_SIGMAS`), one row per measure of :data:`FIG8_MEASURES`, on every
    demosaicking test set of the profile's ``fig8.json``; the best ``k`` of each row in bold.
    Empty if the experiment has no results."""
    from .runner import FIG8_SIGMAS

    cells = ((load(results, profile, "fig8.json") or {}).get("tasks", {})).get("demosaic", {})
    names = [f"ssim{k}" for k in FIG8_SIGMAS]
    datasets = sorted({d for n in names for d in cells.get(n, {})})
    out = []
    for dataset in datasets:
        out.append(f"**Networks trained with SSIM_k, {dataset}** (profile `{profile}`)\n")
        out.append("| measure | " + " | ".join(f"SSIM{k}" for k in FIG8_SIGMAS) + " |")
        out.append("|---|" + "---|" * len(names))
        for metric in FIG8_MEASURES:
            row = [cells.get(n, {}).get(dataset, {}).get(metric) for n in names]
            values = [c["mean"] for c in row if c]
            best = _best(metric, values)
            text = [
                "—" if c is None else _bold(_fmt(c["mean"], metric, c["ci95"]), c["mean"] == best)
                for c in row
            ]
            out.append(f"| {LABELS[metric]} | " + " | ".join(text) + " |")
        out.append("")
    return "\n".join(out)


def _best(metric: str, values) -> float | None:
    """The best of ``values`` for ``metric`` (the lowest where lower is better), or ``None``."""
    values = list(values)
    if not values:
        return None
    return (min if metric in LOWER_IS_BETTER else max)(values)


def _bold(text: str, yes: bool) -> str:
    return f"**{text}**" if yes else text


def measures_text(
    cell: dict | None, measures: tuple[str, ...] = ("psnr", "ssim", "ms_ssim", "colour_bias")
) -> str:
    """One run cell of a summary (``{metric: {"mean", "ci95", ...}}``) as ``"PSNR 29.90 · SSIM
    0.8693 · ..."``, with the table's scales and confidence intervals; ``""`` for ``None``."""
    if not cell:
        return ""
    return " · ".join(
        f"{LABELS[m]} {_fmt(cell[m]['mean'], m, cell[m]['ci95'])}" for m in measures if m in cell
    )


def provenance_markdown(*summaries: dict | None) -> str:
    """One line naming the profile, commits, devices and test data behind the summaries."""
    profiles, commits, devices, data = set(), set(), set(), set()
    for s in summaries:
        if not s:
            continue
        profiles.add(s.get("profile", "?"))
        commits.update(c[:10] for c in s.get("provenance", {}).get("git_commits", []))
        devices.update(s.get("provenance", {}).get("devices", []))
        for datasets in s.get("images", {}).values():
            for dataset, images in datasets.items():
                data.add(f"{dataset} ({len(images)} images)")
    if not profiles:
        return "*No results for this profile yet.*"
    return (
        f"*Computed by imgloss — profile {', '.join(f'`{p}`' for p in sorted(profiles))}; "
        f"test data: {', '.join(sorted(data)) or '—'}; device: {', '.join(sorted(devices)) or '—'}; "
        f"commits: {', '.join(sorted(commits)) or '—'}.*"
    )


def _cell(summary: dict | None, task: str, label: str, dataset: str, metric: str):
    c = (summary or {}).get("tasks", {}).get(task, {}).get(label, {}).get(dataset, {}).get(metric)
    return None if c is None else (c["mean"], c["ci95"])


def _better(metric: str, a: float, b: float) -> bool:
    return a < b if metric in LOWER_IS_BETTER else a > b


def findings(profile: str, results: str | os.PathLike = "results") -> list[dict]:
    """The paper's main findings, checked against our results (point estimates, mean over seeds).

    Each item: ``{"finding", "task", "dataset", "holds": True | False | None, "evidence"}``;
    ``None`` when the runs needed are missing.
    """
    table1 = load(results, profile, "table1.json")
    switching = load(results, profile, "switching.json")
    out: list[dict] = []

    def add(finding, task, dataset, holds, evidence):
        out.append(
            {
                "finding": finding,
                "task": task,
                "dataset": dataset,
                "holds": holds,
                "evidence": evidence,
            }
        )

    for task_name in TABLE1_LOSSES:
        runs = (table1 or {}).get("tasks", {}).get(task_name, {})
        datasets = sorted({d for cells in runs.values() for d in cells})
        for dataset in datasets:
            l1 = {m: _cell(table1, task_name, "l1", dataset, m) for m in ("l2", "psnr")}
            l2 = {m: _cell(table1, task_name, "l2", dataset, m) for m in ("l2", "psnr")}
            if all(l1.values()) and all(l2.values()):
                ok = all(_better(m, l1[m][0], l2[m][0]) for m in ("l2", "psnr"))
                add(
                    "l1 beats l2, even on l2 and PSNR",
                    task_name,
                    dataset,
                    ok,
                    f"1000·ℓ2 {1000 * l1['l2'][0]:.3f} (l1) vs {1000 * l2['l2'][0]:.3f} (l2); "
                    f"PSNR {l1['psnr'][0]:.2f} vs {l2['psnr'][0]:.2f} dB",
                )
            losses = [n for n in TABLE1_LOSSES[task_name] if dataset in runs.get(n, {})]
            if "mix" in losses and len(losses) > 1:
                wins = []
                for m in METRICS:
                    vals = {n: runs[n][dataset][m]["mean"] for n in losses}
                    best = _best(m, vals.values())
                    if vals["mix"] == best:
                        wins.append(LABELS[m])
                add(
                    "Mix is best on every measure",
                    task_name,
                    dataset,
                    len(wins) == len(METRICS),
                    f"Mix best on {len(wins)} of {len(METRICS)} measures"
                    + (f" ({', '.join(wins)})" if wins and len(wins) < len(METRICS) else ""),
                )
            ssim_family = [n for n in ("ssim5", "ssim9", "msssim") if n in losses]
            pixel = [n for n in ("l1", "l2") if n in losses]
            if task_name == "demosaic" and ssim_family and pixel:
                bias = {
                    n: runs[n][dataset].get("colour_bias", {}).get("mean")
                    for n in ssim_family + pixel
                }
                if all(v is not None for v in bias.values()):
                    ok = min(bias[n] for n in ssim_family) > max(bias[n] for n in pixel)
                    add(
                        "SSIM-trained networks shift colours (more than l1/l2)",
                        task_name,
                        dataset,
                        ok,
                        "colour bias ×1000: "
                        + ", ".join(f"{n} {1000 * bias[n]:.2f}" for n in pixel + ssim_family),
                    )

    # Section 5.1: "after switching the training loss functions, both networks yield a lower l2
    # loss [than before the switch], confirming that the l2 network was previously stuck in a
    # local minimum". The continued controls (same loss, same number of steps) separate the
    # effect of the switch from that of more training.
    def l2_of(label: str, dataset: str) -> float | None:  # "l2" (Table 1) or "l2-l1" (switching)
        c = _cell(switching if "-" in label else table1, "demosaic", label, dataset, "l2")
        return None if c is None else c[0]

    sw = (switching or {}).get("tasks", {}).get("demosaic", {})
    for dataset in sorted({d for cells in sw.values() for d in cells}):
        for first, second in (("l2", "l1"), ("l1", "l2")):
            before, after = l2_of(first, dataset), l2_of(f"{first}-{second}", dataset)
            control = l2_of(f"{first}-{first}", dataset)
            if before is not None and after is not None:
                add(
                    f"Switching from {first} to {second} lowers the l2 error",
                    "demosaic",
                    dataset,
                    after < before,
                    f"1000·ℓ2 {1000 * before:.3f} after {first} alone, {1000 * after:.3f} after "
                    f"{first} → {second}"
                    + (
                        ""
                        if control is None
                        else f" ({1000 * control:.3f} after {first} → {first})"
                    ),
                )
        switched, control = l2_of("l2-l1", dataset), l2_of("l2-l2", dataset)
        if switched is not None and control is not None:
            add(
                "l2 was stuck: l2 → l1 beats continuing with l2 for as long",
                "demosaic",
                dataset,
                switched < control,
                f"1000·ℓ2 {1000 * switched:.3f} after l2 → l1 vs {1000 * control:.3f} after "
                "l2 → l2 (same number of steps)",
            )
    return out


def findings_markdown(profile: str, results: str | os.PathLike = "results") -> str:
    """:func:`findings` as a Markdown table."""
    rows = findings(profile, results)
    if not rows:
        return "*No results to check the paper's findings against yet.*"
    mark = {True: "holds", False: "does not hold", None: "not run"}
    out = ["| the paper's finding | task, test set | ours | evidence |", "|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {r['finding']} | {TASKS[r['task']].title}, {r['dataset']} | "
            f"**{mark[r['holds']]}** | {r['evidence']} |"
        )
    return "\n".join(out)
