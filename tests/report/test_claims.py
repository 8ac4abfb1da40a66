"""The paper's claims, decided with statistics (tests/results/test_inference.py checks the methods):
every Table 1 claim holds on the paper's own numbers, equivalence claims hold only inside their
margin, and the verdicts on the committed results carry their measure, method, degrees of
freedom, secondary measures and minimum detectable effect."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from imgloss.cli import commands as cli
from imgloss.design.paper import TABLE1
from imgloss.metrics import METRICS
from imgloss.report import claims
from imgloss.report import tables as report
from imgloss.results import records
from imgloss.results.scores import Scores

REPO = Path(__file__).resolve().parents[2]


#: The paper's fixed columns of Table 1, by the score sources' names for them.
FIXED_COLUMNS = {"baseline": ("Noisy", "Bilinear", "Original JPEG"), "bm3d": ("BM3D",)}


class PaperScores:
    """A score source built around the paper's own Table 1 means: 40 images (its demosaicking
    test set's size) x 3 seeds, with a large shared image effect and small noise."""

    def __init__(self, noise: float = 0.02, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.images = tuple(f"img{i:02d}" for i in range(40))
        self.shared = {m: rng.normal(0, 1.0, (40, 1)) for m in METRICS}
        self.rng, self.noise = rng, noise

    def _values(self, mean: float, measure: str, seeds: int) -> np.ndarray:
        scale = 1.0 if measure.startswith("psnr") else abs(mean) * 0.01
        spread = self.rng.normal(0, self.noise, (40, seeds)) + self.rng.normal(
            0, self.noise, (1, seeds)
        )
        return mean + scale * (0.5 * self.shared[measure] + spread)

    def runs(self, task, dataset, schedule, measure):
        row = TABLE1[task].get(schedule)
        if row is None or measure not in row:
            return None
        return Scores(self.images, (0, 1, 2), self._values(row[measure], measure, 3))

    def column(self, task, dataset, column, measure):
        row = next((TABLE1[task][c] for c in FIXED_COLUMNS[column] if c in TABLE1[task]), None)
        if row is None:
            return None
        return Scores(self.images, (-1,), self._values(row[measure], measure, 1))

    def schedules(self, task):
        return [c for c in TABLE1[task] if c in ("l2", "l1", "ssim5", "ssim9", "msssim", "mix")]

    def datasets(self, task, schedule):
        known = (
            schedule in TABLE1[task]
            or schedule == "baseline"
            or (schedule == "bm3d" and "BM3D" in TABLE1[task])
        )
        return ["paper"] if known else []


#: The claims that the paper's Table 1 can decide (the others rest on figures or our controls).
TABLE1_CLAIMS = (
    "l1_beats_l2",
    "ssim5_not_better_than_l1",
    "ssim9_not_better_than_l1",
    "msssim_beats_ssim",
    "msssim_not_better_than_l1",
    "mix_best",
    "msssim_collapses_on_jpeg",
    "mix_beats_bm3d",
    "noisy_input_psnr",
)


def test_every_claim_holds_on_the_papers_own_numbers():
    chosen = tuple(c for c in claims.CLAIMS if c.key in TABLE1_CLAIMS)
    found = claims.verdicts(PaperScores(), chosen)
    assert {v.claim.key for v in found} == set(TABLE1_CLAIMS)
    wrong = [(v.claim.key, v.task, v.verdict, v.effect) for v in found if v.verdict != "holds"]
    assert not wrong
    # ... and the same claims are not all "holds" when the paper's numbers are swapped
    swapped = claims.verdicts(PaperScores(), (replace(chosen[0], a="l2", b="l1"),))
    assert {v.verdict for v in swapped} == {"contradicted"}


def test_equivalence_claims_hold_only_inside_their_margin():
    """An "at par" claim holds only when the 90% interval lies inside the margin (TOST): a tight
    difference of 0.5 dB is beyond the 0.3 dB margin, a noisy one within it is undecided."""
    at_par = next(c for c in claims.CLAIMS if c.key == "ssim5_not_better_than_l1")
    assert at_par.margin == claims.PSNR_MARGIN_DB and at_par.primary == "psnr"

    class Shifted(PaperScores):
        def __init__(self, shift, noise):
            super().__init__(noise=noise)
            self.shift = shift

        def runs(self, task, dataset, schedule, measure):
            found = super().runs(task, dataset, "l1", measure)
            if found is None or schedule not in ("ssim5", "l1"):
                return None
            extra = self.shift if schedule == "ssim5" and measure == "psnr" else 0.0
            return Scores(found.images, found.seeds, found.values + extra)

    def decided(shift, noise):
        (v,) = claims.verdicts(Shifted(shift, noise), (at_par,))
        return v

    assert decided(0.5, 0.02).verdict == "contradicted"
    assert decided(0.0, 0.02).verdict == "holds"
    noisy = decided(0.0, 1.5)
    assert noisy.verdict == "undecided" and noisy.ci_level == 0.90
    assert noisy.ci[1] > noisy.margin and noisy.mde > 0


def test_every_claim_of_the_issue_is_listed_with_its_source_and_test():
    keys = {c.key for c in claims.CLAIMS}
    for key in (
        "l1_beats_l2",
        "ssim5_not_better_than_l1",
        "msssim_beats_ssim",
        "msssim_not_better_than_l1",
        "mix_best",
        "msssim_collapses_on_jpeg",
        "ssim_shifts_colours",
        "mix_keeps_colours",
        "mix_beats_bm3d",
        "switch_l2_l1_lowers_l2",
        "switch_l1_l2_lowers_l2",
        "switched_similar_l2",
        "l2_was_stuck",
        "fig8_small_sigma_edges",
        "fig8_large_sigma_flat",
        "l2_splotches_flat",
        "ssim_duller",
        "fig9_bright_bias",
        "noisy_input_psnr",
        "alpha_084_best",
    ):
        assert key in keys
    for c in claims.CLAIMS:
        assert c.source and c.test and c.text


def test_the_committed_results_decide_with_their_effects_and_counts():
    view = records.open_view(REPO / "results", "quick", root=None)
    found = {(v.claim.key, v.task, v.dataset): v for v in claims.verdicts(view)}
    psnr = found[("l1_beats_l2", "demosaic", "Kodak24")]
    assert psnr.measure == "psnr" and psnr.verdict == "holds" and psnr.ci[0] > 0
    assert (psnr.n_images, psnr.n_seeds) == (24, 3)  # all of Kodak24, three seeds
    assert psnr.df > 10 and "pooled over" in psnr.method  # not the 2 df of three seeds alone
    # the PSNR difference is the mean of the per-image differences of the two runs
    summary = view.summary("table1")
    means = {n: summary.cell("demosaic", n, "Kodak24", "psnr").mean for n in ("l1", "l2")}
    assert psnr.effect == pytest.approx(means["l1"] - means["l2"], abs=1e-9)
    # the other eight measures are secondary, Holm-adjusted
    assert {s.measure for s in psnr.secondary} == set(METRICS) - {"psnr"}
    assert all(s.p is not None and 0 <= s.p <= 1 for s in psnr.secondary)
    bm3d = found[("mix_beats_bm3d", "demosaic", "Kodak24")]
    assert bm3d.verdict == "contradicted" and bm3d.effect < -1  # BM3D is far ahead here
    for key in (
        "fig8_small_sigma_edges",
        "fig8_large_sigma_flat",
        "l2_splotches_flat",
        "ssim_duller",
    ):
        v = found[(key, "demosaic", "Kodak24")]
        assert (v.n_images, v.n_seeds) == (24, 3) and v.measure in (
            "psnr_edge",
            "psnr_flat",
            "chroma_shift",
        ), key
    assert found[("fig9_bright_bias", None, None)].verdict == "holds"
    for v in found.values():
        assert v.verdict in claims.VERDICTS
        if v.verdict == "undecided" and v.effect is not None:
            assert v.mde is not None and v.mde > 0, v.claim.key  # the power of what was run
        if v.verdict == "holds" and v.margin is not None and v.claim.kind != "not_better":
            assert -v.margin < v.ci[0] and v.ci[1] < v.margin, v.claim.key  # shown, not assumed
        if v.n_seeds == 1 and v.verdict != "undecided" and v.claim.kind != "baseline_value":
            assert "pooled over" in v.method, v.claim.key  # one seed carries measured run noise


def test_cli_prints_the_claims_as_json(capsys):
    assert (
        cli.main(
            [
                "report",
                "--profile",
                "quick",
                "--results",
                str(REPO / "results"),
                "--findings",
                "--json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert rows and {
        "claim",
        "source",
        "task",
        "verdict",
        "effect",
        "ci",
        "n_images",
        "n_seeds",
        "primary_measure",
        "method",
        "df",
        "margin",
        "mde",
        "secondary",
    } <= set(rows[0])
    at_par = next(r for r in rows if r["key"] == "ssim5_not_better_than_l1")
    assert at_par["margin"] == claims.PSNR_MARGIN_DB and at_par["ci_level"] == 0.9
    assert {r["verdict"] for r in rows} <= set(claims.VERDICTS)
    assert (
        cli.main(["report", "--profile", "quick", "--results", str(REPO / "results"), "--findings"])
        == 0
    )
    assert "| the paper's claim |" in capsys.readouterr().out


def test_the_paper_profiles_geometry_follows_the_committed_ablation():
    """Issue 16's rule: the `paper` profile trains on the larger geometry only if the committed
    three-seed ablation shows it better for some loss (and worse for none)."""
    from imgloss.design.experiments import GEOMETRY_LOSSES, GEOMETRY_PATCH, PROFILES

    view = records.open_view(REPO / "results", "quick", root=None)
    found = claims.geometry_verdicts(view)
    assert {v.claim.key for v in found} == {f"geometry_{loss}" for loss in GEOMETRY_LOSSES}
    assert all((p.n_images, p.n_seeds) == (24, 3) for v in found for p in (v, *v.secondary))
    larger_wins = any(v.verdict == "holds" for v in found) and not any(
        v.verdict == "contradicted" for v in found
    )
    assert (PROFILES["paper"].patch == GEOMETRY_PATCH) == larger_wins


def test_verdict_shifts_name_each_move():
    claim = claims.CLAIMS[0]

    def v(verdict, task="demosaic", effect=0.1):
        return claims.Verdict(claim, task, "Kodak24", verdict, effect, (0.0, 0.2), 24, 3, "psnr")

    cases = [
        ("holds", "holds", "survives"),
        ("holds", "contradicted", "reverses"),
        ("contradicted", "undecided", "attenuates"),
        ("undecided", "holds", "emerges"),
        ("undecided", "undecided", "undecided in both"),
    ]
    for short, long, moved in cases:
        (shift,) = claims.verdict_shifts([v(short)], [v(long)])
        assert shift.shift == moved and shift.long is not None
    (missing,) = claims.verdict_shifts([v("holds")], [v("holds", task="sr")])
    assert missing.shift == "not run" and missing.long is None
    (unmeasured,) = claims.verdict_shifts([v("holds")], [v("undecided", effect=None)])
    assert unmeasured.shift == "not run"  # a "not run" verdict of the long profile


def test_the_shift_table_compares_two_profiles_of_one_source():
    from imgloss.report import tables as report

    quick = records.open_view(REPO / "results", "quick", root=None)
    nothing = records.View(quick.results, "smoke", quick.tag)
    assert report.verdict_shifts_markdown(quick, nothing) == ""
    same = report.verdict_shifts_markdown(quick, quick)
    moves = [line.rsplit("|", 2)[-2].strip() for line in same.splitlines()[2:]]
    assert moves and set(moves) <= {"survives", "undecided in both", "not run"}
    assert "| l1 beats l2 | Joint denoising + demosaicking | **holds**" in same


def test_each_claim_carries_the_chapter_that_decides_it():
    """The chapters ask for their claims by chapter (no hand-typed claim keys in the notebooks):
    every claim is in exactly one chapter, and each chapter's notebook asks for it."""
    import json
    import re

    from imgloss.report.claims import CHAPTERS, CLAIMS, chapter_claims

    assert sorted(c.key for ch in CHAPTERS for c in chapter_claims(ch)) == sorted(
        c.key for c in CLAIMS
    )
    assert [c.key for c in chapter_claims("switching")] == [
        "switch_l2_l1_lowers_l2",
        "switch_l1_l2_lowers_l2",
        "switched_similar_l2",
        "l2_was_stuck",
    ]
    jpeg = [c.key for c in chapter_claims("table1") if "jpeg" in c.tasks]
    assert jpeg == [
        "l1_beats_l2",
        "msssim_not_better_than_l1",
        "mix_best",
        "msssim_collapses_on_jpeg",
    ]
    asked = set()
    for path in (REPO / "notebooks").glob("*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        source = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert "keys=(" not in source, path.name
        asked |= set(re.findall(r'claims_markdown\([^)]*chapter="(\w+)"', source))
    assert asked == set(CHAPTERS)
    with pytest.raises(ValueError, match="unknown chapter 'table2'; the chapters: table1"):
        chapter_claims("table2")


class MatlabScores(PaperScores):
    """The paper's numbers, and SSIM as ssim.m computes it equal for every training: each SSIM
    test that holds with Table 1's SSIM is undecided with ssim.m's."""

    def runs(self, task, dataset, schedule, measure):
        if measure != "ssim_matlab":
            return super().runs(task, dataset, schedule, measure)
        found = super().runs(task, dataset, schedule, "psnr")
        return (
            None if found is None else Scores(found.images, found.seeds, 0.0 * found.values + 0.9)
        )


def test_ssim_tests_are_decided_again_under_ssim_m_and_changes_are_marked():
    paper = PaperScores()
    assert claims.convention_changes(paper) == []  # runs not scored with ssim_matlab
    assert not claims.scored_under_matlab(paper)
    source = MatlabScores()
    assert claims.scored_under_matlab(source)
    changes = claims.convention_changes(source)
    l1_l2 = [c for c in changes if c.claim.key == "l1_beats_l2" and c.task == "demosaic"]
    assert [(c.against, c.default, c.matlab) for c in l1_l2] == [("l2", "holds", "undecided")]
    assert all(c.default != c.matlab for c in changes)
    table = report.claims_markdown(source, compact=True, tasks=("demosaic",))
    row = next(r for r in table.splitlines() if r.startswith("| l1 beats l2 |"))
    assert "**holds** †" in row  # the verdict (PSNR) stands; its SSIM test is marked
    assert "† The SSIM test changes its verdict" in table and "against l2): holds" in table


def test_the_noisy_input_ssim_says_which_convention_is_nearer_the_papers():
    from types import SimpleNamespace

    from imgloss.metrics import MetricTable

    table = MetricTable(("ssim", "ssim_matlab"))
    table.add("a", {"ssim": 0.62, "ssim_matlab": 0.75})
    table.add("b", {"ssim": 0.66, "ssim_matlab": 0.79})
    view = SimpleNamespace(baseline=lambda task: SimpleNamespace(tables={"Kodak24": table}))
    text = report.ssim_convention_markdown(view)
    assert "0.6400 with Table 1's SSIM" in text and "0.7700 with Wang's ssim.m" in text
    assert f"reports {TABLE1['demosaic']['Noisy']['ssim']:.4f}" in text
    assert "ssim.m's convention brings ours nearer" in text  # 0.77 is nearer 0.8075
    assert "only SSIM has a second row" in text
    empty = SimpleNamespace(baseline=lambda task: None)
    assert report.ssim_convention_markdown(empty) == ""
