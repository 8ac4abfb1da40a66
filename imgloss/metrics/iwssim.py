r"""Information content weighted SSIM (IW-SSIM), faithful to Wang & Li's MATLAB ``iwssim.m``.

Z. Wang and Q. Li, "Information Content Weighting for Perceptual Image Quality Assessment", IEEE
TIP 20(5), 2011 (``iwssim.m`` with ``scale_quality_maps.m``, ``info_content_weight_map.m``,
``imenlarge2.m`` and Simoncelli's matlabPyrTools ``buildLpyr``). One of the quality measures of
Zhao et al., Table 1.

**Argument order.** IW-SSIM is *not* symmetric: the information-content weights are computed
from the reference. ``target`` is the reference (MATLAB's ``oimg``, the first argument of
``iwssim(oimg, img)``) and ``prediction`` the distorted image (``img``), i.e.
``iw_ssim(prediction, target) == iwssim(target, prediction)``.

The algorithm with the MATLAB defaults, for one grey image pair on the 0..255 scale (inputs are
scaled by ``255 / data_range``; ``L = 255``):

1. **Laplacian pyramids** (``buildLpyr(x, 5)``) of reference and distorted image: filter
   ``f = sqrt(2) * [1 4 6 4 1] / 16`` (``binom5``), separable, 'reflect1' edges (mirror about the
   edge pixel, which is not repeated). ``REDUCE``: correlate with ``f`` and keep samples
   ``0, 2, 4, ...`` (``ceil(H/2)`` of them). ``EXPAND`` to the finer size ``H``: place the coarse
   samples at the even positions of a length-``H`` zero signal, mirror that about its own edge
   pixels and correlate with ``f`` (this is what ``upConv``'s 'reflect1' edge filters compute; for
   odd ``H`` it differs from zero-interleaving to ``2 ceil(H/2)`` samples). Band ``s = 1..4`` is
   ``x_s - EXPAND(REDUCE(x_s))``, band 5 the low-pass ``x_5``.
2. **SSIM terms per band** (``scale_quality_maps``): 11 x 11 Gaussian window (sigma 1.5), 'valid'
   filtering, ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2``, variances clamped at 0,
   ``cs = (2 s_rd + C2) / (s_r^2 + s_d^2 + C2)``; at the coarsest band also
   ``l = (2 mu_r mu_d + C1) / (mu_r^2 + mu_d^2 + C1)``.
3. **Information-content weights** for bands 1..4 (``info_content_weight_map``; GSM model,
   ``sigma_nsq = 0.4``, 3 x 3 neighbourhood, ``tol = 1e-15``): 3 x 3 box means with zero padding
   ('same') give the gain ``g = s_rd / (s_r^2 + tol)`` and the residual variance
   ``v = s_d^2 - g s_rd`` (``g = 0, v = s_d^2`` where ``s_r^2 < tol``; ``g = v = 0`` where
   ``s_d^2 < tol``). Each interior coefficient's neighbourhood vector ``y`` holds the 3 x 3
   reference-band values plus, for bands 1..3, the parent: band ``s + 1`` of the reference
   enlarged by ``imenlarge2`` (bilinear ``imresize`` to ``4M - 3``, linear extrapolation of one
   border sample, every other sample). ``C_u = Y^T Y / n`` is eigen-decomposed, negative
   eigenvalues are zeroed and the rest rescaled to keep the trace, ``s = y^T C_u^{-1} y / N`` and

       w = sum_j log2(1 + ((v + (1 + g^2) sigma_nsq) s lambda_j + sigma_nsq v) / sigma_nsq^2),

   set to 0 where below ``tol``; the map is cropped by ``bound1 = 5 - 1 = 4`` pixels per side so
   that it aligns with the 'valid' SSIM maps.
4. **Pooling**: ``wmcs_s = sum(cs_s w_s) / sum(w_s)`` for ``s = 1..4`` and
   ``wmcs_5 = mean(cs_5 l_5)``; ``IW-SSIM = prod_s wmcs_s ^ beta_s`` with
   ``beta = [0.0448 0.2856 0.3001 0.2363 0.1333]`` (normalised to sum 1).

Per-channel convention: each channel of an ``(N, C, H, W)`` tensor is scored as the MATLAB code's
grey input, so the result has shape ``(N, C)``; the paper's Table 1 averages over R, G, B.

Size: the smallest side must be at least ``11 * 2^4 = 176`` pixels (``iwssim.m``'s own check;
piq accepts 161).

Precision: the whole computation runs in float64 (the ``tol = 1e-15`` thresholds, the second
moments of 0..255 data and the 10 x 10 eigen-decompositions need it); the result is returned in
the input's compute dtype (float32 for float32/float16/bfloat16 input, float64 for float64).

Where this module departs from ``iwssim.m`` (degenerate inputs only):

* ``C_u^{-1}`` is applied through the eigen-decomposition, with ``1 / lambda`` replaced by 0 for a
  zero eigenvalue (a pseudo-inverse). For any textured image ``C_u`` is positive definite and this
  equals MATLAB's ``inv(C_u)``; for a band without any signal MATLAB's ``inv`` is singular
  (Inf/NaN) and piq raises an error.
* If all the weights of a band are zero (nothing to weight, e.g. a flat reference), the band is
  pooled with uniform weights (the plain mean of ``cs``) instead of MATLAB's ``0 / 0 = NaN``.
* A negative pooled ``wmcs_s`` (anti-correlated bands) is clamped to 0 before the fractional
  power, so the index is 0; MATLAB returns a complex number and piq takes the absolute value.

Known differences from ``piq.information_weighted_ssim`` (0.8.0), which ports the same MATLAB
code: piq converts RGB input to the luminance ``Y`` of YIQ (one value per image), while here every
channel is scored separately; piq's pyramid ``EXPAND`` zero-interleaves to ``2 ceil(H/2)``
samples before mirroring, which differs from ``upConv`` whenever a pyramid level has an odd side
(sizes not divisible by 16); piq's thresholds use ``finfo(dtype).eps`` instead of ``1e-15``, its
minimum size is 161 and it takes ``|wmcs|``. piq's ``(x, y)`` maps to MATLAB's
``iwssim(y, x)``, the same order as here: ``piq(prediction, target)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from imgloss.functional.validation import check_data_range, check_pair, to_compute_dtype

#: ``iwssim.m`` defaults.
NUM_SCALES = 5
K1, K2 = 0.01, 0.03
L = 255.0
WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN_SIZE, WIN_SIGMA = 11, 1.5
BLK_SIZE = 3
SIGMA_NSQ = 0.4
TOL = 1e-15
#: ``min(size(oimg)) < win_size * 2^(Nsc-1)`` is rejected by ``iwssim.m``.
MIN_SIZE = WIN_SIZE * 2 ** (NUM_SCALES - 1)

_BOUND = math.ceil((WIN_SIZE - 1) / 2)  # 5: border lost by the 'valid' SSIM maps
_BOUND1 = _BOUND - (BLK_SIZE - 1) // 2  # 4: extra crop of the (h-2) x (w-2) weight maps


def _binom5() -> list[float]:
    """matlabPyrTools ``namedFilter('binom5')``: ``sqrt(2) * [1 4 6 4 1] / 16``."""
    return [c * math.sqrt(2) / 16 for c in (1.0, 4.0, 6.0, 4.0, 1.0)]


def _gaussian() -> list[float]:
    """1-D factor of ``fspecial('gaussian', 11, 1.5)`` normalised to sum 1 (the 2-D window is
    its outer product; no tap falls below fspecial's ``eps * max`` cut)."""
    g = [math.exp(-((k - (WIN_SIZE - 1) / 2) ** 2) / (2 * WIN_SIGMA**2)) for k in range(WIN_SIZE)]
    total = math.fsum(g)
    return [v / total for v in g]


# The filters below are sums of shifted slices: on a CPU this is several times faster than
# ``conv2d`` for float64 single-channel planes, and exactly the same arithmetic.


def _corr(x: torch.Tensor, taps: list[float], dim: int, step: int = 1) -> torch.Tensor:
    """'valid' correlation of ``x`` with ``taps`` along ``dim``, keeping every ``step``-th
    output."""
    n = len(taps)
    length = x.shape[dim] - n + 1
    count = (length + step - 1) // step

    def tap(k: int) -> torch.Tensor:
        sl = [slice(None)] * x.dim()
        sl[dim] = slice(k, k + step * (count - 1) + 1, step)
        return x[tuple(sl)]

    out = tap(0) * taps[0]
    for k in range(1, n):
        out.add_(tap(k), alpha=taps[k])
    return out


def _filter_valid(x: torch.Tensor, taps: list[float], step: int = 1) -> torch.Tensor:
    """Separable 'valid' correlation of ``(..., H, W)`` with ``taps`` (W, then H)."""
    return _corr(_corr(x, taps, -1, step), taps, -2, step)


def _reduce(x: torch.Tensor) -> torch.Tensor:
    """``corrDn(x, binom5, 'reflect1', [2 2])``: ``(B,1,H,W) -> (B,1,ceil(H/2),ceil(W/2))``."""
    return _filter_valid(F.pad(x, (2, 2, 2, 2), mode="reflect"), _binom5(), step=2)


def _expand(lo: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``upConv(lo, binom5, 'reflect1', [2 2], [1 1], size)``.

    The coarse samples go to the even positions of a zero image of exactly ``size``;
    matlabPyrTools' 'reflect1' EXPAND edge filters then equal mirroring that image about its
    edge pixels (checked against a transcription of ``convolve.c``/``edges.c``, odd sizes
    included).
    """
    h, w = size
    up = lo.new_zeros(lo.shape[0], lo.shape[1], h, w)
    up[..., ::2, ::2] = lo
    return _filter_valid(F.pad(up, (2, 2, 2, 2), mode="reflect"), _binom5())


def _laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``buildLpyr(x, levels)`` with ``binom5`` and 'reflect1': ``levels - 1`` band-pass images,
    finest first, then the low-pass residual."""
    bands = []
    for _ in range(levels - 1):
        lo = _reduce(x)
        bands.append(x - _expand(lo, (x.shape[-2], x.shape[-1])))
        x = lo
    bands.append(x)
    return bands


def _imenlarge2(x: torch.Tensor) -> torch.Tensor:
    """``imenlarge2.m``: ``(B, 1, M, N) -> (B, 1, 2M, 2N)``.

    MATLAB's ``imresize(x, [4M-3 4N-3], 'bilinear')`` (an enlargement, so no antialiasing; pixel
    centres mapped by ``u = (v - 0.5) / s + 0.5``, edge samples replicated) is torch's bilinear
    interpolation with ``align_corners=False``.
    """
    m, n = x.shape[-2:]
    t1 = F.interpolate(x, size=(4 * m - 3, 4 * n - 3), mode="bilinear", align_corners=False)
    t2 = x.new_zeros(x.shape[0], x.shape[1], 4 * m - 1, 4 * n - 1)
    t2[..., 1:-1, 1:-1] = t1
    t2[..., 0, :] = 2 * t2[..., 1, :] - t2[..., 2, :]
    t2[..., -1, :] = 2 * t2[..., -2, :] - t2[..., -3, :]
    t2[..., :, 0] = 2 * t2[..., :, 1] - t2[..., :, 2]
    t2[..., :, -1] = 2 * t2[..., :, -2] - t2[..., :, -3]
    return t2[..., ::2, ::2]


def _ssim_terms(ref: torch.Tensor, dist: torch.Tensor, last: bool) -> torch.Tensor:
    """``scale_quality_maps``: the 'valid' cs map, times the luminance map at the coarsest band.
    ``(B, 1, h, w) -> (B, 1, h - 10, w - 10)``."""
    b = ref.shape[0]
    stats = _filter_valid(torch.cat([ref, dist, ref * ref, dist * dist, ref * dist]), _gaussian())
    mu_r, mu_d, rr, dd, rd = stats.split(b)
    c1, c2 = (K1 * L) ** 2, (K2 * L) ** 2
    mu_rd = mu_r * mu_d
    var_r = rr.sub_(mu_r * mu_r).clamp_(min=0)
    var_d = dd.sub_(mu_d * mu_d).clamp_(min=0)
    cs = rd.sub_(mu_rd).mul_(2).add_(c2).div_(var_r.add_(var_d).add_(c2))
    if last:
        lum = mu_rd.mul_(2).add_(c1).div_(mu_r.square_().add_(mu_d.square_()).add_(c1))
        cs = cs.mul_(lum)
    return cs


def _info_weights(
    ref: torch.Tensor, dist: torch.Tensor, parent: torch.Tensor | None
) -> torch.Tensor:
    """``info_content_weight_map`` for one band: ``(B, 1, h, w) -> (B, 1, h - 2, w - 2)``.

    ``ref``/``dist`` are the reference/distorted bands, ``parent`` the next coarser reference
    band (or ``None``). Only the interior ``(h - 2) x (w - 2)`` coefficients are returned, as in
    MATLAB (``g``, ``vv`` are computed with 'same' filtering, then cropped).
    """
    b, _, h, w = ref.shape
    nv, nh = h - BLK_SIZE + 1, w - BLK_SIZE + 1
    # 'same' box statistics, evaluated only where they are used (the interior).
    stats = _filter_valid(torch.cat([ref, dist, ref * dist, ref * ref, dist * dist]), [1.0] * 3)
    mean_r, mean_d, rd, rr, dd = stats.div_(9).split(b)
    cov = rd.sub_(mean_r * mean_d)
    ss_r = rr.sub_(mean_r.square_()).clamp_(min=0)
    ss_d = dd.sub_(mean_d.square_()).clamp_(min=0)
    g = cov / (ss_r + TOL)
    vv = ss_d - g * cov
    flat_r = ss_r < TOL
    g = g.masked_fill_(flat_r, 0.0)
    vv = torch.where(flat_r, ss_d, vv)
    flat_d = ss_d < TOL
    g = g.masked_fill_(flat_d, 0.0)
    vv = vv.masked_fill_(flat_d, 0.0)

    # Neighbourhood vectors of the interior coefficients, one row per component (the order of
    # the components does not change C_u's spectrum or the quadratic form).
    rows = [
        ref[:, 0, dy : dy + nv, dx : dx + nh] for dy in range(BLK_SIZE) for dx in range(BLK_SIZE)
    ]
    if parent is not None:
        up = _imenlarge2(parent)[:, 0, :h, :w]
        rows.append(up[:, 1 : 1 + nv, 1 : 1 + nh])
    yt = torch.stack(rows, dim=1).reshape(b, len(rows), nv * nh)  # (B, N, nexp)
    n_dim = yt.shape[1]

    c_u = yt @ yt.transpose(1, 2) / (nv * nh)
    lam, q = torch.linalg.eigh(c_u)  # ascending eigenvalues, orthonormal eigenvectors
    pos = lam.clamp(min=0)
    pos_sum = pos.sum(dim=-1, keepdim=True)
    lam = pos * lam.sum(dim=-1, keepdim=True) / (pos_sum + (pos_sum == 0).to(lam.dtype))
    inv_lam = torch.where(lam > 0, 1.0 / torch.where(lam > 0, lam, 1.0), 0.0)
    proj = q.transpose(1, 2).contiguous() @ yt  # (B, N, nexp): coordinates in the eigenbasis
    ss = (inv_lam.unsqueeze(1) @ proj.square_()).div_(n_dim)  # (B, 1, nexp) = y' C_u^-1 y / N

    s2 = SIGMA_NSQ * SIGMA_NSQ
    g = g.reshape(b, 1, -1)
    vv = vv.reshape(b, 1, -1)
    a = g.square_().add_(1).mul_(SIGMA_NSQ).add_(vv).mul_(ss).div_(s2)  # (B, 1, nexp)
    c = vv.mul_(SIGMA_NSQ / s2).add_(1)
    terms = proj  # reuse the buffer: 1 + a * lambda_j + sigma_nsq * vv / sigma_nsq^2
    torch.mul(lam.unsqueeze(-1), a, out=terms)
    infow = terms.add_(c).log2_().sum(dim=1)
    infow = infow.masked_fill_(infow < TOL, 0.0)
    return infow.view(b, 1, nv, nh)


def iw_ssim(
    prediction: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0
) -> torch.Tensor:
    """IW-SSIM of each channel (``iwssim(target, prediction)``), 1 for identical images.

    Args:
        prediction: distorted images, ``(N, C, H, W)``, values in ``[0, data_range]``.
        target: reference images (MATLAB's ``oimg``), same shape, dtype and device. The
            information-content weights come from ``target``: swapping the arguments changes
            the value.
        data_range: the intensity range of the inputs (1 for [0, 1], 255 for 8-bit values);
            inputs are scaled by ``255 / data_range`` to the ``L = 255`` scale of the MATLAB code.

    Returns:
        ``(N, C)`` tensor in the input's compute dtype (at least float32); computed in float64.

    Raises:
        TypeError, ValueError: from :func:`imgloss.functional.validation.check_pair` (not 4-D,
            shapes/devices/dtypes differ, non-finite values; values far outside
            ``[0, data_range]`` give a ``DataRangeWarning``) and ``check_data_range``;
            ``ValueError`` if ``min(H, W) < 176`` (too small for 5 scales). Each names the
            argument.
    """
    data_range = check_data_range(data_range)
    check_pair(prediction, target, data_range=data_range)
    n, c, h, w = prediction.shape
    if min(h, w) < MIN_SIZE:
        raise ValueError(
            f"prediction and target must be at least {MIN_SIZE} x {MIN_SIZE} pixels for "
            f"{NUM_SCALES}-scale IW-SSIM (iwssim.m needs min(H, W) >= 11 * 2^4 = {MIN_SIZE}), "
            f"got H x W = {h} x {w}"
        )
    out_dtype = to_compute_dtype(prediction, target)[0].dtype
    scale = 255.0 / data_range
    ref = target.reshape(n * c, 1, h, w)
    dist = prediction.reshape(n * c, 1, h, w)
    # One image plane at a time on the CPU (its float64 temporaries stay in cache and are
    # recycled by the allocator: ~2.5x faster than a batch); the whole batch at once elsewhere.
    chunk = 1 if ref.device.type == "cpu" else n * c
    scores = [
        _iw_ssim_planes(ref[i : i + chunk], dist[i : i + chunk], scale)
        for i in range(0, n * c, chunk)
    ]
    return torch.cat(scores).view(n, c).to(out_dtype)


def _iw_ssim_planes(ref: torch.Tensor, dist: torch.Tensor, scale: float) -> torch.Tensor:
    """IW-SSIM of ``(B, 1, H, W)`` reference/distorted planes, ``(B,)`` float64."""
    b = ref.shape[0]
    both = torch.cat([ref, dist]).to(torch.float64) * scale
    bands = _laplacian_pyramid(both, NUM_SCALES)
    total_weight = math.fsum(WEIGHTS)
    score = both.new_ones(b)
    for s in range(NUM_SCALES):
        band_r, band_d = bands[s][:b], bands[s][b:]
        last = s == NUM_SCALES - 1
        cs = _ssim_terms(band_r, band_d, last).flatten(1)
        if last:
            pooled = cs.mean(dim=1)
        else:
            parent = bands[s + 1][:b] if s + 1 < NUM_SCALES - 1 else None
            iw = _info_weights(band_r, band_d, parent)
            iw = iw[..., _BOUND1:-_BOUND1, _BOUND1:-_BOUND1].flatten(1)
            total = iw.sum(dim=1)
            weighted = (cs * iw).sum(dim=1) / torch.where(total > 0, total, 1.0)
            pooled = torch.where(total > 0, weighted, cs.mean(dim=1))
        score = score * pooled.clamp(min=0) ** (WEIGHTS[s] / total_weight)
    return score
