"""The paper's claims as data, each decided from our results with statistics.

Every :class:`Claim` names its place in the paper, the task, its **primary measure** (the first
of ``measures``: PSNR unless the claim is about colour, the l2 error or edges), the secondary
measures, the test and, for "at par" and "similar" claims, the equivalence **margin**.
:func:`verdicts` decides each claim on one results view (one profile, one data source) from the
**paired per-image, per-seed differences** of two trainings, or of a training and a fixed column
(the non-network input, BM3D), on every image and seed both were scored on
(:mod:`imgloss.results.scores`).

The statistics (:mod:`imgloss.results.inference`) model those differences with crossed image and
seed effects: the interval carries both the choice of test images and the run-to-run variation of
training, the latter pooled over every schedule of the task trained with several seeds (so a loss
trained once still carries it). Then:

* ``better`` claims hold when the 95% t interval lies above zero and are contradicted when it
  lies below;
* "at par", "not clearly better" and "similar" claims are equivalence tests (two one-sided tests
  at 5%, the 90% interval against the claim's margin): they hold only when the runs *show* the
  difference is within the margin, not when they merely fail to show one;
* a claim over several comparisons ("Mix is best") holds when every comparison holds
  (intersection-union test) and is contradicted when one is, after Holm's correction;
* the secondary measures are tested too, Holm-corrected within the claim, and shown beside the
  verdict without deciding it;
* every undecided verdict carries its minimum detectable effect at 80% power.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from imgloss.design.experiments import ALPHAS, label_network, schedule_label
from imgloss.metrics import METRICS
from imgloss.results import inference
from imgloss.results.inference import VERDICTS, Estimate, RunVariance
from imgloss.results.records import View
from imgloss.results.scores import ScoreSource, ViewScores, paired

#: The equivalence margin of PSNR-like claims ("at par"), in dB. Differences within it count
#: as no difference.
PSNR_MARGIN_DB = 0.3


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and how we test it.

    ``kind`` is the test: ``better`` (``a`` beats ``b``), ``not_better`` (``a`` is at par with
    or worse than ``b``: ``a - b < margin``, one-sided), ``similar`` (``|a - b| < margin``, two
    one-sided tests), ``best`` (``a`` beats each of ``others``), ``below_baseline`` (``a`` worse
    than the task's non-network column), ``beats_bm3d``, ``baseline_value`` (the non-network
    column within ``margin`` of the paper's ``value``), ``toy`` (Fig. 9's computation, no
    training) or ``untested`` (with ``reason``).

    ``measures[0]`` is the primary measure, which decides; the others are secondary.
    ``margin`` is in the primary measure's units, or a fraction of ``b``'s mean when
    ``relative`` (the l2 error and the colour bias scale with the images). ``chapter`` is the
    experiment whose chapter of the book decides it (:data:`CHAPTERS`).
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
    relative: bool = False
    chapter: str = "table1"

    @property
    def primary(self) -> str:
        """The measure that decides the claim."""
        return self.measures[0]

    @property
    def secondary(self) -> tuple[str, ...]:
        """The measures shown beside the verdict (Holm-corrected, not deciding)."""
        return self.measures[1:]

    def margin_text(self) -> str:
        """The equivalence margin in words ("" for claims without one)."""
        if self.kind not in ("not_better", "similar", "baseline_value"):
            return ""
        return f"{self.margin:.0%} of {self.b}'s mean" if self.relative else f"{self.margin:g}"

    @property
    def test(self) -> str:
        """How the claim is tested, in words."""
        measures = self.primary
        margin = self.margin_text()
        return {
            "better": f"{self.a} vs {self.b}, paired, on {measures}",
            "not_better": f"{self.a} - {self.b} < {margin} on {measures} (one-sided, 5%)",
            "similar": f"|{self.a} - {self.b}| < {margin} on {measures} (two one-sided tests)",
            "best": f"{self.a} vs each of {', '.join(self.others)}, paired, on {measures}",
            "below_baseline": f"{self.a} vs the non-network column, paired, on {measures}",
            "beats_bm3d": f"{self.a} vs BM3D, paired, on {measures}",
            "baseline_value": f"the non-network column's {measures} within {margin} of the "
            f"paper's {self.value} (two one-sided tests over the images)",
            "toy": "Fig. 9's toy signals, computed (no training, no statistics needed)",
            "untested": f"not tested yet: {self.reason}",
        }[self.kind]


_T1 = ("demosaic", "sr", "jpeg")
#: The switching schedules (Section 5.1) and the continued l2 control.
_L2_L1, _L1_L2, _L2_L2 = (schedule_label(*p) for p in (("l2", "l1"), ("l1", "l2"), ("l2", "l2")))
#: Table 1's measures with PSNR first: PSNR decides, the others are secondary.
_PSNR_FIRST = ("psnr", *(m for m in METRICS if m != "psnr"))
_AT_PAR = PSNR_MARGIN_DB
#: The paper's claims that we check (Sections 5-6, Table 1, Figs. 7-9).
CLAIMS: tuple[Claim, ...] = (
    Claim(
        "l1_beats_l2", "l1 beats l2", "Sec. 5.1, Table 1", "better", _T1, _PSNR_FIRST, "l1", "l2"
    ),
    Claim(
        "ssim5_not_better_than_l1",
        "SSIM5 is at par with or worse than l1",
        "Sec. 5, Table 1",
        "not_better",
        ("demosaic",),
        _PSNR_FIRST,
        "ssim5",
        "l1",
        margin=_AT_PAR,
    ),
    Claim(
        "ssim9_not_better_than_l1",
        "SSIM9 is at par with or worse than l1",
        "Sec. 5, Table 1",
        "not_better",
        ("demosaic",),
        _PSNR_FIRST,
        "ssim9",
        "l1",
        margin=_AT_PAR,
    ),
    Claim(
        "msssim_beats_ssim",
        "MS-SSIM is better than SSIM",
        "Sec. 5, Table 1",
        "better",
        ("demosaic",),
        _PSNR_FIRST,
        "msssim",
        "ssim5",
    ),
    Claim(
        "msssim_not_better_than_l1",
        "MS-SSIM is not clearly better than l1",
        "Sec. 5, Table 1",
        "not_better",
        _T1,
        _PSNR_FIRST,
        "msssim",
        "l1",
        margin=_AT_PAR,
    ),
    Claim(
        "mix_best",
        "Mix is best",
        "Sec. 5, Table 1",
        "best",
        _T1,
        _PSNR_FIRST,
        "mix",
        others=("l2", "l1", "ssim5", "ssim9", "msssim"),
    ),
    Claim(
        "msssim_collapses_on_jpeg",
        "MS-SSIM collapses on JPEG (worse than the JPEG input)",
        "Table 1 (JPEG: 27.66 dB against 32.60 dB)",
        "below_baseline",
        ("jpeg",),
        ("psnr",),
        "msssim",
    ),
    Claim(
        "ssim_shifts_colours",
        "SSIM-trained networks shift colours (more than l1)",
        "Sec. 5.2, Fig. 9",
        "better",
        ("demosaic",),
        ("colour_bias",),
        "l1",
        "ssim5",
    ),
    Claim(
        "mix_keeps_colours",
        "Mix does not shift colours (no more than l1)",
        "Sec. 5.2",
        "not_better",
        ("demosaic",),
        ("colour_bias",),
        "l1",
        "mix",
        margin=0.2,
        relative=True,
    ),
    Claim(
        "mix_beats_bm3d",
        "Mix beats CFA-BM3D",
        "Table 1 (demosaicking)",
        "beats_bm3d",
        ("demosaic",),
        ("psnr", "l2"),
        "mix",
    ),
    Claim(
        "switch_l2_l1_lowers_l2",
        "switching from l2 to l1 lowers the l2 error",
        "Sec. 5.1, Fig. 7",
        "better",
        ("demosaic",),
        ("l2",),
        _L2_L1,
        "l2",
        chapter="switching",
    ),
    Claim(
        "switch_l1_l2_lowers_l2",
        "switching from l1 to l2 lowers the l2 error",
        "Sec. 5.1, Fig. 7",
        "better",
        ("demosaic",),
        ("l2",),
        _L1_L2,
        "l1",
        chapter="switching",
    ),
    Claim(
        "switched_similar_l2",
        "the two switched networks reach a similar l2 error",
        "Sec. 5.1, Fig. 7",
        "similar",
        ("demosaic",),
        ("l2",),
        _L1_L2,
        _L2_L1,
        margin=0.05,
        relative=True,
        chapter="switching",
    ),
    Claim(
        "l2_was_stuck",
        "l2 was stuck: l2 -> l1 beats continuing with l2 (our control)",
        "Sec. 5.1",
        "better",
        ("demosaic",),
        ("l2",),
        _L2_L1,
        _L2_L2,
        chapter="switching",
    ),
    Claim(
        "fig8_small_sigma_edges",
        "a smaller sigma is better at edges (SSIM5 vs SSIM9)",
        "Sec. 5.2, Fig. 8",
        "better",
        ("demosaic",),
        ("psnr_edge",),
        "ssim5",
        "ssim9",
        chapter="fig8",
    ),
    Claim(
        "fig8_large_sigma_flat",
        "a larger sigma is better in flat regions (SSIM9 vs SSIM5)",
        "Sec. 5.2, Fig. 8",
        "better",
        ("demosaic",),
        ("psnr_flat",),
        "ssim9",
        "ssim5",
        chapter="fig8",
    ),
    Claim(
        "l2_splotches_flat",
        "l2 leaves splotches in flat regions (l1 beats l2 there)",
        "Sec. 3, Figs. 1 and 5",
        "better",
        ("demosaic",),
        ("psnr_flat",),
        "l1",
        "l2",
    ),
    Claim(
        "l2_keeps_edges",
        "l2 keeps edges sharp (l1 is not better at edges)",
        "Sec. 3",
        "not_better",
        ("demosaic",),
        ("psnr_edge",),
        "l1",
        "l2",
        margin=_AT_PAR,
    ),
    Claim(
        "ssim_duller",
        "SSIM-trained networks render colours duller than l1",
        "Secs. 4, 5.2",
        "better",
        ("demosaic",),
        ("chroma_shift",),
        "l1",
        "ssim5",
    ),
    Claim(
        "msssim_duller",
        "MS-SSIM renders colours duller than l1",
        "Sec. 4.1",
        "better",
        ("demosaic",),
        ("chroma_shift",),
        "l1",
        "msssim",
    ),
    Claim(
        "fig9_bright_bias",
        "SSIM tolerates a bias more in bright regions",
        "Fig. 9",
        "toy",
        chapter="fig8",
    ),
    Claim(
        "noisy_input_psnr",
        "the noisy input has a PSNR of 28.24 dB",
        "Sec. 4.1, Table 1",
        "baseline_value",
        ("demosaic",),
        ("psnr",),
        value=28.24,
        margin=_AT_PAR,
    ),
    Claim(
        "alpha_084_best",
        "alpha = 0.84 is the best weight of Mix (our sweep)",
        "Sec. 4 (eq. 14)",
        "best",
        ("demosaic",),
        ("psnr", "ssim"),
        "mix",
        others=tuple(f"mix_alpha{a:g}" for a in ALPHAS if a != 0.84),
        chapter="alpha",
    ),
)


#: The chapters that decide claims, each named by the experiment it shows.
CHAPTERS = ("table1", "switching", "fig8", "alpha")


def chapter_claims(chapter: str) -> tuple[Claim, ...]:
    """The claims a chapter of the book decides (``chapter``: one of :data:`CHAPTERS`)."""
    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; the chapters: {', '.join(CHAPTERS)}")
    return tuple(c for c in CLAIMS if c.chapter == chapter)


@dataclass(frozen=True)
class Verdict:
    """A claim decided on one task and test set (``None`` fields where nothing was measured).

    ``measure`` is the primary measure, ``effect`` its mean paired difference (positive favours
    the claim's first side) and ``ci`` its interval at ``ci_level`` (0.95 for superiority, 0.90
    for the equivalence tests); ``df`` its degrees of freedom, ``method`` how the variance was
    estimated, ``margin`` the equivalence margin in the measure's units and ``mde`` the smallest
    effect these runs detect at 80% power. ``parts`` are the comparisons of a several-part claim
    on the primary measure; ``secondary`` the other measures' tests, whose ``p`` is
    Holm-adjusted within the claim."""

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
    ci_level: float = 0.95
    df: float | None = None
    method: str = ""
    margin: float | None = None
    mde: float | None = None
    p: float | None = None
    secondary: tuple[Verdict, ...] = field(default=(), repr=False)
    against: str = ""

    def to_dict(self) -> dict:
        """Plain data for ``--json``: a value that is not finite (one image gives no interval)
        is ``null``, and ``non_finite`` names those fields."""
        d = {
            "claim": self.claim.text,
            "key": self.claim.key,
            "source": self.claim.source,
            "task": self.task,
            "dataset": self.dataset,
            "test": self.claim.test,
            "verdict": self.verdict,
            "measure": self.measure,
            "primary_measure": self.claim.primary if self.claim.measures else None,
            "effect": self.effect,
            "ci": None if self.ci is None else list(self.ci),
            "ci_level": self.ci_level,
            "df": self.df,
            "method": self.method,
            "margin": self.margin,
            "mde": self.mde,
            "p": self.p,
            "n_images": self.n_images,
            "n_seeds": self.n_seeds,
            "note": self.note,
            "against": self.against,
            "parts": [p.to_dict() for p in self.parts],
            "secondary": [s.to_dict() for s in self.secondary],
        }
        return _strict_json(d)


def _strict_json(d: dict) -> dict:
    """``d`` with NaN and infinite numbers (also inside lists) replaced by ``None``, and the
    names of those fields in ``d["non_finite"]`` (strict JSON has no NaN)."""
    bad = []
    for key, value in d.items():
        if isinstance(value, float) and not np.isfinite(value):
            d[key] = None
            bad.append(key)
        elif isinstance(value, list) and any(
            isinstance(v, float) and not np.isfinite(v) for v in value
        ):
            d[key] = [v if not isinstance(v, float) or np.isfinite(v) else None for v in value]
            bad.append(key)
    d["non_finite"] = bad
    return d


# ------------------------------------------------------------------------------ the tests
class _Context:
    """One evaluation over a :class:`~imgloss.results.scores.ScoreSource`, with the pooled run
    variances cached per task, test set and measure."""

    def __init__(self, source: ScoreSource):
        self.source = source
        self._pooled: dict[tuple[str, str, str, str | None], RunVariance | None] = {}

    def run_variance(
        self, task: str, dataset: str, measure: str, network: str | None = None
    ) -> RunVariance | None:
        """The run-to-run variance pooled over the schedules of ``task`` trained with several
        seeds on ``network`` (``None``: the task's own): networks are never pooled together."""
        key = (task, dataset, measure, network)
        if key not in self._pooled:
            tables = []
            for schedule in self.source.schedules(task):
                if label_network(schedule) != network:
                    continue
                found = self.source.runs(task, dataset, schedule, measure)
                if found is not None and len(found.seeds) >= 2:
                    tables.append(found.values)
            self._pooled[key] = RunVariance.pooled(tables)
        return self._pooled[key]

    def estimate(self, task: str, dataset: str, a: str, b: str, measure: str):
        """``(Estimate, b's mean)`` of schedule ``a`` against ``b`` (a schedule, or the fixed
        column ``"baseline"``/``"bm3d"``), or ``None`` when they share no scores."""
        scores_a = self.source.runs(task, dataset, a, measure)
        fixed = b in ("baseline", "bm3d")
        scores_b = (
            self.source.column(task, dataset, b, measure)
            if fixed
            else self.source.runs(task, dataset, b, measure)
        )
        if scores_a is None or scores_b is None:
            return None
        found = paired(scores_a, scores_b, measure)
        if found is None:
            return None
        d, ref = found
        pooled = self.run_variance(task, dataset, measure, label_network(a))
        return inference.estimate(d, pooled, runs=1 if fixed else 2), ref


def _unmeasured(claim, task, dataset, measure, against="", note="not run") -> Verdict:
    return Verdict(claim, task, dataset, "undecided", measure=measure, note=note, against=against)


def _test(claim: Claim, est: Estimate, ref: float, *, equivalence_kind: str | None = None):
    """``(verdict, interval, level, margin)`` of one comparison under the claim's test."""
    kind = equivalence_kind or claim.kind
    margin = claim.margin * abs(ref) if claim.relative else claim.margin
    if kind == "not_better":
        return inference.non_superiority(est, margin), est.ci(0.90), 0.90, margin
    if kind in ("similar", "baseline_value"):
        return inference.equivalence(est, margin), est.ci(0.90), 0.90, margin
    return inference.superiority(est), est.ci(0.95), 0.95, None


def _verdict(claim, task, dataset, measure, found, *, against="", kind=None, flip=False) -> Verdict:
    """One comparison on one measure, decided by the claim's test (or ``kind``'s)."""
    if found is None:
        return _unmeasured(claim, task, dataset, measure, against)
    est, ref = found
    if flip:
        est = replace(est, effect=-est.effect)
    verdict, ci, level, margin = _test(claim, est, ref, equivalence_kind=kind)
    note = ""
    if not est.training:
        verdict = "undecided"
        note = "undecided: no run-to-run variance measured for this task"
    mde = est.mde() if np.isfinite(est.se) else None
    return Verdict(
        claim,
        task,
        dataset,
        verdict,
        est.effect,
        ci,
        est.n_images,
        est.n_seeds,
        measure,
        note=note,
        ci_level=level,
        df=est.df,
        method=est.method,
        margin=margin,
        mde=mde,
        p=est.p_two_sided() if np.isfinite(est.se) else None,
        against=against,
    )


def _with_holm(parts: list[Verdict]) -> list[Verdict]:
    """Secondary (or several-part) tests with Holm-adjusted p-values; a part is decided only
    where its adjusted p is below 5%, in the direction of its effect (for ``not_better`` parts:
    contradicted when ``a`` is better, holds when it is worse)."""
    measured = [i for i, p in enumerate(parts) if p.p is not None]
    reject, adjusted = inference.holm([float(parts[i].p or 1.0) for i in measured])
    out = list(parts)
    for i, rejected, p in zip(measured, reject, adjusted, strict=True):
        part = parts[i]
        better = (part.effect or 0.0) > 0
        if part.claim.kind == "not_better":
            verdict = ("contradicted" if better else "holds") if rejected else "undecided"
        else:
            verdict = ("holds" if better else "contradicted") if rejected else "undecided"
        out[i] = replace(part, verdict=verdict, p=p)
    return out


def _secondary(ctx, claim, task, dataset, b: str) -> tuple[Verdict, ...]:
    parts = [
        _verdict(
            claim,
            task,
            dataset,
            m,
            ctx.estimate(task, dataset, claim.a, b, m),
            against=b,
            kind="better",
        )
        for m in claim.secondary
    ]
    return tuple(_with_holm(parts))


def _several(claim, task, dataset, parts: list[Verdict], secondary) -> Verdict:
    """A claim over several comparisons on the primary measure: holds when every comparison
    holds (intersection-union), contradicted when one is after Holm's correction."""
    measured = [p for p in parts if p.effect is not None]
    if not measured:
        return _unmeasured(claim, task, dataset, claim.primary)
    corrected = _with_holm(measured)
    if all(p.verdict == "holds" for p in measured) and len(measured) == len(parts):
        verdict = "holds"
    elif any(p.verdict == "contradicted" for p in corrected):
        verdict = "contradicted"
    else:
        verdict = "undecided"
    # shown: the comparison that decides (the weakest one unless one contradicts)
    deciding = (
        [p for p in corrected if p.verdict == "contradicted"] if verdict == "contradicted" else []
    )
    main = deciding[0] if deciding else min(measured, key=lambda p: p.ci[0] if p.ci else 0.0)
    counts = ", ".join(f"{sum(p.verdict == v for p in measured)} {v}" for v in VERDICTS)
    missing = len(parts) - len(measured)
    note = f"{len(parts)} comparisons ({counts}{f', {missing} not run' if missing else ''}); shown: vs {main.against}"
    mdes = [p.mde for p in measured if p.verdict == "undecided" and p.mde is not None]
    return replace(
        main,
        verdict=verdict,
        parts=tuple(parts),
        secondary=secondary,
        note=note,
        mde=max(mdes) if mdes else main.mde,
    )


def _decide_claim(ctx: _Context, claim: Claim, task: str, dataset: str) -> Verdict:
    kind, m = claim.kind, claim.primary
    if kind in ("better", "not_better", "similar"):
        found = ctx.estimate(task, dataset, claim.a, claim.b, m)
        main = _verdict(claim, task, dataset, m, found, against=claim.b)
        return replace(main, secondary=_secondary(ctx, claim, task, dataset, claim.b))
    if kind == "best":
        parts = [
            _verdict(claim, task, dataset, m, ctx.estimate(task, dataset, claim.a, o, m), against=o)
            for o in claim.others
            if ctx.source.runs(task, dataset, o, m) is not None
        ]
        secondary = tuple(
            _with_holm(
                [
                    _verdict(
                        claim,
                        task,
                        dataset,
                        s,
                        ctx.estimate(task, dataset, claim.a, p.against, s),
                        against=p.against,
                    )
                    for p in parts
                    for s in claim.secondary
                ]
            )
        )
        return _several(claim, task, dataset, parts, secondary)
    if kind == "below_baseline":
        return _verdict(
            claim,
            task,
            dataset,
            m,
            ctx.estimate(task, dataset, claim.a, "baseline", m),
            against="baseline",
            flip=True,
        )
    if kind == "beats_bm3d":
        main = _verdict(
            claim, task, dataset, m, ctx.estimate(task, dataset, claim.a, "bm3d", m), against="bm3d"
        )
        return replace(main, secondary=_secondary(ctx, claim, task, dataset, "bm3d"))
    raise ValueError(f"claim {claim.key}: unknown kind {kind!r}")


def _baseline_value(ctx: _Context, claim: Claim) -> list[Verdict]:
    """The non-network column against the paper's value: equivalence within the margin, over
    the images (no training, so image variance only: the test noise is seeded)."""
    value = claim.value
    assert value is not None  # a baseline_value claim states the paper's value
    out = []
    for task in claim.tasks:
        for dataset in ctx.source.datasets(task, "baseline"):
            scores = ctx.source.column(task, dataset, "baseline", claim.primary)
            if scores is None:
                continue
            est = inference.estimate(scores.values - value)
            verdict, ci, level, margin = _test(claim, replace(est, training=True), value)
            out.append(
                Verdict(
                    claim,
                    task,
                    dataset,
                    verdict,
                    est.effect,
                    ci,
                    est.n_images,
                    1,
                    claim.primary,
                    ci_level=level,
                    df=est.df,
                    method="t over the images (no training involved)",
                    margin=margin,
                    mde=est.mde(),
                    p=est.p_two_sided(),
                    note="difference to the paper's value on other test images (the "
                    "PSNR of a noisy image follows its mean intensity)",
                )
            )
    return out


def _toy(claim: Claim) -> list[Verdict]:
    from imgloss.experiments.toy import bias_experiment

    lum = bias_experiment(3, seed=0)["luminance"]
    effect = float(lum["bright"] - lum["dark"])
    verdict = "holds" if effect > 0 else "contradicted"
    return [
        Verdict(
            claim,
            None,
            None,
            verdict,
            effect,
            (effect, effect),
            0,
            0,
            "ssim",
            method="computed (no sampling)",
            note=f"SSIM luminance term dark {lum['dark']:.4f}, bright {lum['bright']:.4f}",
        )
    ]


def _source(view_or_source: View | ScoreSource) -> ScoreSource:
    return ViewScores(view_or_source) if isinstance(view_or_source, View) else view_or_source


def verdicts(view: View | ScoreSource, claims: tuple[Claim, ...] = CLAIMS) -> list[Verdict]:
    """Every claim of ``claims`` decided on ``view`` (or any score source), per task and test
    set."""
    ctx = _Context(_source(view))
    out: list[Verdict] = []
    for claim in claims:
        if claim.kind == "untested":
            out.append(Verdict(claim, None, None, "undecided", note=claim.test))
        elif claim.kind == "toy":
            out += _toy(claim)
        elif claim.kind == "baseline_value":
            out += _baseline_value(ctx, claim)
        else:
            for task in claim.tasks:
                datasets = ctx.source.datasets(task, claim.a)
                if not datasets:
                    out.append(Verdict(claim, task, None, "undecided", note="not run"))
                for dataset in datasets:
                    out.append(_decide_claim(ctx, claim, task, dataset))
    return out


def difference(view: View | ScoreSource, task: str, dataset: str, a: str, b: str, measure: str):
    """``(Estimate, b's mean)`` of schedule ``a`` against ``b`` on one measure under the claims'
    model (pooled run variance), or ``None`` when they share no scores (for figures)."""
    return _Context(_source(view)).estimate(task, dataset, a, b, measure)


# --------------------------------------------------------------------------- the ablations
#: The measures the patch-geometry ablation is judged on.
GEOMETRY_MEASURES = ("psnr", "ssim", "ms_ssim", "psnr_edge", "psnr_flat")


def geometry_claims(profile_patch: int | None = None) -> tuple[Claim, ...]:
    """Our patch-geometry ablation (not a claim of the paper): for each loss of
    :data:`imgloss.design.experiments.GEOMETRY_LOSSES`, does training on the larger geometry (the
    loss on a 31 x 31 output) beat the profile's own (a 15 x 15 output at the paper's 31 x 31
    input)?"""
    from imgloss.design.experiments import GEOMETRY_LOSSES, GEOMETRY_PATCH, PAPER_PATCH

    other = PAPER_PATCH if profile_patch == GEOMETRY_PATCH else GEOMETRY_PATCH
    return tuple(
        Claim(
            f"geometry_{loss}",
            f"{loss}: {other} x {other} inputs beat the profile's",
            "our ablation (Sec. 4.1's patch)",
            "better",
            ("demosaic",),
            GEOMETRY_MEASURES,
            f"{loss}@patch{other}",
            loss,
        )
        for loss in GEOMETRY_LOSSES
    )


def geometry_verdicts(view: View) -> list[Verdict]:
    """:func:`geometry_claims` decided on ``view`` like the paper's claims (PSNR decides, the
    other measures are secondary)."""
    from imgloss.design.experiments import PROFILES

    profile = PROFILES.get(view.profile)
    ctx = _Context(_source(view))
    out = []
    for claim in geometry_claims(profile.patch if profile else None):
        for dataset in ctx.source.datasets("demosaic", claim.a):
            out.append(_decide_claim(ctx, claim, "demosaic", dataset))
    return out


# ------------------------------------------------------------------- short against converged
#: How a verdict moved from short to converged training (:func:`verdict_shifts`).
SHIFTS = ("survives", "reverses", "attenuates", "emerges", "undecided in both", "not run")


@dataclass(frozen=True)
class Shift:
    """One claim on one task and test set under two profiles: ``short`` and ``long`` are the
    verdicts (``long`` ``None`` where the longer profile has not decided it yet)."""

    short: Verdict
    long: Verdict | None
    shift: str


def _shift(short: str, long: str | None) -> str:
    if long is None:
        return "not run"
    if short == long:
        return "undecided in both" if short == "undecided" else "survives"
    if "undecided" not in (short, long):
        return "reverses"
    return "attenuates" if long == "undecided" else "emerges"


def verdict_shifts(short: list[Verdict], long: list[Verdict]) -> list[Shift]:
    """Pair each verdict of the short profile with the longer profile's verdict on the same
    claim, task and test set, and name the move: ``survives`` (same decision), ``reverses``
    (holds <-> contradicted), ``attenuates`` (decided, then undecided), ``emerges``
    (undecided, then decided), ``undecided in both``, or ``not run`` (no longer runs yet)."""
    found = {(v.claim.key, v.task, v.dataset): v for v in long if v.effect is not None}
    out = []
    for v in short:
        other = found.get((v.claim.key, v.task, v.dataset))
        out.append(Shift(v, other, _shift(v.verdict, None if other is None else other.verdict)))
    return out


# ------------------------------------------------------------ SSIM under ssim.m's convention
#: Table 1's SSIM and its twin under Wang's ``ssim.m`` (automatic downsampling), as the paper does
#: not say which it ran (:func:`imgloss.metrics.ssim.ssim_matlab`).
SSIM, SSIM_MATLAB = "ssim", "ssim_matlab"


def under_matlab(claim: Claim) -> Claim:
    """``claim`` with SSIM measured as ``ssim.m`` measures it (every other measure unchanged)."""
    return replace(claim, measures=tuple(SSIM_MATLAB if m == SSIM else m for m in claim.measures))


@dataclass(frozen=True)
class ConventionChange:
    """A claim's SSIM test on one task, test set and comparison (``against``) whose verdict
    differs between Table 1's SSIM (``default``) and ``ssim.m``'s (``matlab``)."""

    claim: Claim
    task: str | None
    dataset: str | None
    against: str
    default: str
    matlab: str


def _ssim_tests(v: Verdict, measure: str) -> dict[str, str]:
    """``{against: verdict}`` of ``v``'s tests on ``measure`` (primary, parts or secondary) that
    were measured."""
    tests = [v, *v.parts, *v.secondary]
    return {t.against: t.verdict for t in tests if t.measure == measure and t.effect is not None}


def convention_changes(
    view: View | ScoreSource, decided: list[Verdict] | None = None
) -> list[ConventionChange]:
    """Every SSIM test of the paper's claims decided again with SSIM as ``ssim.m`` computes it,
    and those whose verdict changes (none where the runs were not scored with ``ssim_matlab``).
    The claims' verdicts themselves rest on their primary measure, PSNR for most of them.
    ``decided``: the claims' verdicts on ``view`` when the caller has them already."""
    claims = tuple(c for c in CLAIMS if SSIM in c.measures)
    keys = {c.key for c in claims}
    default = [v for v in decided or verdicts(view, claims) if v.claim.key in keys]
    matlab = {
        (v.claim.key, v.task, v.dataset): v
        for v in verdicts(view, tuple(map(under_matlab, claims)))
    }
    out = []
    for v in default:
        w = matlab.get((v.claim.key, v.task, v.dataset))
        if w is None:
            continue
        ours, theirs = _ssim_tests(v, SSIM), _ssim_tests(w, SSIM_MATLAB)
        for against in sorted(ours.keys() & theirs.keys()):
            if ours[against] != theirs[against]:
                out.append(
                    ConventionChange(
                        v.claim, v.task, v.dataset, against, ours[against], theirs[against]
                    )
                )
    return out


def scored_under_matlab(view: View | ScoreSource, task: str = "demosaic") -> bool:
    """Whether the runs of ``task`` were scored with ``ssim.m``'s SSIM too (``l1`` as witness)."""
    source = _source(view)
    datasets = source.datasets(task, "l1")
    return bool(datasets) and source.runs(task, datasets[0], "l1", SSIM_MATLAB) is not None
