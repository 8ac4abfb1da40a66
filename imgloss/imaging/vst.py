r"""Variance stabilisation for the demosaicking task's noise: the generalized Anscombe transform.

The joint denoising + demosaicking task corrupts a clean mosaic ``y`` in ``[0, 1]`` with Foi's
clipped heteroscedastic model (:func:`imgloss.imaging.degradations.poisson_gaussian`)

.. math::  z = \operatorname{clip}\bigl(y + \sqrt{a y + b}\, n,\ 0,\ 1\bigr),
           \qquad n \sim \mathcal N(0, 1),\quad a = 0.005,\ b = 0.0001 .

The paper's BM3D baseline (Zhao et al., Sec. 4.1, after Danielyan et al. 2009) stabilises the
variance with the generalized Anscombe transform (GAT), denoises at unit noise level, and goes
back with the exact unbiased inverse. This module provides the three transforms in pure PyTorch
(any shape, any device, float32/float64; lower precisions are computed in float32).

Forward transform (Mäkitalo & Foi 2013, after Starck, Murtagh & Bijaoui 1998)
------------------------------------------------------------------------------------
For ``z = alpha p + n``, ``p ~ Poisson(y / alpha)``, ``n ~ N(mu, sigma^2)``, Mäkitalo & Foi
define

.. math::  f(z) = \frac{2}{\alpha}\sqrt{\max\Bigl(\alpha z + \tfrac38\alpha^2 + \sigma^2
           - \alpha\mu,\ 0\Bigr)} .

Our model has mean ``y`` and variance ``a y + b`` = ``alpha E[z] + sigma^2``, i.e.
``alpha = a``, ``sigma^2 = b``, ``mu = 0``, so :func:`gat` is
``f(z) = (2/a) sqrt(max(a z + 3/8 a^2 + b, 0))``. Since ``f'(z)^2 (a z + b) ~= 1``, the
variance of ``f(z)`` is close to one wherever the intensity is not too low and clipping is
negligible. In normalised units (``lambda = y / a``, ``sigma_n^2 = b / a^2``) this is the
familiar ``2 sqrt(z / a + 3/8 + sigma_n^2)``; for the task ``y / a`` spans ``[0, 200]`` and
``sigma_n = 2`` counts.

Where the stabilisation fails (exact values from :func:`gat_moments`, checked by Monte Carlo in
``tests/imaging/test_vst.py``): with the task's clipping, a share of the samples of a dark (``y`` below
~0.04) or bright (``y`` above ~0.85) pixel sits at the clipping points, so ``std f(z)`` falls
well below one: 0.48 at ``y = 0``, 0.76 at 0.01, 0.91 at 0.02; 0.95 at 0.9, 0.82 at 0.95, 0.60 at
``y = 1``. In between it is within 1.5 % of one (1.014 at 0.05, 1.001 at 0.8). Without clipping
it is 1.095 at ``y = 0``, 1.053 at 0.02 and within 2.5 % of one from ``y = 0.05`` up.
:func:`gat_moments` gives the exact mean and standard deviation of ``f(z)`` for any ``y``.

Inverses
--------
* :func:`gat_inverse_algebraic` -- the inverse of ``f`` itself,
  ``f^{-1}(D) = (a/4) D^2 - (3/8) a - b/a`` (normalised: ``(D/2)^2 - 3/8 - sigma_n^2``).
  It is biased: a denoiser estimates ``E[f(z) | y]``, not ``f(y)``, and because ``f`` is concave
  ``E[f(z) | y] < f(E[z | y]) = f(y)`` (Jensen), so the algebraic inverse underestimates ``y``.
  For bright pixels the gap tends to a constant, ``a / 4`` in ``y`` (the asymptotic inverse below
  differs only by that shift), which is negligible relative to ``y`` for bright pixels but not
  for dark ones: without clipping the bias is -0.00145 at ``y = 0.001`` (-145 %). With the task's
  clipping the clipped ``z`` has a mean *above* ``y`` for dark pixels and *below* it for bright
  ones, and the algebraic inverse ignores both: its bias is +0.0033 at ``y = 0.001`` (+330 %),
  +0.0019 at 0.005 (+38 %), +0.0007 at 0.01, -0.0013 from 0.05 to 0.8, then -0.0032 at 0.9 and
  -0.029 at ``y = 1``. (The asymptotic inverse is also biased under clipping: +0.0045 at
  ``y = 0.001``, -0.028 at ``y = 1``.)
* Asymptotically unbiased inverse (Mäkitalo & Foi 2011/2013): ``(a/4) D^2 - a/8 - b/a``
  (normalised ``(D/2)^2 - 1/8 - sigma_n^2``); for a Gaussian ``z`` the second-order expansion
  ``E sqrt(m + e) ~= sqrt(m) - Var(e) / (8 m^{3/2})`` gives the same ``1/8``.
* :func:`gat_inverse_unbiased` -- the exact unbiased inverse (Mäkitalo & Foi 2011, 2013): the
  inverse of the mapping ``y -> E[f(z) | y]``, so that applied to the output of an ideal denoiser
  in the stabilised domain (``E[f(z) | y]``) it returns ``y`` exactly.

Which noise model the exact inverse integrates
----------------------------------------------
Mäkitalo & Foi tabulate ``E[f(z) | y]`` for a true scaled Poisson plus Gaussian ``z``. Our data
come from the *Gaussian approximation* of that model (the simulator draws
``y + sqrt(a y + b) n``), optionally clipped to ``[0, 1]``; an inverse that is unbiased for
Poisson counts would be biased for our data (the two models share mean and variance but differ
in higher moments and, for dark pixels, in their support). So ``E[f(z) | y]`` is integrated
under the simulator's model:

* ``clipped=True`` (the task's data): ``z`` is the Gaussian ``N(y, a y + b)`` clipped to
  ``[0, 1]``, i.e. a density on ``(0, 1)`` plus point masses ``Phi(-y/s)`` at 0 and
  ``Phi((y-1)/s)`` at 1 (``s = sqrt(a y + b)``); the table covers ``y`` in ``[0, 1]`` and the
  inverse maps into ``[0, 1]`` (below ``E[f | y=0]`` it returns 0, above ``E[f | y=1]`` it
  returns 1: the nearest admissible intensity).
* ``clipped=False``: the unclipped Gaussian (``f = 0`` below the root of the square root). The
  table covers ``y`` in ``[0, 4]``; below ``E[f | y=0]`` the inverse returns 0 and above the
  table it returns the asymptotic inverse, shifted by a decaying term that makes it continuous
  with the table (the shift is ~1e-6 at the junction).

Table and accuracy
------------------
``E[f(z) | y]`` is computed in float64 by composite Gauss-Legendre quadrature in the variable
``w = sqrt(a z + 3/8 a^2 + b)`` (which makes the integrand smooth even at the root of the square
root), over ``y +- 12 s`` intersected with the support, plus the closed-form point masses. The
grid of ``y`` is uniform in the asymptotic ``D``, so the linear interpolation that inverts it is
equally accurate everywhere (8193 points for each of ``[0, 1]`` and ``[0, 4]``). The table is
checked to be strictly increasing and to carry unit probability mass, built once per
``(a, b, clipped)`` (~0.4 s on 2 CPU cores) and cached, with per-device/dtype copies. Doubling
the quadrature nodes changes ``E[f | y]`` by < 1e-13; the interpolation error (at the midpoints
of the grid) is < 7e-8 in ``y`` for the clipped table and < 2e-8 for the unclipped one.

References
----------
* M. Mäkitalo and A. Foi, "Optimal inversion of the generalized Anscombe transformation for
  Poisson-Gaussian noise", IEEE Trans. Image Process. 22(1):91-103, 2013.
* M. Mäkitalo and A. Foi, "A closed-form approximation of the exact unbiased inverse of the
  Anscombe variance-stabilizing transformation", IEEE Trans. Image Process. 20(9):2697-2698, 2011.
* A. Foi, M. Trimeche, V. Katkovnik, K. Egiazarian, "Practical Poissonian-Gaussian noise modeling
  and fitting for single-image raw-data", IEEE Trans. Image Process. 17(10):1737-1754, 2008.
"""

