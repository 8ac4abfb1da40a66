"""Markdown tables of the results files: ours next to the paper's (labelled as the paper's).

Every function reads one :class:`imgloss.results.records.View` (one profile's results on one data
source, :func:`imgloss.results.records.open_view`), so a table never mixes results made on different
data. ``table1_markdown(view)`` returns, per task and test set, Table 1's rows (the nine
measures) with the baseline column and one column per training loss (mean over seeds, +- the 95%
confidence half-width when there are several seeds), followed by the paper's values for the same
columns on its own test set.
"""

from __future__ import annotations

from imgloss.core.provenance import is_dirty
from imgloss.design.experiments import FIG8_SIGMAS, TABLE1_LOSSES
from imgloss.design.paper import PAPER_TEST_SETS, TABLE1
from imgloss.design.tasks import TASKS
from imgloss.metrics import (
    BEST_AT_ZERO,
    DISPLAY_SCALE,
    EXTRA_METRICS,
    LABELS,
    LOWER_IS_BETTER,
    METRICS,
    MetricTable,
)
from imgloss.results.records import Cell, ExperimentSummary, View


def _fmt(value: float, metric: str, ci: float | None = None) -> str:
    scale = DISPLAY_SCALE.get(metric, 1.0)
    # dB and CIELAB chroma to 0.01; the errors scaled by 1000 to 0.001; indices in [0, 1] to 1e-4
    digits = (
        2
        if metric.startswith("psnr") or metric == "chroma_shift"
        else (3 if metric in DISPLAY_SCALE else 4)
    )
    text = f"{value * scale:.{digits}f}"
    if ci is not None:
        text += f" ± {ci * scale:.{digits}f}"
    return text


def _fmt_cell(cell: Cell | tuple | None, metric: str) -> str:
    if cell is None:
        return "—"
    if isinstance(cell, Cell):
        return _fmt(cell.mean, metric, cell.ci95)
    return _fmt(cell[0], metric, cell[1])


def _subset_mean(table: MetricTable, metric: str, images: list[str] | None):
    """``(mean, None)`` of ``metric`` over exactly ``images`` (``None`` if any is missing)."""
    names = [n for n in (images or table.rows) if n in table.rows]
    if not names or (images and len(names) < len(images)) or metric not in table.metrics:
        return None  # not scored on the same images (or not with this measure): no comparison
    return (sum(table.rows[n][metric] for n in names) / len(names), None)


def _value(cell) -> float:
    return cell.mean if isinstance(cell, Cell) else cell[0]


def _table1_rows(cells_by_column: list[list], first_net: int, metrics) -> list[str]:
    rows = []
    for metric, cells in zip(metrics, cells_by_column, strict=True):
        values = [_value(c) for c in cells[first_net:] if c is not None]
        best = _best(metric, values)
        text = [
            _bold(_fmt_cell(c, metric), i >= first_net and _value(c) == best and len(values) > 1)
            if c is not None
            else "—"
            for i, c in enumerate(cells)
        ]
        rows.append(f"| {LABELS[metric]} | " + " | ".join(text) + " |")
    return rows


def _table1_dataset(view: View, summary: ExperimentSummary, task_name: str, dataset: str):
    """Our Table 1 of one task on one test set: the heading line and the table's lines."""
    task = TASKS[task_name]
    losses = [n for n in TABLE1_LOSSES[task_name] if summary.measures(task_name, n, dataset)]
    used = summary.images.get(task_name, {}).get(dataset)
    cropped = summary.evaluation.get("test_crop") is not None
    base = view.baseline(task_name)
    baseline_table = None if (cropped or base is None) else base.tables.get(dataset)
    bm3d = view.bm3d() if task.bm3d_column else None
    full_images = bm3d is not None and bm3d.settings.get("crop") is None and not cropped
    bm3d_table = bm3d.tables.get(dataset) if (bm3d is not None and full_images) else None
    extras = [
        m for m in EXTRA_METRICS if any(summary.cell(task_name, n, dataset, m) for n in losses)
    ]
    metrics = METRICS + tuple(extras)
    columns = []
    for metric in metrics:
        cells = [_subset_mean(baseline_table, metric, used) if baseline_table else None]
        if bm3d_table is not None:
            cells.append(_subset_mean(bm3d_table, metric, used))
        cells += [summary.cell(task_name, n, dataset, metric) for n in losses]
        columns.append(cells)
    header = [task.baseline, *(["BM3D"] if bm3d_table is not None else []), *losses]
    seeds = sorted({c.seeds for n in losses if (c := summary.cell(task_name, n, dataset, "psnr"))})
    heading = (
        f"**{task.title}, {dataset}** (ours: profile `{view.profile}`, {len(used or ())} images, "
        f"seeds per cell: {', '.join(map(str, seeds)) or '—'}; trained on "
        f"{summary.data[task_name].train.short()})\n"
    )
    lines = ["| measure | " + " | ".join(header) + " |", "|---|" + "---|" * len(header)]
    lines += _table1_rows(columns, 2 if bm3d_table is not None else 1, metrics)
    return heading, lines


