"""The claims' statistics against independent references: statsmodels' mixed model (REML) on a
balanced crossed layout, scipy's t-tests (one-sample, Welch's Satterthwaite degrees of freedom),
statsmodels' TOST and power solver, Holm's procedure by hand; and simulations of our sizes for the
coverage of the intervals and the rate of false "holds"."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from imgloss.results import inference as inf


def _crossed(rng, n_images=24, n_seeds=3, delta=0.5, image_sd=0.3, seed_sd=0.25, error_sd=0.1):
    return (
        delta
        + rng.normal(0, image_sd, (n_images, 1))
        + rng.normal(0, seed_sd, (1, n_seeds))
        + rng.normal(0, error_sd, (n_images, n_seeds))
    )


def test_crossed_estimate_matches_statsmodels_reml_on_balanced_data():
    pd = pytest.importorskip("pandas")
    from statsmodels.regression.mixed_linear_model import MixedLM

    d = _crossed(np.random.default_rng(3), n_images=12, n_seeds=4, seed_sd=0.4)
    n_images, n_seeds = d.shape
    frame = pd.DataFrame(
        {
            "d": d.ravel(),
            "image": np.repeat(np.arange(n_images), n_seeds),
            "seed": np.tile(np.arange(n_seeds), n_images),
            "one": 1,
        }
    )
    model = MixedLM.from_formula(
        "d ~ 1",
        groups="one",
        re_formula="0",
        data=frame,
        vc_formula={"image": "0 + C(image)", "seed": "0 + C(seed)"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(reml=True)
    ms_image, ms_seed, ms_error = inf._mean_squares(d)
    ours = {"image": (ms_image - ms_error) / n_seeds, "seed": (ms_seed - ms_error) / n_images}
    theirs = dict(zip(model.exog_vc.names, fit.vcomp, strict=True))
    for name in ("image", "seed"):
        assert ours[name] == pytest.approx(theirs[name], rel=2e-3)
    assert ms_error == pytest.approx(fit.scale, rel=2e-3)
    est = inf.estimate(d)  # the pair's own seeds: no pooling
    assert est.effect == pytest.approx(fit.fe_params["Intercept"])
    assert est.se == pytest.approx(fit.bse_fe["Intercept"], rel=2e-3)


def test_one_seed_without_run_variance_is_the_paired_t_test():
    rng = np.random.default_rng(0)
    x = rng.normal(0.2, 0.5, size=(15, 1))
    est = inf.estimate(x)
    ref = stats.ttest_1samp(x[:, 0], 0.0)
    assert est.df == 14 and not est.training
    assert est.p_two_sided() == pytest.approx(ref.pvalue)
    low, high = ref.confidence_interval(0.95)
    assert est.ci(0.95) == pytest.approx((low, high))


def test_satterthwaite_degrees_of_freedom_are_welchs():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 9), rng.normal(0, 3, 14)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = inf._satterthwaite(va + vb, [(va, len(a) - 1), (vb, len(b) - 1)])
    assert df == pytest.approx(stats.ttest_ind(a, b, equal_var=False).df)


def test_pooled_run_variance_recovers_the_seed_variance():
    rng = np.random.default_rng(2)
    tables = [_crossed(rng, seed_sd=0.2, error_sd=0.05) for _ in range(200)]
    pooled = inf.RunVariance.pooled(tables)
    assert pooled is not None and pooled.df == 400 and pooled.schedules == 200
    assert pooled.variance == pytest.approx(0.2**2, rel=0.15)
    assert inf.RunVariance.pooled([np.ones((5, 1))]) is None  # one seed: nothing to pool


def test_tost_matches_statsmodels():
    from statsmodels.stats.weightstats import ttost_paired

    rng = np.random.default_rng(4)
    x1 = rng.normal(30.0, 1.0, 20)
    x2 = x1 - rng.normal(0.05, 0.2, 20)
    p_ref = ttost_paired(x1, x2, -0.3, 0.3)[0]
    est = inf.estimate((x1 - x2)[:, None])
    assert max(est.p_above(-0.3), est.p_below(0.3)) == pytest.approx(p_ref)
    assert inf.equivalence(est, 0.3) == ("holds" if p_ref < 0.05 else "undecided")


@pytest.mark.parametrize("n", [2, 3, 12])
def test_minimum_detectable_effect_matches_statsmodels_power_down_to_one_df(n):
    """Two images and one seed (1 df) once made scipy's noncentral t cdf NaN inside the search."""
    from statsmodels.stats.power import TTestPower

    sd = 0.4
    est = inf.Estimate(0.0, sd / math.sqrt(n), n - 1, n, 1, True, "")
    d = TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8, alternative="two-sided")
    assert est.mde() == pytest.approx(d * sd, rel=1e-4)