from __future__ import annotations

import math
import numbers
import threading

import numpy as np
import torch

from imgloss.imaging.degradations import FOI_A, FOI_B

__all__ = [
    "gat",
    "gat_inverse_algebraic",
    "gat_inverse_asymptotic",
    "gat_inverse_unbiased",
    "gat_moments",
    "unbiased_inverse_table",
]

# Quadrature: the z-range y +- _K_SIGMA * s is covered by _PANELS Gauss-Legendre panels of
# _NODES nodes each (in the variable w = sqrt(a z + c)). The Gaussian mass outside +-12 s is
# ~4e-33.
_K_SIGMA = 12.0
_PANELS = 8
_NODES = 24
# Table sizes and the top of the unclipped table.
_N_CLIPPED = 8193
_N_UNCLIPPED = 8193
_Y_TOP_UNCLIPPED = 4.0

_LOCK = threading.Lock()
_TABLES: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
_DEVICE_TABLES: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


# ---------------------------------------------------------------------------------------------
# validation


def _check_params(a, b) -> tuple[float, float]:
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
        if not math.isfinite(float(v)):
            raise ValueError(f"{name} must be finite, got {v}")
    a, b = float(a), float(b)
    if a <= 0:
        raise ValueError(f"a (the Poisson gain) must be positive, got a={a}")
    if b < 0:
        raise ValueError(f"b (the Gaussian variance) must be non-negative, got b={b}")
    return a, b