def _paper_table1(task_name: str) -> list[str]:
    task, paper = TASKS[task_name], TABLE1[task_name]
    columns = list(paper)
    where = PAPER_TEST_SETS[task_name]
    out = [f"*The paper's Table 1, {task.title} ({where}; not computed by us):*\n"]
    out.append("| measure | " + " | ".join(columns) + " |")
    out.append("|---|" + "---|" * len(columns))
    for metric in METRICS:
        cells = " | ".join(_fmt(paper[c][metric], metric) for c in columns)
        out.append(f"| {LABELS[metric]} | {cells} |")
    return out + [""]


#: The class of the block that holds Table 1 in the book, whose cells never wrap a value
#: (``book/_assets/imgloss.css``); a table wider than the text column scrolls sideways.
TABLE1_CLASS = "imgloss-table1"


def wide_table(markdown: str) -> str:
    """``markdown`` (tables of values with intervals) inside a MyST block of class
    :data:`TABLE1_CLASS`, so that no cell of it wraps a value in the book."""
    return f":::{{div}} {TABLE1_CLASS}\n{markdown}\n:::\n"


def table1_markdown(view: View, tasks: list[str] | None = None) -> str:
    """Table 1 for every task (or ``tasks``) with results, ours and the paper's. In each row the
    best of our networks (the best loss) is in bold; the non-network and BM3D columns are shown
    for reference and never bold, so the bold still says which loss wins where BM3D is better.
    Every number comes from one data source (``view``)."""
    summary = view.summary("table1")
    out = []
    for task_name in TASKS:
        if tasks is not None and task_name not in tasks:
            continue
        for dataset in summary.datasets(task_name) if summary is not None else ():
            assert summary is not None
            heading, lines = _table1_dataset(view, summary, task_name, dataset)
            out += [heading, *lines, ""]
        out += _paper_table1(task_name)
    return "\n".join(out)


def switching_markdown(view: View) -> str:
    """Section 5.1: the measures after l1 -> l2 and l2 -> l1, next to the single-loss runs and
    the continued controls (l1 -> l1, l2 -> l2), on every test set of the demosaicking task."""
    table1, switch = view.summary("table1"), view.summary("switching")
    if switch is None or not switch.schedules("demosaic"):
        return ""
    rows = [(label, table1) for label in ("l1", "l2")]
    rows += [(label, switch) for label in switch.schedules("demosaic")]
    datasets = sorted({d for _, s in rows if s for d in s.datasets("demosaic")})
    out = []
    for dataset in datasets:
        out.append(
            f"**Loss switching (Section 5.1), demosaicking, {dataset}** "
            f"(profile `{view.profile}`)\n"
        )
        out.append("| training | 1000·ℓ2 | PSNR | 1000·ℓ1 | SSIM |")
        out.append("|---|---|---|---|---|")
        for label, summary in rows:
            cells = summary.measures("demosaic", label, dataset) if summary else {}
            if cells:
                values = " | ".join(_fmt_cell(cells[m], m) for m in ("l2", "psnr", "l1", "ssim"))
                out.append(f"| {label.replace('-', ' → ')} | {values} |")
        out.append("")
    return "\n".join(out)


#: The measures of :func:`fig8_markdown`'s rows.
FIG8_MEASURES = (
    "l2",
    "psnr",
    "psnr_edge",
    "psnr_flat",
    "ssim",
    "ms_ssim",
    "fsim",
    "colour_bias",
    "chroma_shift",
)