def test_minimum_detectable_effect_matches_statsmodels_power():
    from statsmodels.stats.power import TTestPower

    n, sd = 12, 0.4
    est = inf.Estimate(0.0, sd / math.sqrt(n), n - 1, n, 1, True, "")
    d = TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8, alternative="two-sided")
    assert est.mde() == pytest.approx(d * sd, rel=1e-4)
    # two degrees of freedom (three seeds, nothing pooled) need about twice the effect at the same standard error
    assert (
        inf.Estimate(0, 0.1, 2, 24, 3, True, "").mde()
        > 1.9 * inf.Estimate(0, 0.1, 40, 24, 3, True, "").mde()
    )


def test_holm_by_hand():
    reject, adjusted = inf.holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert reject == [True, False, False, True]
    assert inf.holm([]) == ([], [])


def _simulate(rng, n_sets, *, delta, n_seeds_pair=3, losses=6, n_images=24):
    """Data sets of our sizes: ``losses`` schedules x 24 images x 3 seeds with a shared image
    effect, loss-specific image effects, run effects and residuals (PSNR-like, in dB); the pair
    compared is schedules 0 and 1 (``delta`` apart) on its first ``n_seeds_pair`` seeds."""
    out = []
    for _ in range(n_sets):
        common = rng.normal(0, 1.5, (1, n_images, 1))
        own = rng.normal(0, 0.12, (losses, n_images, 1))
        run = rng.normal(0, 0.19, (losses, 1, 3))
        error = rng.normal(0, 0.06, (losses, n_images, 3))
        y = common + own + run + error
        y[0] += delta
        pooled = inf.RunVariance.pooled(list(y))
        d = (y[0] - y[1])[:, :n_seeds_pair]
        out.append(inf.estimate(d, pooled))
    return out


@pytest.mark.parametrize("n_seeds_pair", [3, 1])
def test_intervals_cover_the_true_effect_at_their_level(n_seeds_pair):
    rng = np.random.default_rng(10 + n_seeds_pair)
    found = _simulate(rng, 2000, delta=0.3, n_seeds_pair=n_seeds_pair)
    covered = np.mean([low <= 0.3 <= high for low, high in (e.ci(0.95) for e in found)])
    assert 0.93 <= covered <= 0.97, covered


def test_false_holds_stay_at_or_below_five_percent():
    """Superiority under no effect holds 2.5% of the time (one side of a 95% interval); the
    equivalence tests at a true effect exactly on the margin (the least favourable case) hold at
    their nominal 5%, up to the simulation's own error (two standard errors over 2,000 sets)."""
    rng = np.random.default_rng(20)
    null = _simulate(rng, 2000, delta=0.0)
    assert np.mean([inf.superiority(e) == "holds" for e in null]) <= 0.05
    at_margin = _simulate(rng, 2000, delta=0.3)  # exactly at the margin: not "at par"
    tolerance = 2 * math.sqrt(0.05 * 0.95 / 2000)
    assert np.mean([inf.equivalence(e, 0.3) == "holds" for e in at_margin]) <= 0.05 + tolerance
    assert np.mean([inf.non_superiority(e, 0.3) == "holds" for e in at_margin]) <= 0.05 + tolerance
    beyond = _simulate(rng, 2000, delta=0.6)
    assert np.mean([inf.non_superiority(e, 0.3) == "holds" for e in beyond]) <= 0.05


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="images x seeds"):
        inf.estimate(np.zeros(5))
    one = inf.estimate(np.ones((1, 3)))
    assert math.isnan(one.se) and not one.training