def _check_tensor(name: str, t) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
    if t.numel() and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite (it contains NaN or inf)")


def _work_dtype(t: torch.Tensor) -> torch.dtype:
    return t.dtype if t.dtype in (torch.float32, torch.float64) else torch.float32


# ---------------------------------------------------------------------------------------------
# forward and closed-form inverses


def gat(z: torch.Tensor, a: float = FOI_A, b: float = FOI_B) -> torch.Tensor:
    """Generalized Anscombe transform ``f(z) = (2/a) sqrt(max(a z + 3/8 a^2 + b, 0))``.

    The GAT of Mäkitalo & Foi (2013) with ``alpha = a``, ``sigma^2 = b``, ``mu = 0``, for noise of
    mean ``y`` and variance ``a y + b``; its output has (approximately) unit variance. Any shape,
    device and floating dtype (half precisions are computed in float32 and cast back).
    """
    a, b = _check_params(a, b)
    _check_tensor("z", z)
    wd = _work_dtype(z)
    x = z.to(wd)
    return ((2.0 / a) * torch.sqrt((a * x + (0.375 * a * a + b)).clamp_min(0))).to(z.dtype)


def gat_inverse_algebraic(d: torch.Tensor, a: float = FOI_A, b: float = FOI_B) -> torch.Tensor:
    """Algebraic inverse of :func:`gat`: ``(a/4) D^2 - (3/8) a - b/a``.

    The exact inverse of ``f`` on its range (``D >= 0``; negative ``D`` are treated as 0). It is
    a *biased* estimate of ``y`` from the denoised ``D ~= E[f(z) | y]`` (Jensen: ``f`` is concave,
    so ``E[f(z)] < f(y)``): by ``~a/4`` for bright pixels and by much more, relatively, for dark
    ones. Use :func:`gat_inverse_unbiased` after denoising.
    """
    a, b = _check_params(a, b)
    _check_tensor("d", d)
    x = d.to(_work_dtype(d)).clamp_min(0)
    return (0.25 * a * x * x - (0.375 * a + b / a)).to(d.dtype)


def gat_inverse_asymptotic(d: torch.Tensor, a: float = FOI_A, b: float = FOI_B) -> torch.Tensor:
    """Asymptotically unbiased inverse ``(a/4) D^2 - a/8 - b/a`` (Mäkitalo & Foi 2011, 2013).

    Unbiased for bright, unclipped pixels; used by :func:`gat_inverse_unbiased` above its table
    when ``clipped=False``. Negative ``D`` are treated as 0.
    """
    a, b = _check_params(a, b)
    _check_tensor("d", d)
    x = d.to(_work_dtype(d)).clamp_min(0)
    return (0.25 * a * x * x - (0.125 * a + b / a)).to(d.dtype)


# ---------------------------------------------------------------------------------------------
# E[f(z) | y] by quadrature (float64, CPU)