def fig8_markdown(view: View) -> str:
    """Fig. 8's networks as a table: one column per ``SSIM_k`` (``k`` in
    :data:`imgloss.design.experiments.FIG8_SIGMAS`), one row per measure of :data:`FIG8_MEASURES`,
    on every demosaicking test set of the view's Fig. 8 summary; the best ``k`` of each row in bold.
    Empty if the experiment has no results."""
    summary = view.summary("fig8")
    if summary is None:
        return ""
    names = [f"ssim{k}" for k in FIG8_SIGMAS]
    out = []
    for dataset in summary.datasets("demosaic"):
        out.append(
            f"**Networks trained with SSIM at σ = k, {dataset}** (profile `{view.profile}`)\n"
        )
        out.append("| measure | " + " | ".join(f"SSIM{k}" for k in FIG8_SIGMAS) + " |")
        out.append("|---|" + "---|" * len(names))
        for metric in FIG8_MEASURES:
            row = [summary.cell("demosaic", n, dataset, metric) for n in names]
            best = _best(metric, [c.mean for c in row if c])
            text = ["—" if c is None else _bold(_fmt_cell(c, metric), c.mean == best) for c in row]
            out.append(f"| {LABELS[metric]} | " + " | ".join(text) + " |")
        out.append("")
    return "\n".join(out)


def _best(metric: str, values) -> float | None:
    """The best of ``values`` for ``metric`` (the lowest where lower is better, the nearest to
    zero for a signed change), or ``None``."""
    values = list(values)
    if not values:
        return None
    if metric in BEST_AT_ZERO:
        return min(values, key=abs)
    return (min if metric in LOWER_IS_BETTER else max)(values)


def _bold(text: str, yes: bool) -> str:
    return f"**{text}**" if yes else text


def measures_text(
    cells: dict[str, Cell] | None,
    measures: tuple[str, ...] = ("psnr", "ssim", "ms_ssim", "colour_bias"),
) -> str:
    """One schedule's measures on one test set (``{metric: Cell}``) as ``"PSNR 29.90 · SSIM
    0.8693 · ..."``, with the table's scales and confidence intervals; ``""`` for none."""
    if not cells:
        return ""
    return " · ".join(f"{LABELS[m]} {_fmt_cell(cells[m], m)}" for m in measures if m in cells)


def data_markdown(view: View) -> str:
    """Which data the view's numbers come from: the source, and per task the training set and
    the test sets by name, image count and checksum."""
    if view.tag is None:
        return "*No results yet.*"
    lines = []
    tasks: dict = {}
    for summary in view.summaries().values():
        for task, data in summary.data.items():
            tasks.setdefault(task, data)
    for task, data in tasks.items():
        tests = ", ".join(d.short() for d in data.test)
        lines.append(f"*{TASKS[task].title}: trained on {data.train.short()}; tested on {tests}.*")
    return "\n\n".join(lines)


def _describe(view: View) -> str:
    return view.source.describe() if view.source is not None else "no results yet"


def provenance_markdown(view: View, *experiments: str, tasks: tuple[str, ...] = ()) -> str:
    """One line naming the profile, data source, test data, devices and commits behind the
    view's summaries of ``experiments`` (all of them if none is named), for ``tasks`` (all if
    none is named)."""
    summaries = [s for e, s in view.summaries().items() if not experiments or e in experiments]
    if not summaries:
        return f"*No results for profile `{view.profile}` yet.*"
    recorded = {c for s in summaries for c in s.commits}
    commits = sorted({c[:10] + (" (uncommitted changes)" if is_dirty(c) else "") for c in recorded})
    devices = sorted({d for s in summaries for d in s.devices})
    data = sorted(
        {
            f"{ds} ({len(images)} images)"
            for s in summaries
            for task, per in s.images.items()
            if not tasks or task in tasks
            for ds, images in per.items()
        }
    )
    return (
        f"*Computed by imgloss — profile `{view.profile}`; data: {_describe(view)}; "
        f"test images: {', '.join(data) or '—'}; device: {', '.join(devices) or '—'}; "
        f"commits: {', '.join(commits) or '—'}.*"
        + (_DIRTY_NOTE if any(is_dirty(c) for c in recorded) else "")
    )


#: Said under the provenance of results made from a work tree with uncommitted changes.
_DIRTY_NOTE = (
    " **Some of these runs were made from uncommitted changes** (their commit carries "
    "`+dirty` and a hash of the diff): the commit alone may not reproduce them exactly."
)


