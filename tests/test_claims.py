"""The paper's claims, decided with statistics: the decision rule against closed forms and
scipy, the noise floor of a single run, and the verdicts on the committed results."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from imgloss import claims, cli, records

REPO = Path(__file__).resolve().parents[1]


def test_several_seeds_give_a_t_interval_over_the_seeds():
    rng = np.random.default_rng(0)
    d = 0.5 + rng.normal(0, 0.2, size=(8, 3))  # 8 images x 3 seeds
    verdict, effect, (low, high), note = claims.decide(d, "ssim")
    per_seed = d.mean(axis=0)
    half = stats.t.ppf(0.975, 2) * per_seed.std(ddof=1) / math.sqrt(3)
    assert effect == pytest.approx(d.mean())
    assert (low, high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert verdict == ("holds" if low > 0 else "undecided") and "3 seeds" in note
    assert claims.decide(-d, "ssim")[0] == ("contradicted" if low > 0 else "undecided")
    noisy = np.stack([np.full(8, 1.0), np.full(8, -0.9), np.full(8, 0.2)], axis=1)
    assert claims.decide(noisy, "psnr")[0] == "undecided"  # the seeds disagree


def test_one_seed_decides_only_beyond_the_noise_of_a_single_run():
    small = np.full((8, 1), 0.10) + np.linspace(-0.01, 0.01, 8)[:, None]  # tight, but < 0.14 dB
    verdict, _, ci, note = claims.decide(small, "psnr")
    assert ci[0] > 0 and verdict == "undecided" and "noise" in note
    large = small + 0.5
    assert claims.decide(large, "psnr")[0] == "holds"
    assert claims.decide(-large, "psnr")[0] == "contradicted"
    # No measured run-to-run noise for SSIM: one seed decides nothing on it.
    assert claims.decide(large, "ssim")[0] == "undecided"
    # l2's floor is relative to the error: 3.3% of the reference value.
    assert claims.SINGLE_RUN_NOISE["l2"] == pytest.approx(10**0.014 - 1)
    d = np.full((8, 1), 0.02e-3) + np.linspace(-1e-6, 1e-6, 8)[:, None]
    assert claims.decide(d, "l2", scale=1e-3)[0] == "undecided"  # 2% of 1e-3
    assert claims.decide(d * 3, "l2", scale=1e-3)[0] == "holds"  # 6%


def test_every_claim_of_the_issue_is_listed_with_its_source_and_test():
    keys = {c.key for c in claims.CLAIMS}
    for key in ("l1_beats_l2", "ssim5_not_better_than_l1", "msssim_beats_ssim",
                "msssim_not_better_than_l1", "mix_best", "msssim_collapses_on_jpeg",
                "ssim_shifts_colours", "mix_keeps_colours", "mix_beats_bm3d",
                "switch_l2_l1_lowers_l2", "switch_l1_l2_lowers_l2", "switched_similar_l2",
                "l2_was_stuck", "fig8_small_sigma_edges", "fig8_large_sigma_flat",
                "l2_splotches_flat", "ssim_duller", "fig9_bright_bias", "noisy_input_psnr",
                "alpha_084_best"):  # fmt: skip
        assert key in keys
    for c in claims.CLAIMS:
        assert c.source and c.test and c.text


def test_the_committed_results_decide_with_their_effects_and_counts():
    view = records.open_view(REPO / "results", "quick", root=None)
    found = {(v.claim.key, v.task): v for v in claims.verdicts(view)}
    l1l2 = found[("l1_beats_l2", "demosaic")]
    psnr = next(p for p in l1l2.parts if p.measure == "psnr")
    assert psnr.verdict == "holds" and psnr.effect > 0.5 and psnr.ci[0] > 0
    assert (psnr.n_images, psnr.n_seeds) == (24, 3)  # all of Kodak24, three seeds
    assert "t interval over 3 seeds" in psnr.note
    # the PSNR difference is the mean of the per-image differences of the two runs
    summary = view.summary("table1")
    means = {n: summary.cell("demosaic", n, "Kodak24", "psnr").mean for n in ("l1", "l2")}
    assert psnr.effect == pytest.approx(means["l1"] - means["l2"], abs=1e-9)
    bm3d = found[("mix_beats_bm3d", "demosaic")]
    assert bm3d.verdict == "contradicted" and bm3d.effect < -1  # BM3D is far ahead here
    for key in ("fig8_small_sigma_edges", "fig8_large_sigma_flat", "l2_splotches_flat",
                "ssim_duller"):  # fmt: skip
        v = found[(key, "demosaic")]
        assert (v.n_images, v.n_seeds) == (24, 3) and v.measure in ("psnr_edge", "psnr_flat",
                                                                     "chroma_shift"), key  # fmt: skip
    assert found[("fig9_bright_bias", None)].verdict == "holds"
    assert all(v.verdict in claims.VERDICTS for v in found.values())


def test_cli_prints_the_claims_as_json(capsys):
    assert cli.main(["report", "--profile", "quick", "--results", str(REPO / "results"),
                     "--findings", "--json"]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert rows and {"claim", "source", "task", "verdict", "effect", "ci", "n_images",
                     "n_seeds"} <= set(rows[0])  # fmt: skip
    assert {r["verdict"] for r in rows} <= set(claims.VERDICTS)
    assert cli.main(["report", "--profile", "quick", "--results", str(REPO / "results"),
                     "--findings"]) == 0  # fmt: skip
    assert "| the paper's claim |" in capsys.readouterr().out


def test_the_paper_profiles_geometry_follows_the_committed_ablation():
    """Issue 16's rule: the `paper` profile trains on the larger geometry only if the committed
    three-seed ablation shows it better for some loss (and worse for none)."""
    from imgloss.design import GEOMETRY_LOSSES, GEOMETRY_PATCH, PROFILES

    view = records.open_view(REPO / "results", "quick", root=None)
    found = claims.geometry_verdicts(view)
    assert {v.claim.key for v in found} == {f"geometry_{loss}" for loss in GEOMETRY_LOSSES}
    assert all((p.n_images, p.n_seeds) == (24, 3) for v in found for p in v.parts)
    larger_wins = any(v.verdict == "holds" for v in found) and not any(
        v.verdict == "contradicted" for v in found
    )
    assert (PROFILES["paper"].patch == GEOMETRY_PATCH) == larger_wins
