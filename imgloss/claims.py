"""The paper's claims as data, each decided from our results with statistics.

Every :class:`Claim` names its place in the paper, the task, the measures and how it is tested.
:func:`verdicts` decides each claim on one :class:`imgloss.records.View` (one profile, one data
source) from **paired per-image differences** between two trainings (or a training and a
baseline), over every image and seed both were scored on:

* ``effect`` is the mean difference, signed so that a positive value favours the claim's first
  side (for a measure where lower is better, ``b - a``);
* ``ci`` is its 95% interval. With two or more seeds the unit is the seed (a network trained
  anew): a Student-t interval over the seeds' image-mean differences, so the interval carries the
  run-to-run variation of training. With one seed it is a bootstrap over the images
  (``scipy.stats.bootstrap``, BCa), which carries only the variation between images;
* the verdict is ``holds`` when the interval lies on the claimed side of zero, ``contradicted``
  when it lies on the other side, ``undecided`` otherwise. With **one seed** a difference smaller
  than the run-to-run noise of a single run is never decisive (:data:`SINGLE_RUN_NOISE`, measured:
  float32 rounding alone moves a single ``quick`` run by up to 0.14 dB); where that noise is not
  measured for a measure, one seed decides nothing on it.

A claim over several measures or losses ("Mix is best on every measure") holds when every part
holds, is contradicted when any part is contradicted, and is undecided otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .design import ALPHAS
from .metrics import LOWER_IS_BETTER, METRICS
from .records import RunRecord, View

#: The run-to-run noise of one training run per measure, below which one seed decides nothing.
#: For PSNR the largest change (dB) of a single ``quick`` run when only the float32 rounding of
#: its convolutions changed (DEVELOPERS.md, 2026-11-27); for l2 the same as a relative change of
#: the error (``10^(0.14/10) - 1``).
SINGLE_RUN_NOISE = {"psnr": 0.14, "l2": 10 ** (0.14 / 10) - 1}

VERDICTS = ("holds", "contradicted", "undecided")


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and how we test it.

    ``kind`` is the test: ``better`` (``a`` beats ``b`` on each measure), ``not_better`` (``a``
    is at par with or worse than ``b``: contradicted only when ``a`` is decisively better),
    ``similar`` (``a`` and ``b`` within ``margin``, relative), ``best`` (``a`` beats each of
    ``others``), ``below_baseline`` (``a`` worse than the task's non-network column),
    ``beats_bm3d``, ``baseline_value`` (the non-network column equals the paper's ``value``),
    ``toy`` (Fig. 9's computation, no training) or ``untested`` (with ``reason``).
    """

    key: str
    text: str
    source: str
    kind: str
    tasks: tuple[str, ...] = ("demosaic",)
    measures: tuple[str, ...] = ("psnr",)
    a: str = ""
    b: str = ""
    others: tuple[str, ...] = ()
    margin: float = 0.0
    value: float | None = None
    reason: str = ""

    @property
    def test(self) -> str:
        """How the claim is tested, in words."""
        measures = ", ".join(self.measures)
        return {
            "better": f"{self.a} vs {self.b}, paired, on {measures}",
            "not_better": f"{self.a} vs {self.b}: contradicted if {self.a} is decisively better "
            f"on {measures}",
            "similar": f"|{self.a} - {self.b}| on {measures}, within {self.margin:.0%}",
            "best": f"{self.a} vs each of {', '.join(self.others)}, paired, on {measures}",
            "below_baseline": f"{self.a} vs the non-network column, paired, on {measures}",
            "beats_bm3d": f"{self.a} vs BM3D, paired, on {measures}",
            "baseline_value": f"the non-network column's {measures} vs the paper's {self.value}",
            "toy": "Fig. 9's toy signals, computed (no training, no statistics needed)",
            "untested": f"not tested yet: {self.reason}",
        }[self.kind]