def runs_markdown(view: View) -> str:
    """The runs behind the view, per experiment, task and test set: the images scored, the
    schedules and the seeds per cell, as a Markdown table."""
    rows = []
    for experiment, summary in view.summaries().items():
        for task, datasets in summary.images.items():
            for dataset, images in datasets.items():
                labels = [n for n in summary.schedules(task) if summary.measures(task, n, dataset)]
                cells = [summary.cell(task, n, dataset, "psnr") for n in labels]
                seeds = sorted({c.seeds for c in cells if c is not None})
                rows.append(
                    f"| {experiment} | {TASKS[task].title} | {dataset} | {len(images)} | "
                    f"{', '.join(labels)} | {', '.join(map(str, seeds))} |"
                )
    if not rows:
        return "*No results yet.*"
    head = "| experiment | task | test set | images | schedules | seeds per cell |"
    return "\n".join([head, "|---|---|---|---:|---|---|", *rows])


def _value_text(value: float, measure: str | None) -> str:
    scale = DISPLAY_SCALE.get(measure or "", 1.0)
    unit = " dB" if (measure or "").startswith("psnr") else ""
    return f"{value * scale:.2g}{unit}"


def effect_text(v) -> str:
    """``PSNR +0.53 dB [+0.20, +0.86]``, with the interval's level when it is not 95% (the
    equivalence tests' 90%) and, for an undecided verdict, the smallest effect the runs detect."""
    if v.effect is None:
        return "—"
    scale = DISPLAY_SCALE.get(v.measure, 1.0)
    unit = " dB" if (v.measure or "").startswith("psnr") else ""
    label = LABELS.get(v.measure, v.measure or "")
    text = f"{label} {v.effect * scale:+.3g}{unit}"
    if v.ci is not None and v.ci[0] != v.ci[1]:
        level = "" if v.ci_level == 0.95 else f" ({v.ci_level:.0%})"
        text += f" [{v.ci[0] * scale:+.3g}, {v.ci[1] * scale:+.3g}]{level}"
    if v.margin is not None:
        text += f"; margin ±{_value_text(v.margin, v.measure)}"
    if v.verdict == "undecided" and v.mde:
        text += f"; detects ≥ {_value_text(v.mde, v.measure)}"
    return text


def _secondary_text(v) -> str:
    """The secondary measures' verdicts counted (Holm-corrected within the claim)."""
    if not v.secondary:
        return ""
    counts = {k: sum(s.verdict == k for s in v.secondary) for k in ("holds", "contradicted")}
    return (
        f"secondary ({len(v.secondary)}, Holm): {counts['holds']} agree, "
        f"{counts['contradicted']} disagree"
    )


def claims_markdown(
    view: View,
    *,
    compact: bool = False,
    chapter: str | None = None,
    tasks: tuple[str, ...] | None = None,
    claims=None,
) -> str:
    """The paper's claims (:data:`imgloss.report.claims.CLAIMS`) decided on the view: verdict,
    effect of the primary measure with its interval (positive favours the claim; 90% for the
    equivalence tests, with their margin), the smallest effect detectable when undecided, images x
    seeds, and (not ``compact``) the degrees of freedom, method and secondary measures (``imgloss
    report --findings --json`` also gives how each claim is tested, part by part). ``compact``
    leaves out the notes and the sources (the front page's version); ``chapter`` and ``tasks`` keep
    only the claims of that chapter (:data:`imgloss.report.claims.CHAPTERS`) on those tasks;
    ``claims`` decides other claims than the paper's (e.g.
    ``imgloss.report.ten_years.modern_claims``). A claim whose SSIM test changes its verdict
    under ``ssim.m``'s convention is marked † and named under the table
    (:func:`imgloss.report.claims.convention_changes`)."""
    from imgloss.report.claims import CLAIMS, chapter_claims, convention_changes, verdicts

    keys = None if chapter is None else {c.key for c in chapter_claims(chapter)}
    found = verdicts(view, CLAIMS if claims is None else tuple(claims))
    changes = [] if claims is not None else convention_changes(view, found)
    changed = {(c.claim.key, c.task, c.dataset) for c in changes}

    if compact:
        out = [
            "| the paper's claim | task | ours | effect [95% CI] | images × seeds |",
            "|---|---|---|---|---|",
        ]
    else:
        out = [
            "| the paper's claim | task, test set | ours | effect [95% CI] | images × seeds | note |",
            "|---|---|---|---|---|---|",
        ]
    for v in found:
        if (keys is not None and v.claim.key not in keys) or (
            tasks is not None and v.task is not None and v.task not in tasks
        ):
            continue
        where = TASKS[v.task].title if v.task else "—"
        n = f"{v.n_images} × {v.n_seeds}" if v.n_images else "—"
        verdict = f"**{v.verdict}**" + (" †" if (v.claim.key, v.task, v.dataset) in changed else "")
        if compact:
            out.append(f"| {v.claim.text} | {where} | {verdict} | {effect_text(v)} | {n} |")
            continue
        where += f", {v.dataset}" if v.dataset else ""
        df = f"{v.df:.0f} df; " if v.df is not None and v.n_images else ""
        note = "; ".join(
            x for x in (f"{df}{v.method}" if v.method else "", v.note, _secondary_text(v)) if x
        )
        out.append(
            f"| {v.claim.text} ({v.claim.source}) | {where} | {verdict} | "
            f"{effect_text(v)} | {n} | {note} |"
        )
    if claims is None:
        shown = [
            c
            for c in changes
            if (keys is None or c.claim.key in keys) and (tasks is None or c.task in tasks)
        ]
        out.append(_convention_note(view, shown))
    return "\n".join(out).rstrip()


