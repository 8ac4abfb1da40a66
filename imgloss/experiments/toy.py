"""The toy analysis of Section 5.2 and Fig. 9, computed with the library's own SSIM.

Two 1-D experiments on signals in ``[0, 1]``:

* **Noise at an edge** (Fig. 9a-b). A step edge ``y`` (``low`` left of ``edge``, ``high`` from
  it on) and a copy ``x = y + n`` with zero-mean Gaussian noise. :func:`support` gives the
  Gaussian weights ``G_{sigma_G}(q - P)`` with which SSIM at a pixel ``P`` near the edge looks at
  its neighbours, and :func:`ssim_profile` gives ``SSIM(p)`` across the edge for each
  ``sigma_G``. A support that spans both sides of the edge sees the step's variance in
  ``sigma_y^2`` and so tolerates the same noise better (the masking effect).
* **Uniform bias on flat regions** (Fig. 9c-d). A dark flat region (``low``) and a bright one
  (``high``) meet at pixel ``S``; both get the same bias ``b``. On a flat region the structure
  term is 1 and SSIM reduces to the luminance term of eq. 5,
  ``l = (2 mu (mu + b) + C1) / (mu^2 + (mu + b)^2 + C1)``, which is closer to 1 where ``mu`` is
  large: the same bias costs less in bright regions (:func:`bias_luminance`).

A 1-D profile is evaluated as an image of identical rows, so the 2-D separable Gaussian of
:func:`imgloss.losses.ssim_map` reduces exactly to the 1-D Gaussian along the profile.
"""

from __future__ import annotations

import numpy as np
import torch

from imgloss.functional.filters import gaussian_radius
from imgloss.functional.ssim import ssim_map


def step_edge(length: int = 128, edge: int = 64, low: float = 0.2, high: float = 0.8) -> np.ndarray:
    """``y(p) = low`` for ``p < edge``, ``high`` otherwise; shape ``(length,)``."""
    if not 0 < edge < length:
        raise ValueError(f"edge must lie inside the signal (0 < edge < {length}), got {edge}")
    y = np.full(length, low, dtype=np.float64)
    y[edge:] = high
    return y


def noisy(y: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """``y + n``, ``n ~ N(0, std^2)`` i.i.d. (not clipped: the toy has no saturation)."""
    return y + np.random.default_rng(seed).normal(0.0, std, size=y.shape)


def support(sigma: float, length: int, centre: int) -> np.ndarray:
    """The normalised, truncated Gaussian weights of SSIM at pixel ``centre`` (Fig. 9a)."""
    r = gaussian_radius(sigma)
    q = np.arange(length)
    g = np.exp(-((q - centre) ** 2) / (2 * sigma**2))
    g[np.abs(q - centre) > r] = 0
    return g / g.sum()


def ssim_profile(x: np.ndarray, y: np.ndarray, sigma: float, data_range: float = 1.0) -> np.ndarray:
    """``SSIM(p)`` along 1-D signals with Gaussian ``sigma`` (Fig. 9b, 9d).

    NaN where the window does not fit (within its radius of either end).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of the same length, got {x.shape} and {y.shape}")
    r = gaussian_radius(sigma)
    if x.size < 2 * r + 1:
        raise ValueError(f"signals of {x.size} samples are shorter than the {2 * r + 1}-tap window")
    rows = 2 * r + 1  # identical rows: the vertical Gaussian averages equal values
    xt = torch.from_numpy(np.tile(x, (rows, 1)))[None, None]
    yt = torch.from_numpy(np.tile(y, (rows, 1)))[None, None]
    values = ssim_map(xt, yt, sigma=sigma, data_range=data_range)[0, 0, 0].numpy()
    out = np.full(x.size, np.nan)
    out[r : x.size - r] = values
    return out


def bias_luminance(mu: np.ndarray | float, bias: float, data_range: float = 1.0) -> np.ndarray:
    """Eq. 5's luminance term on a flat region of mean ``mu`` shifted by ``bias``."""
    c1 = (0.01 * data_range) ** 2
    mu = np.asarray(mu, dtype=np.float64)
    return (2 * mu * (mu + bias) + c1) / (mu**2 + (mu + bias) ** 2 + c1)


def edge_experiment(
    sigmas=(1, 3, 9),
    *,
    length: int = 128,
    edge: int = 64,
    offset: int = 3,
    std: float = 0.05,
    trials: int = 200,
    seed: int = 0,
) -> dict:
    """Fig. 9a-b, with statistics over ``trials`` noise draws.

    Returns the clean edge, one noisy draw, each sigma's support at ``P = edge - offset`` and
    SSIM profile (of that draw), and the mean and standard deviation over the trials of
    ``SSIM(P)`` per sigma.
    """
    y = step_edge(length, edge)
    p = edge - offset
    x = noisy(y, std, seed)
    at_p: dict[float, list[float]] = {s: [] for s in sigmas}
    rng = np.random.default_rng(seed + 1)
    for _ in range(trials):
        xn = y + rng.normal(0.0, std, size=y.shape)
        for s in sigmas:
            at_p[s].append(ssim_profile(xn, y, s)[p])
    return {
        "y": y,
        "x": x,
        "pixel": p,
        "std": std,
        "support": {s: support(s, length, p) for s in sigmas},
        "profile": {s: ssim_profile(x, y, s) for s in sigmas},
        "ssim_at_pixel": {
            s: (float(np.mean(v)), float(np.std(v, ddof=1))) for s, v in at_p.items()
        },
        "trials": trials,
    }


def bias_experiment(
    sigma: float = 3,
    *,
    length: int = 128,
    split: int = 64,
    low: float = 0.2,
    high: float = 0.8,
    bias: float = 0.05,
    std: float = 0.0,
    seed: int = 0,
) -> dict:
    """Fig. 9c-d: ``x = y + bias`` (plus optional noise) on a dark|bright signal split at ``S``."""
    y = step_edge(length, split, low, high)
    x = y + bias
    if std:
        x = noisy(x, std, seed)
    return {
        "y": y,
        "x": x,
        "pixel": split,
        "bias": bias,
        "sigma": sigma,
        "profile": ssim_profile(x, y, sigma),
        "luminance": {
            "dark": float(bias_luminance(low, bias)),
            "bright": float(bias_luminance(high, bias)),
        },
    }