_T1 = ("demosaic", "sr", "jpeg")
#: The paper's claims that we check (Sections 5-6, Table 1, Figs. 7-9).
CLAIMS: tuple[Claim, ...] = (
    Claim("l1_beats_l2", "l1 beats l2 on every measure", "Sec. 5.1, Table 1", "better",
          _T1, METRICS, "l1", "l2"),
    Claim("ssim5_not_better_than_l1", "SSIM5 is at par with or worse than l1", "Sec. 5, Table 1",
          "not_better", ("demosaic",), METRICS, "ssim5", "l1"),
    Claim("ssim9_not_better_than_l1", "SSIM9 is at par with or worse than l1", "Sec. 5, Table 1",
          "not_better", ("demosaic",), METRICS, "ssim9", "l1"),
    Claim("msssim_beats_ssim", "MS-SSIM is better than SSIM", "Sec. 5, Table 1", "better",
          ("demosaic",), METRICS, "msssim", "ssim5"),
    Claim("msssim_not_better_than_l1", "MS-SSIM is not clearly better than l1", "Sec. 5, Table 1",
          "not_better", _T1, METRICS, "msssim", "l1"),
    Claim("mix_best", "Mix is best on every measure", "Sec. 5, Table 1", "best", _T1, METRICS,
          "mix", others=("l2", "l1", "ssim5", "ssim9", "msssim")),
    Claim("msssim_collapses_on_jpeg", "MS-SSIM collapses on JPEG (worse than the JPEG input)",
          "Table 1 (JPEG: 27.66 dB against 32.60 dB)", "below_baseline", ("jpeg",), ("psnr",),
          "msssim"),
    Claim("ssim_shifts_colours", "SSIM-trained networks shift colours (more than l1)",
          "Sec. 5.2, Fig. 9", "better", ("demosaic",), ("colour_bias",), "l1", "ssim5"),
    Claim("mix_keeps_colours", "Mix does not shift colours (no more than l1)", "Sec. 5.2",
          "not_better", ("demosaic",), ("colour_bias",), "l1", "mix"),
    Claim("mix_beats_bm3d", "Mix beats CFA-BM3D", "Table 1 (demosaicking)", "beats_bm3d",
          ("demosaic",), ("psnr", "l2"), "mix"),
    Claim("switch_l2_l1_lowers_l2", "switching from l2 to l1 lowers the l2 error",
          "Sec. 5.1, Fig. 7", "better", ("demosaic",), ("l2",), "l2-l1", "l2"),
    Claim("switch_l1_l2_lowers_l2", "switching from l1 to l2 lowers the l2 error",
          "Sec. 5.1, Fig. 7", "better", ("demosaic",), ("l2",), "l1-l2", "l1"),
    Claim("switched_similar_l2", "the two switched networks reach a similar l2 error",
          "Sec. 5.1, Fig. 7", "similar", ("demosaic",), ("l2",), "l1-l2", "l2-l1", margin=0.05),
    Claim("l2_was_stuck", "l2 was stuck: l2 -> l1 beats continuing with l2 (our control)",
          "Sec. 5.1", "better", ("demosaic",), ("l2",), "l2-l1", "l2-l2"),
    Claim("fig8_small_sigma_edges", "a smaller sigma is better at edges (SSIM5 vs SSIM9)",
          "Sec. 5.2, Fig. 8", "better", ("demosaic",), ("psnr_edge",), "ssim5", "ssim9"),
    Claim("fig8_large_sigma_flat", "a larger sigma is better in flat regions (SSIM9 vs SSIM5)",
          "Sec. 5.2, Fig. 8", "better", ("demosaic",), ("psnr_flat",), "ssim9", "ssim5"),
    Claim("l2_splotches_flat", "l2 leaves splotches in flat regions (l1 beats l2 there)",
          "Sec. 3, Figs. 1 and 5", "better", ("demosaic",), ("psnr_flat",), "l1", "l2"),
    Claim("l2_keeps_edges", "l2 keeps edges sharp (l1 is not better at edges)", "Sec. 3",
          "not_better", ("demosaic",), ("psnr_edge",), "l1", "l2"),
    Claim("ssim_duller", "SSIM-trained networks render colours duller than l1", "Secs. 4, 5.2",
          "better", ("demosaic",), ("chroma_shift",), "l1", "ssim5"),
    Claim("msssim_duller", "MS-SSIM renders colours duller than l1", "Sec. 4.1", "better",
          ("demosaic",), ("chroma_shift",), "l1", "msssim"),
    Claim("fig9_bright_bias", "SSIM tolerates a bias more in bright regions", "Fig. 9", "toy"),
    Claim("noisy_input_psnr", "the noisy input has a PSNR of 28.24 dB", "Sec. 4.1, Table 1",
          "baseline_value", ("demosaic",), ("psnr",), value=28.24),
    Claim("alpha_084_best", "alpha = 0.84 is the best weight of Mix (our sweep)", "Sec. 4 (eq. 14)",
          "best", ("demosaic",), ("psnr", "ssim"), "mix",
          others=tuple(f"mix_alpha{a:g}" for a in ALPHAS if a != 0.84)),
)  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """A claim decided on one task and test set (``None`` fields where nothing was measured)."""

    claim: Claim
    task: str | None
    dataset: str | None
    verdict: str
    effect: float | None = None
    ci: tuple[float, float] | None = None
    n_images: int = 0
    n_seeds: int = 0
    measure: str | None = None
    parts: tuple[Verdict, ...] = field(default=(), repr=False)
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "claim": self.claim.text,
            "key": self.claim.key,
            "source": self.claim.source,
            "task": self.task,
            "dataset": self.dataset,
            "test": self.claim.test,
            "verdict": self.verdict,
            "measure": self.measure,
            "effect": self.effect,
            "ci": None if self.ci is None else list(self.ci),
            "n_images": self.n_images,
            "n_seeds": self.n_seeds,
            "note": self.note,
            "parts": [p.to_dict() for p in self.parts],
        }