def _convention_note(view: View, changes) -> str:
    """Under the claims table: the SSIM tests whose verdict changes under ``ssim.m``'s
    convention, or that none does ("" when the runs were not scored that way)."""
    from imgloss.report.claims import scored_under_matlab

    if not scored_under_matlab(view):
        return ""
    if not changes:
        return (
            "\nEvery SSIM test of these claims (primary or secondary) gives the same verdict with "
            "SSIM as Wang's ssim.m computes it (automatic downsampling)."
        )
    items = "; ".join(
        f"{c.claim.text} ({TASKS[c.task].title if c.task else '—'}, {c.dataset}, against "
        f"{c.against}): {c.default} with Table 1's SSIM, {c.matlab} with ssim.m's"
        for c in changes
    )
    return f"\n† The SSIM test changes its verdict with SSIM as Wang's ssim.m computes it: {items}."


def claims_overview(view: View) -> str:
    """One sentence counting the verdicts of :func:`claims_markdown`'s rows."""
    from imgloss.report.claims import VERDICTS, verdicts

    found = verdicts(view)
    counts = {v: sum(f.verdict == v for f in found) for v in VERDICTS}
    claims = len({f.claim.key for f in found})
    return (
        f"**{claims} claims of the paper, checked {len(found)} times** (per task and test set) on "
        f"profile `{view.profile}`: {counts['holds']} hold, {counts['contradicted']} are "
        f"contradicted and {counts['undecided']} are undecided."
    )


def geometry_markdown(view: View) -> str:
    """The patch-geometry ablation (:func:`imgloss.report.claims.geometry_verdicts`): per loss, the
    paired difference of the larger geometry against the profile's on PSNR (which decides) and
    the secondary measures (Holm-corrected), with 95% intervals. Empty without results."""
    from imgloss.report.claims import geometry_verdicts

    found = geometry_verdicts(view)
    if not any(v.n_images for v in found):
        return ""
    out = [
        "| loss | measure | larger patch − profile's [95% CI] | images × seeds | verdict |",
        "|---|---|---|---|---|",
    ]
    for v in found:
        loss = v.claim.b
        for part in (v, *v.secondary):
            n = f"{part.n_images} × {part.n_seeds}" if part.n_images else "—"
            measure = LABELS.get(part.measure or "", part.measure or "")
            role = "primary" if part is v else "secondary (Holm)"
            out.append(
                f"| {loss} | {measure}, {role} | {effect_text(part)} | {n} | {part.verdict} |"
            )
        out.append(f"| **{loss}** | **verdict (PSNR decides)** | | | **{v.verdict}** |")
    return "\n".join(out)


