"""Statistical inference on paired differences, with image and training (seed) variance.

One comparison of two trainings ``a`` and ``b`` on one task, test set and measure gives the
paired differences ``d[i, s]`` (image ``i`` of ``I``, seed ``s`` of ``S``; positive favours
``a``), modelled with crossed random effects::

    d[i, s] = delta + u[i] + v[s] + e[i, s],
    u ~ N(0, s_u^2)  (which images the test set holds),
    v ~ N(0, s_v^2)  (training: the two networks trained anew with seed s),
    e ~ N(0, s_e^2).

The estimate of ``delta`` is the mean of ``d``, with variance
``s_u^2 / I + s_v^2 / S + s_e^2 / (I S)``. The image and residual terms are estimated together
by the image mean square of the balanced two-way layout, ``MS_image / (I S)`` (its expectation is
``s_e^2 + S s_u^2``); for balanced data these method-of-moments (ANOVA) estimators are the REML
estimates whenever they are non-negative (Searle, Casella & McCulloch, *Variance Components*,
1992, ch. 4). The training term comes from :class:`RunVariance`: the run-to-run variance of one
network's mean score, pooled over every schedule of the task trained with several seeds, so that
three seeds per loss give ``sum(S_k - 1)`` degrees of freedom instead of 2, and a schedule trained
once still carries training variance. A difference of two trainings carries it twice, a training
against a fixed column (a baseline, BM3D) once. The degrees of freedom of the sum are
Satterthwaite's (1946). Without any measured run variance the estimate carries image variance
only, and ``Estimate.training`` says so (a claim is then never decided on it).

Tests (:func:`superiority`, :func:`non_superiority`, :func:`equivalence`) are Student-t tests on
that estimate: superiority at a two-sided 5% level (the 95% interval excludes 0), equivalence and
non-superiority as two one-sided tests at 5% each (Schuirmann 1987: the 90% interval lies inside
the margin). :func:`holm` controls the family-wise error of several tests (Holm 1979, through
statsmodels), and :meth:`Estimate.mde` is the smallest effect the comparison detects with 80%
power (noncentral t).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

#: The level of every test (two-sided for superiority, per side for equivalence).
ALPHA = 0.05
#: The power at which :meth:`Estimate.mde` is computed.
POWER = 0.8
VERDICTS = ("holds", "contradicted", "undecided")


@dataclass(frozen=True)
class RunVariance:
    """The run-to-run variance of one training's mean score on a test set (``variance``, in the
    measure's units squared), pooled over ``schedules`` schedules with ``df`` degrees of freedom."""

    variance: float
    df: int
    schedules: int

    @classmethod
    def pooled(cls, tables: Iterable[np.ndarray]) -> RunVariance | None:
        """Pool ``images x seeds`` score tables of several schedules (those with two or more
        seeds count). Per table, the seed mean square less the residual mean square, divided by
        the number of images, estimates the variance of a run's mean (Searle et al., ch. 4);
        the tables' estimates are averaged with weights ``S_k - 1``. ``None`` if no table has
        two seeds."""
        total, df, count = 0.0, 0, 0
        for y in tables:
            y = np.asarray(y, dtype=np.float64)
            n_images, n_seeds = y.shape
            if n_seeds < 2 or n_images < 2:
                continue
            ms_seed, ms_error = _mean_squares(y)[1:]
            total += (n_seeds - 1) * (ms_seed - ms_error) / n_images
            df += n_seeds - 1
            count += 1
        if df == 0:
            return None
        return cls(max(0.0, total / df), df, count)


def _mean_squares(d: np.ndarray) -> tuple[float, float, float]:
    """``(MS_image, MS_seed, MS_error)`` of a balanced ``images x seeds`` two-way layout without
    replication (seed terms 0 with one seed)."""
    n_images, n_seeds = d.shape
    grand = d.mean()
    image_means, seed_means = d.mean(axis=1), d.mean(axis=0)
    ms_image = n_seeds * float(((image_means - grand) ** 2).sum()) / max(n_images - 1, 1)
    if n_seeds < 2:
        return ms_image, 0.0, 0.0
    ms_seed = n_images * float(((seed_means - grand) ** 2).sum()) / (n_seeds - 1)
    resid = d - image_means[:, None] - seed_means[None, :] + grand
    ms_error = float((resid**2).sum()) / ((n_images - 1) * (n_seeds - 1))
    return ms_image, ms_seed, ms_error


@dataclass(frozen=True)
class Estimate:
    """A mean paired difference with its standard error and (Satterthwaite) degrees of freedom.

    ``training`` is False when no run-to-run variance entered ``se`` (one seed and none
    measured): the interval then covers image sampling only."""

    effect: float
    se: float
    df: float
    n_images: int
    n_seeds: int
    training: bool
    method: str

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """The two-sided ``level`` t interval of the effect."""
        if not self.se > 0:
            return self.effect, self.effect
        from scipy import stats

        half = float(stats.t.ppf(0.5 + level / 2, self.df)) * self.se
        return self.effect - half, self.effect + half

    def p_above(self, bound: float = 0.0) -> float:
        """One-sided p-value of ``H0: delta <= bound`` (small: the effect exceeds ``bound``)."""
        return self._sf(
            (self.effect - bound) / self.se if self.se > 0 else _sign_inf(self.effect - bound)
        )

    def p_below(self, bound: float = 0.0) -> float:
        """One-sided p-value of ``H0: delta >= bound`` (small: the effect is below ``bound``)."""
        return self._sf(
            (bound - self.effect) / self.se if self.se > 0 else _sign_inf(bound - self.effect)
        )

    def p_two_sided(self) -> float:
        """The p-value of ``H0: delta = 0``."""
        return min(1.0, 2 * min(self.p_above(0.0), self.p_below(0.0)))

    def mde(self, power: float = POWER, alpha: float = ALPHA) -> float:
        """The smallest true effect a two-sided level-``alpha`` test of this comparison detects
        with probability ``power`` (noncentral t with ``df``), in the measure's units."""
        if not self.se > 0:
            return 0.0
        return self.se * _noncentrality(self.df, power, alpha)

    def _sf(self, t: float) -> float:
        from scipy import stats

        return float(stats.t.sf(t, self.df))