# ------------------------------------------------------------------------------ statistics
def decide(d: np.ndarray, measure: str, *, scale: float = 1.0) -> tuple[str, float, tuple, str]:
    """The verdict on paired differences ``d`` (``images x seeds``, positive = the claim's side):
    ``(verdict, effect, (low, high), note)``. ``scale`` is the reference value that turns a
    relative noise floor into the measure's units (l2)."""
    n_seeds = d.shape[1]
    effect = float(d.mean())
    if n_seeds >= 2:
        from scipy import stats

        per_seed = d.mean(axis=0)
        half = float(stats.t.ppf(0.975, n_seeds - 1) * per_seed.std(ddof=1) / math.sqrt(n_seeds))
        low, high, note = effect - half, effect + half, f"t interval over {n_seeds} seeds"
    else:
        low, high = _bootstrap(d[:, 0])
        note = "one seed: interval over the images only"
    verdict = "holds" if low > 0 else "contradicted" if high < 0 else "undecided"
    if n_seeds < 2 and verdict != "undecided":
        floor = SINGLE_RUN_NOISE.get(measure)
        if floor is None:
            verdict, note = "undecided", f"{note}; no measured run-to-run noise for {measure}"
        elif abs(effect) <= floor * (scale if measure == "l2" else 1.0):
            verdict, note = "undecided", f"{note}; within one run's noise"
    return verdict, effect, (low, high), note


def _bootstrap(values: np.ndarray) -> tuple[float, float]:
    if len(values) < 2 or np.all(values == values[0]):
        v = float(values.mean())
        return v, v
    from scipy import stats

    res = stats.bootstrap(
        (values,), np.mean, confidence_level=0.95, n_resamples=4000, method="BCa",
        random_state=np.random.default_rng(0),
    )  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


# ------------------------------------------------------------------------------ per-image data
def _records(view: View, task: str, schedule: str) -> dict[int, RunRecord]:
    """The view's finished runs of one schedule, by seed."""
    out = {}
    for entry in view.runs():
        if (entry.task, entry.schedule) == (task, schedule):
            assert view.folder is not None  # a view with runs has a folder
            out[entry.seed] = RunRecord.load(view.folder.path / entry.folder / "metrics.json")
    return out


def _values(rows: dict, images: list[str], measure: str) -> np.ndarray:
    return np.array([rows[i][measure] for i in images], dtype=np.float64)


def _signed(a: np.ndarray, b: np.ndarray, measure: str) -> np.ndarray:
    """``a - b`` where higher is better, ``b - a`` where lower is better: positive = a better."""
    return b - a if measure in LOWER_IS_BETTER else a - b


def paired(view: View, task: str, dataset: str, a: str, b: str, measure: str):
    """``(differences images x seeds, reference value)`` of schedule ``a`` against ``b``, over
    the seeds and images both were scored on (``None`` if they share none)."""
    ra, rb = _records(view, task, a), _records(view, task, b)
    seeds = sorted(set(ra) & set(rb))
    if not seeds or any(dataset not in ra[s].test or dataset not in rb[s].test for s in seeds):
        return None
    tables = [(ra[s].test[dataset], rb[s].test[dataset]) for s in seeds]
    images = sorted(set.intersection(*(set(ta.rows) & set(tb.rows) for ta, tb in tables)))
    if not images or any(
        measure not in ta.metrics or measure not in tb.metrics for ta, tb in tables
    ):
        return None
    cols = [_signed(_values(ta.rows, images, measure), _values(tb.rows, images, measure), measure)
            for ta, tb in tables]  # fmt: skip
    ref = float(np.mean([_values(tb.rows, images, measure).mean() for _, tb in tables]))
    return np.stack(cols, axis=1), ref