def convergence_markdown(view: View, profile: str = "paper") -> str:
    """The convergence probe (``imgloss run convergence``) at ``profile`` on the view's data source:
    for each of :data:`imgloss.design.experiments.CONVERGENCE_LOSSES`, the test PSNR at the
    profile's length and after continuing :data:`imgloss.design.experiments.EXTENSION` longer at the
    final learning rate, the paired gain over the test images (t interval over the images: one seed,
    the same network continued) and whether it meets the criterion
    (:data:`imgloss.design.experiments.CONVERGED_GAIN_DB`). Empty when the probe has no runs."""
    from imgloss.design.experiments import (
        CONVERGED_GAIN_DB,
        CONVERGENCE_LOSSES,
        EXTENSION,
        PROFILES,
    )
    from imgloss.results.inference import estimate
    from imgloss.results.scores import ViewScores, paired

    probe = View(view.results, profile, view.tag)
    summary = probe.summary("convergence")
    if summary is None or not summary.datasets("demosaic"):
        return ""
    dataset = summary.datasets("demosaic")[0]
    steps = PROFILES[profile].steps
    more = round(EXTENSION * steps)
    scores = ViewScores(probe)
    head = (
        f"| loss | test PSNR after {steps} steps | after {more} more | gain [95% CI] | "
        f"{dataset} images | the length is |"
    )
    out = [head, "|---|---|---|---|---|---|"]
    for loss in CONVERGENCE_LOSSES:
        base = scores.runs("demosaic", dataset, loss, "psnr")
        longer = scores.runs("demosaic", dataset, f"{loss}@ext", "psnr")
        found = None if base is None or longer is None else paired(longer, base, "psnr")
        if found is None:
            out.append(f"| {loss} | {_probe_psnr(base)} | not run yet | | | |")
            continue
        est = estimate(found[0])
        low, high = est.ci(0.95)
        verdict = "converged" if est.effect < CONVERGED_GAIN_DB else "**not converged**"
        out.append(
            f"| {loss} | {found[1]:.2f} dB | {found[1] + est.effect:.2f} dB | "
            f"{est.effect:+.3f} dB [{low:+.3f}, {high:+.3f}] | {est.n_images} | {verdict} |"
        )
    return "\n".join(out)


def _probe_psnr(scores) -> str:
    return "not run yet" if scores is None else f"{float(scores.values.mean()):.2f} dB"


def verdict_shifts_markdown(short: View, long: View) -> str:
    """How each claim's verdict moved from ``short``'s profile to ``long``'s on the same data source
    (:func:`imgloss.report.claims.verdict_shifts`), with both effects. Empty when ``long`` has no
    results yet."""
    from imgloss.report.claims import verdict_shifts, verdicts

    if long.tag is None or not long.summaries():
        return ""
    rows = [
        f"| the paper's claim | task | `{short.profile}` | `{long.profile}` | moved |",
        "|---|---|---|---|---|",
    ]
    for s in verdict_shifts(verdicts(short), verdicts(long)):
        where = TASKS[s.short.task].title if s.short.task else "—"
        after = "—" if s.long is None else f"**{s.long.verdict}**: {effect_text(s.long)}"
        rows.append(
            f"| {s.short.claim.text} | {where} | **{s.short.verdict}**: {effect_text(s.short)} "
            f"| {after} | {s.shift} |"
        )
    return "\n".join(rows)


def ssim_convention_markdown(view: View, task: str = "demosaic") -> str:
    """Which SSIM convention brings the non-network column's SSIM (the noisy input, for
    demosaicking) nearest the paper's: Table 1's (no downsampling) or Wang's ``ssim.m``'s
    (automatic downsampling), on the first test set whose baseline holds both. ``""`` without
    such a baseline."""
    base = view.baseline(task)
    tables = [] if base is None else [(d, t) for d, t in base.tables.items()]
    found = next(((d, t) for d, t in tables if {"ssim", "ssim_matlab"} <= set(t.metrics)), None)
    if found is None:
        return ""
    dataset, table = found
    means = table.mean()
    column = TASKS[task].baseline
    paper = TABLE1[task][column]["ssim"]
    ours, matlab = means["ssim"], means["ssim_matlab"]
    nearer = "ssim.m's" if abs(matlab - paper) < abs(ours - paper) else "Table 1's"
    return (
        f"Which SSIM did the paper run? The {column.lower()} input's SSIM on {dataset} is "
        f"{ours:.4f} with Table 1's SSIM (Wang et al. 2004, no downsampling) and {matlab:.4f} "
        f"with Wang's ssim.m, which first downsamples by round(min(H, W) / 256). The paper "
        f"reports {paper:.4f} on its own test set ({PAPER_TEST_SETS[task]}): {nearer} convention "
        "brings ours nearer. The test sets differ, so this points to the paper's SSIM code "
        "without proving it. Table 1's MS-SSIM and IW-SSIM rows are msssim.m's and iwssim.m's "
        "already: neither downsamples, so only SSIM has a second row, SSIM (ssim.m)."
    )
