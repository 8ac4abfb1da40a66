"""The paper's closed-form patch-mode losses and derivatives, in plain float64 NumPy.

These are a literal transcription of Section 3 (eqs. 7-10, 12-14), written independently of the
PyTorch implementation so that the tests, and the first notebook of the book, can check that
autograd through :mod:`imgloss.losses` gives exactly the paper's gradients.

All functions take ``x`` (prediction) and ``y`` (target) of shape ``(N, C, H, W)`` with odd
``H, W`` and return the loss averaged over the ``N * C`` patch-channels, or its gradient with
respect to ``x`` (same shape as ``x``), i.e. the paper's per-patch derivatives divided by
``N * C``.

Sign convention: eq. 13 in the paper is printed as the derivative of MS-SSIM itself; the loss
``1 - MS-SSIM`` has the opposite sign, which is what the authors' Caffe layer back-propagates
and what :func:`msssim_patch_gradient` returns. The sum in eq. 13 runs over the ``M`` scales
(``i = 1..M``; the printed ``i = 0`` is a typo).
"""

from __future__ import annotations

import numpy as np

PAPER_SIGMAS = (0.5, 1.0, 2.0, 4.0, 8.0)


def patch_gaussian(sigma: float, height: int, width: int) -> np.ndarray:
    """``G_sigma(q - p~)`` over an odd ``height x width`` patch, normalised to sum 1."""
    i = np.arange(height) - height // 2
    j = np.arange(width) - width // 2
    g = np.exp(-(i[:, None] ** 2 + j[None, :] ** 2) / (2.0 * sigma**2))
    return g / g.sum()


def _terms(x: np.ndarray, y: np.ndarray, sigma: float, data_range: float) -> dict:
    """Eqs. 4-5 at the centre pixel, plus the derivatives of eqs. 9-10 (per patch-channel)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    g = patch_gaussian(sigma, *x.shape[-2:])
    mu_x = (g * x).sum(axis=(-2, -1), keepdims=True)
    mu_y = (g * y).sum(axis=(-2, -1), keepdims=True)
    var_x = (g * x * x).sum(axis=(-2, -1), keepdims=True) - mu_x**2
    var_y = (g * y * y).sum(axis=(-2, -1), keepdims=True) - mu_y**2
    cov = (g * x * y).sum(axis=(-2, -1), keepdims=True) - mu_x * mu_y
    den_l = mu_x**2 + mu_y**2 + c1
    den_cs = var_x + var_y + c2
    l = (2 * mu_x * mu_y + c1) / den_l
    cs = (2 * cov + c2) / den_cs
    dl = 2 * g * (mu_y - mu_x * l) / den_l  # eq. 9
    dcs = 2 / den_cs * g * ((y - mu_y) - cs * (x - mu_x))  # eq. 10
    return {"g": g, "l": l, "cs": cs, "dl": dl, "dcs": dcs}


def _patch_count(x: np.ndarray) -> int:
    return int(np.prod(np.shape(x)[:-2]))


def ssim_patch_loss(x, y, sigma: float, data_range: float = 1.0) -> float:
    """Eq. 7: ``1 - SSIM(p~)``, averaged over patch-channels."""
    t = _terms(x, y, sigma, data_range)
    return float(np.mean(1 - t["l"] * t["cs"]))


def ssim_patch_gradient(x, y, sigma: float, data_range: float = 1.0) -> np.ndarray:
    """Eq. 8 with eqs. 9-10: ``-(dl cs + l dcs)``, divided by the number of patch-channels."""
    t = _terms(x, y, sigma, data_range)
    return -(t["dl"] * t["cs"] + t["l"] * t["dcs"]) / _patch_count(x)


def _ms_terms(x, y, sigmas, data_range):
    terms = [_terms(x, y, s, data_range) for s in sigmas]
    top = terms[int(np.argmax(sigmas))]
    prod_cs = np.prod([t["cs"] for t in terms], axis=0)
    return terms, top, prod_cs


def msssim_patch_loss(x, y, sigmas=PAPER_SIGMAS, data_range: float = 1.0) -> float:
    """Eq. 12 with eq. 11 (exponents 1), the paper's Gaussian approximation of the pyramid."""
    _, top, prod_cs = _ms_terms(x, y, sigmas, data_range)
    return float(np.mean(1 - top["l"] * prod_cs))


def msssim_patch_gradient(x, y, sigmas=PAPER_SIGMAS, data_range: float = 1.0) -> np.ndarray:
    """Eq. 13: ``-(dl_M + l_M sum_i dcs_i / cs_i) prod_j cs_j``, per patch-channel."""
    terms, top, prod_cs = _ms_terms(x, y, sigmas, data_range)
    inner = top["dl"] + top["l"] * sum(t["dcs"] / t["cs"] for t in terms)
    return -inner * prod_cs / _patch_count(x)


def mix_patch_loss(
    x, y, alpha: float = 0.84, sigmas=PAPER_SIGMAS, data_range: float = 1.0
) -> float:
    """Eq. 14: ``alpha L^MS-SSIM + (1 - alpha) sum_q G_M(q) |x - y|(q) / L``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    g = patch_gaussian(max(sigmas), *x.shape[-2:])
    l1 = np.mean((g * np.abs(x - y)).sum(axis=(-2, -1))) / data_range
    return alpha * msssim_patch_loss(x, y, sigmas, data_range) + (1 - alpha) * float(l1)


def mix_patch_gradient(
    x, y, alpha: float = 0.84, sigmas=PAPER_SIGMAS, data_range: float = 1.0
) -> np.ndarray:
    """Derivative of eq. 14: the weighted sum of eq. 13 and ``G_M sign(x - y)`` (eq. 3)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    g = patch_gaussian(max(sigmas), *x.shape[-2:])
    d_l1 = g * np.sign(x - y) / data_range / _patch_count(x)
    return alpha * msssim_patch_gradient(x, y, sigmas, data_range) + (1 - alpha) * d_l1