def _sign_inf(x: float) -> float:
    return math.copysign(math.inf, x) if x != 0 else 0.0


def _noncentrality(df: float, power: float, alpha: float) -> float:
    from scipy import optimize, stats

    crit = float(stats.t.ppf(1 - alpha / 2, df))

    def shortfall(ncp: float) -> float:
        # The lower tail P(T < -crit) as P(T' > crit) with T' of noncentrality -ncp: scipy's
        # nct.cdf is NaN at scattered points of that far tail (df = 1, ncp near 11.4).
        return float(stats.nct.sf(crit, df, ncp) + stats.nct.sf(crit, df, -ncp)) - power

    high = crit + 1.0
    while not shortfall(high) > 0:  # widen the bracket (the power grows with ncp)
        high *= 2
    return float(optimize.brentq(shortfall, 0.0, high))


def estimate(d: np.ndarray, run_variance: RunVariance | None = None, *, runs: int = 2) -> Estimate:
    """The :class:`Estimate` of the mean of ``d`` (``images x seeds``) under the crossed model.

    ``run_variance`` is the pooled run-to-run variance of one training (``None``: estimated from
    ``d``'s own seeds where it has two or more); ``runs`` is how many trainings the difference
    holds (2: a training against a training, 1: against a fixed column)."""
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 2 or d.size == 0:
        raise ValueError(
            f"paired differences must be a non-empty images x seeds array, got {d.shape}"
        )
    n_images, n_seeds = d.shape
    effect = float(d.mean())
    if n_images < 2:
        return Estimate(effect, math.nan, math.nan, n_images, n_seeds, False, "one image: none")
    ms_image, ms_seed, ms_error = _mean_squares(d)
    image_part = ms_image / (n_images * n_seeds)
    components = [(image_part, n_images - 1)]
    if run_variance is not None:
        training = runs * run_variance.variance / n_seeds
        components.append((training, run_variance.df))
        method = (
            f"crossed image and seed effects; run variance pooled over {run_variance.schedules} "
            f"schedule(s) ({run_variance.df} df)"
        )
    elif n_seeds >= 2:
        # the pair's own seeds: (MS_seed - MS_error) / (I S), as two signed chi-square terms
        components += [
            (ms_seed / (n_images * n_seeds), n_seeds - 1),
            (-ms_error / (n_images * n_seeds), (n_images - 1) * (n_seeds - 1)),
        ]
        method = f"crossed image and seed effects; run variance from this pair's {n_seeds} seeds"
    else:
        method = "one seed and no measured run variance: image variance only"
    variance = sum(v for v, _ in components)
    if variance < image_part:  # a negative estimate of the seed term is truncated at zero
        variance, components = image_part, components[:1]
    df = _satterthwaite(variance, components)
    has_training = run_variance is not None or n_seeds >= 2
    return Estimate(effect, math.sqrt(variance), df, n_images, n_seeds, has_training, method)


def _satterthwaite(total: float, components: Sequence[tuple[float, float]]) -> float:
    """Satterthwaite's degrees of freedom of a sum of scaled chi-square variance estimates."""
    denominator = sum(v * v / df for v, df in components if df > 0 and v != 0)
    if denominator <= 0:
        return float(components[0][1])
    return float(total * total / denominator)


# ------------------------------------------------------------------------------------ tests
def superiority(est: Estimate, alpha: float = ALPHA) -> str:
    """``holds`` when ``a`` is better (the two-sided ``1 - alpha`` interval lies above 0),
    ``contradicted`` when it lies below 0, else ``undecided``."""
    low, high = est.ci(1 - alpha)
    return "holds" if low > 0 else "contradicted" if high < 0 else "undecided"


def non_superiority(est: Estimate, margin: float, alpha: float = ALPHA) -> str:
    """The claim that ``a`` is at par with or worse than ``b``: ``holds`` when ``delta < margin``
    (one-sided test at ``alpha``: the ``1 - 2 alpha`` interval's upper end below the margin),
    ``contradicted`` when ``delta > margin`` at the same level, else ``undecided``."""
    if est.p_below(margin) < alpha:
        return "holds"
    return "contradicted" if est.p_above(margin) < alpha else "undecided"


def equivalence(est: Estimate, margin: float, alpha: float = ALPHA) -> str:
    """Two one-sided tests: ``holds`` when ``-margin < delta < margin`` (both at ``alpha``),
    ``contradicted`` when ``|delta| > margin`` (one side at ``alpha``), else ``undecided``."""
    if max(est.p_above(-margin), est.p_below(margin)) < alpha:
        return "holds"
    if est.p_above(margin) < alpha or est.p_below(-margin) < alpha:
        return "contradicted"
    return "undecided"


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> tuple[list[bool], list[float]]:
    """Holm's step-down correction: ``(rejected, adjusted p-values)`` (statsmodels)."""
    if not p_values:
        return [], []
    from statsmodels.stats.multitest import multipletests

    reject, adjusted, _, _ = multipletests(list(p_values), alpha=alpha, method="holm")
    return [bool(r) for r in reject], [float(p) for p in adjusted]