def _gl_panels() -> tuple[torch.Tensor, torch.Tensor]:
    """Composite Gauss-Legendre nodes and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(_NODES)
    x = (x + 1) / 2
    w = w / 2
    edges = np.arange(_PANELS)[:, None]
    nodes = ((edges + x[None]) / _PANELS).ravel()
    weights = np.tile(w / _PANELS, _PANELS)
    return torch.from_numpy(nodes), torch.from_numpy(weights)


def _raw_moments(y: torch.Tensor, a: float, b: float, clipped: bool):
    """``(E[f], E[f^2], total probability)`` of ``f(z)`` for each ``y`` (float64 CPU tensors).

    ``z ~ N(y, a y + b)``, clipped to ``[0, 1]`` if ``clipped``. The continuous part is integrated
    in ``w = sqrt(a z + c)`` (``c = 3/8 a^2 + b``, ``f = 2 w / a``, ``dz = 2 w dw / a``).
    """
    y = y.to(torch.float64)
    c = 0.375 * a * a + b
    var = (a * y + b).clamp_min(0)
    s = var.sqrt()
    pos = s > 0
    s_safe = torch.where(pos, s, torch.ones_like(s))
    z_root = -c / a  # f = 0 below this
    lo_sup, hi_sup = (0.0, 1.0) if clipped else (z_root, math.inf)
    z_lo = torch.clamp(y - _K_SIGMA * s, min=lo_sup)
    z_hi = torch.clamp(y + _K_SIGMA * s, max=hi_sup)
    z_hi = torch.maximum(z_hi, z_lo)
    w_lo = (a * z_lo + c).clamp_min(0).sqrt()
    w_hi = (a * z_hi + c).clamp_min(0).sqrt()
    t, wt = _gl_panels()
    w = w_lo[..., None] + (w_hi - w_lo)[..., None] * t  # (..., Q)
    z = (w * w - c) / a
    u = (z - y[..., None]) / s_safe[..., None]
    dens = torch.exp(-0.5 * u * u) / (math.sqrt(2 * math.pi) * s_safe[..., None])
    jac = (2.0 / a) * w * (w_hi - w_lo)[..., None] * wt  # dz for each node
    f = (2.0 / a) * w
    p = (dens * jac).sum(-1)
    m1 = (dens * jac * f).sum(-1)
    m2 = (dens * jac * f * f).sum(-1)
    if clipped:
        f0 = (2.0 / a) * math.sqrt(c)
        f1 = (2.0 / a) * math.sqrt(a + c)
        p0 = torch.special.ndtr(-y / s_safe)
        p1 = torch.special.ndtr((y - 1) / s_safe)
        p = p + p0 + p1
        m1 = m1 + f0 * p0 + f1 * p1
        m2 = m2 + f0 * f0 * p0 + f1 * f1 * p1
    else:
        p = p + torch.special.ndtr((z_root - y) / s_safe)  # where f = 0
    # Degenerate s = 0 (b = 0 and y = 0): z = y exactly.
    zc = y.clamp(0, 1) if clipped else y
    fy = (2.0 / a) * (a * zc + c).clamp_min(0).sqrt()
    m1 = torch.where(pos, m1, fy)
    m2 = torch.where(pos, m2, fy * fy)
    p = torch.where(pos, p, torch.ones_like(p))
    return m1, m2, p


def gat_moments(
    y, a: float = FOI_A, b: float = FOI_B, *, clipped: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact mean and standard deviation of ``f(z) = gat(z)`` given the clean intensity ``y``.

    Under the simulator's model (``z ~ N(y, a y + b)``, clipped to ``[0, 1]`` if ``clipped``),
    by the quadrature described in the module docstring. ``y`` (a tensor, or array-like) must
    satisfy ``a y + b >= 0``; the results have ``y``'s shape, device and floating dtype (float64
    for non-tensor input). Useful e.g. to give a Gaussian denoiser the true noise level of the
    stabilised data where clipping lowers it.
    """
    a, b = _check_params(a, b)
    if not isinstance(y, torch.Tensor):
        y = torch.as_tensor(np.asarray(y, dtype=np.float64))
    _check_tensor("y", y)
    y64 = y.detach().to("cpu", torch.float64)
    if bool((a * y64 + b < 0).any()):
        raise ValueError("y must satisfy a*y + b >= 0 (a non-negative noise variance)")
    m1, m2, _ = _raw_moments(y64, a, b, bool(clipped))
    std = (m2 - m1 * m1).clamp_min(0).sqrt()
    return m1.to(y.device, y.dtype), std.to(y.device, y.dtype)


# ---------------------------------------------------------------------------------------------
# the exact unbiased inverse


def _y_grid(a: float, b: float, y_top: float, n: int) -> torch.Tensor:
    """``n`` values of ``y`` in ``[0, y_top]``, uniform in the asymptotic ``D(y)``."""
    off = 0.125 * a * a + b
    d0 = (2.0 / a) * math.sqrt(off)
    d1 = (2.0 / a) * math.sqrt(a * y_top + off)
    d = torch.linspace(d0, d1, n, dtype=torch.float64)
    y = ((a * d / 2) ** 2 - off) / a
    y[0], y[-1] = 0.0, y_top
    return y.clamp(0, y_top)