def _against_table(view: View, task: str, dataset: str, a: str, table, measure: str):
    """Differences of schedule ``a`` against a fixed column (baseline, BM3D) on shared images."""
    ra = _records(view, task, a)
    if not ra or table is None or measure not in table.metrics:
        return None
    seeds = sorted(ra)
    if any(dataset not in ra[s].test for s in seeds):
        return None
    images = sorted(
        set.intersection(*(set(ra[s].test[dataset].rows) for s in seeds)) & set(table.rows)
    )
    if not images:
        return None
    fixed = _values(table.rows, images, measure)
    cols = [
        _signed(_values(ra[s].test[dataset].rows, images, measure), fixed, measure) for s in seeds
    ]
    return np.stack(cols, axis=1), float(fixed.mean())


# ------------------------------------------------------------------------------- verdicts
def _from_diffs(claim, task, dataset, measure, found, *, flip=False) -> Verdict:
    if found is None:
        return Verdict(claim, task, dataset, "undecided", measure=measure, note="not run")
    d, ref = found
    if flip:
        d = -d
    verdict, effect, ci, note = decide(d, measure, scale=ref)
    return Verdict(claim, task, dataset, verdict, effect, ci, d.shape[0], d.shape[1], measure,
                   note=note)  # fmt: skip


def _combine(claim, task, dataset, parts: list[Verdict]) -> Verdict:
    if len(parts) == 1:
        return parts[0]
    states = {p.verdict for p in parts}
    verdict = ("contradicted" if "contradicted" in states
               else "holds" if states == {"holds"} else "undecided")  # fmt: skip
    counts = ", ".join(f"{sum(p.verdict == v for p in parts)} {v}" for v in VERDICTS)
    # shown: PSNR where it decides (or nothing decides), else a part that decides the verdict
    measured = [p for p in parts if p.effect is not None]
    if not measured:
        return Verdict(claim, task, dataset, verdict, parts=tuple(parts), note="not run")
    deciding = [p for p in measured if p.verdict == verdict and verdict != "undecided"]
    psnr = [p for p in (deciding or measured) if p.measure == "psnr"]
    main = (psnr or deciding or measured)[0]
    counts += f"; shown: {main.measure}"
    return Verdict(claim, task, dataset, verdict, main.effect, main.ci, main.n_images,
                   main.n_seeds, main.measure, tuple(parts), f"{len(parts)} parts: {counts}")  # fmt: skip


def _not_better(v: Verdict) -> Verdict:
    """``a`` at par with or worse than ``b``: contradicted only when ``a`` is decisively better."""
    verdict = {"holds": "contradicted", "contradicted": "holds"}.get(v.verdict, "undecided")
    if v.verdict == "undecided" and v.ci is not None and v.ci[1] <= 0:
        verdict = "holds"
    return Verdict(v.claim, v.task, v.dataset, verdict, v.effect, v.ci, v.n_images, v.n_seeds,
                   v.measure, note=v.note)  # fmt: skip


def _similar(claim, task, dataset, measure, found) -> Verdict:
    if found is None:
        return Verdict(claim, task, dataset, "undecided", measure=measure, note="not run")
    d, ref = found
    _, effect, ci, note = decide(d, measure, scale=ref)
    bound = claim.margin * ref
    verdict = ("holds" if -bound < ci[0] and ci[1] < bound
               else "contradicted" if ci[0] > bound or ci[1] < -bound else "undecided")  # fmt: skip
    return Verdict(claim, task, dataset, verdict, effect, ci, d.shape[0], d.shape[1], measure,
                   note=f"{note}; similar = within {claim.margin:.0%} of {ref:.4g}")  # fmt: skip


def _datasets(view: View, task: str, schedule: str) -> list[str]:
    for experiment in ("table1", "switching", "alpha", "fig8", "geometry"):
        summary = view.summary(experiment)
        if summary is not None and summary.measures(task, schedule, _first(summary, task)):
            return summary.datasets(task)
    return []


def _first(summary, task: str) -> str:
    datasets = summary.datasets(task)
    return datasets[0] if datasets else ""


def _decide_claim(view: View, claim: Claim, task: str, dataset: str) -> Verdict:
    kind = claim.kind
    if kind in ("better", "not_better"):
        parts = [_from_diffs(claim, task, dataset, m, paired(view, task, dataset, claim.a, claim.b, m))
                 for m in claim.measures]  # fmt: skip
        if kind == "not_better":
            parts = [_not_better(p) for p in parts]
        return _combine(claim, task, dataset, parts)
    if kind == "similar":
        m = claim.measures[0]
        return _similar(claim, task, dataset, m, paired(view, task, dataset, claim.a, claim.b, m))
    if kind == "best":
        parts = [_from_diffs(claim, task, dataset, m, paired(view, task, dataset, claim.a, o, m))
                 for o in claim.others for m in claim.measures
                 if _records(view, task, o)]  # fmt: skip
        return _combine(claim, task, dataset, parts)
    if kind == "below_baseline":
        base = view.baseline(task)
        table = None if base is None else base.tables.get(dataset)
        m = claim.measures[0]
        return _from_diffs(claim, task, dataset, m, _against_table(view, task, dataset, claim.a, table, m),
                           flip=True)  # fmt: skip
    if kind == "beats_bm3d":
        bm3d = view.bm3d()
        table = None if bm3d is None or bm3d.settings.get("crop") else bm3d.tables.get(dataset)
        parts = [_from_diffs(claim, task, dataset, m, _against_table(view, task, dataset, claim.a, table, m))
                 for m in claim.measures]  # fmt: skip
        return _combine(claim, task, dataset, parts)
    raise ValueError(f"claim {claim.key}: unknown kind {kind!r}")


def _baseline_value(view: View, claim: Claim) -> list[Verdict]:
    base = view.baseline("demosaic")
    value = claim.value
    assert value is not None  # a baseline_value claim states the paper's value
    out = []
    for dataset, table in ({} if base is None else base.tables).items():
        values = np.array([r["psnr"] for r in table.rows.values()], dtype=np.float64)
        low, high = _bootstrap(values) if len(values) > 1 else (values[0], values[0])
        verdict = "holds" if low <= value <= high else "contradicted"
        out.append(Verdict(claim, "demosaic", dataset, verdict, float(values.mean()) - value,
                           (low - value, high - value), len(values), 1, "psnr",
                           note="difference to the paper's value; other test images (see the "
                           "noise analysis: the PSNR follows the mean intensity)"))  # fmt: skip
    return out


def _toy(claim: Claim) -> list[Verdict]:
    from .toy import bias_experiment

    lum = bias_experiment(3, seed=0)["luminance"]
    effect = float(lum["bright"] - lum["dark"])
    verdict = "holds" if effect > 0 else "contradicted"
    return [Verdict(claim, None, None, verdict, effect, (effect, effect), 0, 0, "ssim",
                    note=f"SSIM luminance term dark {lum['dark']:.4f}, bright {lum['bright']:.4f}")]  # fmt: skip


def verdicts(view: View) -> list[Verdict]:
    """Every claim of :data:`CLAIMS` decided on ``view``, per task and test set."""
    out: list[Verdict] = []
    for claim in CLAIMS:
        if claim.kind == "untested":
            out.append(Verdict(claim, None, None, "undecided", note=claim.test))
        elif claim.kind == "toy":
            out += _toy(claim)
        elif claim.kind == "baseline_value":
            out += _baseline_value(view, claim)
        else:
            for task in claim.tasks:
                datasets = _datasets(view, task, claim.a)
                if not datasets:
                    out.append(Verdict(claim, task, None, "undecided", note="not run"))
                for dataset in datasets:
                    out.append(_decide_claim(view, claim, task, dataset))
    return out


# --------------------------------------------------------------------------- the ablations
#: The measures the patch-geometry ablation is judged on.
GEOMETRY_MEASURES = ("psnr", "ssim", "ms_ssim", "psnr_edge", "psnr_flat")


def geometry_claims(profile_patch: int | None = None) -> tuple[Claim, ...]:
    """Our patch-geometry ablation (not a claim of the paper): for each loss of
    :data:`imgloss.design.GEOMETRY_LOSSES`, does training on the larger geometry (the loss on a
    31 x 31 output) beat the profile's own (a 15 x 15 output at the paper's 31 x 31 input)?"""
    from .design import GEOMETRY_LOSSES, GEOMETRY_PATCH, PAPER_PATCH

    other = PAPER_PATCH if profile_patch == GEOMETRY_PATCH else GEOMETRY_PATCH
    return tuple(
        Claim(f"geometry_{loss}", f"{loss}: {other} x {other} inputs beat the profile's",
              "our ablation (Sec. 4.1's patch)", "better", ("demosaic",), GEOMETRY_MEASURES,
              f"{loss}@patch{other}", loss)
        for loss in GEOMETRY_LOSSES
    )  # fmt: skip


def geometry_verdicts(view: View) -> list[Verdict]:
    """:func:`geometry_claims` decided on ``view`` like the paper's claims (per measure)."""
    from .design import PROFILES

    profile = PROFILES.get(view.profile)
    out = []
    for claim in geometry_claims(profile.patch if profile else None):
        for dataset in _datasets(view, "demosaic", claim.a):
            out.append(_decide_claim(view, claim, "demosaic", dataset))
    return out