def _build_table(a: float, b: float, clipped: bool) -> tuple[torch.Tensor, torch.Tensor]:
    y_top, n = (1.0, _N_CLIPPED) if clipped else (_Y_TOP_UNCLIPPED, _N_UNCLIPPED)
    y = _y_grid(a, b, y_top, n)
    mean, _, mass = _raw_moments(y, a, b, clipped)
    if not bool(((mass - 1).abs() < 1e-9).all()):  # pragma: no cover - a quadrature failure
        raise RuntimeError(
            f"quadrature lost probability mass: max |1 - P| = {(mass - 1).abs().max()}"
        )
    if not bool((mean.diff() > 0).all()):  # pragma: no cover - checked for every build
        k = int(torch.nonzero(mean.diff() <= 0)[0])
        raise RuntimeError(
            f"E[f(z)|y] is not strictly increasing near y={float(y[k]):.6g} "
            f"(a={a}, b={b}, clipped={clipped}); the exact unbiased inverse is undefined there"
        )
    return y, mean


def unbiased_inverse_table(
    a: float = FOI_A, b: float = FOI_B, *, clipped: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """The cached table ``(y, E[f(z) | y])`` (float64, CPU; copies) behind the unbiased inverse."""
    y, m = _table(*_check_params(a, b), bool(clipped))
    return y.clone(), m.clone()


def _table(a: float, b: float, clipped: bool) -> tuple[torch.Tensor, torch.Tensor]:
    key = (a, b, clipped)
    with _LOCK:
        tab = _TABLES.get(key)
        if tab is None:
            tab = _TABLES[key] = _build_table(a, b, clipped)
    return tab


def _device_table(a, b, clipped, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    key = (a, b, clipped, str(device), dtype)
    tab = _DEVICE_TABLES.get(key)
    if tab is None:
        y, m = _table(a, b, clipped)
        tab = (y.to(device, dtype), m.to(device, dtype))
        with _LOCK:
            _DEVICE_TABLES[key] = tab
    return tab


def gat_inverse_unbiased(
    d: torch.Tensor, a: float = FOI_A, b: float = FOI_B, *, clipped: bool = True
) -> torch.Tensor:
    """Exact unbiased inverse of :func:`gat`: the inverse of ``y -> E[f(z) | y]``.

    ``E[f(z) | y]`` is tabulated (see the module docstring) under the simulator's Gaussian
    model, clipped to ``[0, 1]`` when ``clipped`` (the task's data) and unclipped otherwise, and
    inverted by linear interpolation, which is monotone. With ``clipped=True`` the result lies in
    ``[0, 1]`` (values of ``d`` below ``E[f | y=0]`` give 0, above ``E[f | y=1]`` give 1). With
    ``clipped=False`` values below ``E[f | y=0]`` give 0 and values above the table (``y > 4``)
    use the asymptotic inverse ``(a/4) D^2 - a/8 - b/a`` made continuous with the table.

    Any shape and device; float32 and float64 are computed in their own precision (half
    precisions in float32), the result has ``d``'s dtype.
    """
    a, b = _check_params(a, b)
    _check_tensor("d", d)
    clipped = bool(clipped)
    wd = _work_dtype(d)
    x = d.to(wd)
    ty, tm = _device_table(a, b, clipped, x.device, wd)
    n = tm.numel()
    flat = x.reshape(-1).contiguous()
    i = torch.searchsorted(tm, flat).clamp(1, n - 1)
    m0, m1 = tm[i - 1], tm[i]
    y0, y1 = ty[i - 1], ty[i]
    frac = ((flat - m0) / (m1 - m0)).clamp(0, 1)
    out = y0 + frac * (y1 - y0)  # clamped to the table's [y_0, y_top] by frac in [0, 1]
    if not clipped:
        top_m, top_y = tm[-1], ty[-1]
        asym = 0.25 * a * flat * flat - (0.125 * a + b / a)
        asym_top = 0.25 * a * top_m * top_m - (0.125 * a + b / a)
        shift = (top_y - asym_top) * (top_m / flat.clamp_min(top_m)) ** 3
        out = torch.where(flat > top_m, asym + shift, out)
    return out.reshape(d.shape).to(d.dtype)
