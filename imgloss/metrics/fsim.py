r"""FSIM and FSIMc of Zhang, Zhang, Mou and Zhang (IEEE TIP 2011), faithful to ``FeatureSIM.m``.

This is a PyTorch re-implementation of the authors' MATLAB code ``FeatureSIM.m`` ("FSIM Index with
automatic downsampling, Version 1.0") together with the modified copy of Kovesi's ``phasecong2``
that it ships with. It is batched over ``N``, runs on CPU and CUDA and uses only ``torch`` (and
``torch.fft``) in its compute path.

Math (paper's equations, MATLAB names in brackets). For a reference image ``f1`` (``target``,
MATLAB's ``imageRef``) and a distorted image ``f2`` (``prediction``, ``imageDis``), both scaled to
``0..255``:

* phase congruency ``PC`` (eq. 1-2; ``phasecong2``): log-Gabor quadrature filters at
  ``nscale = 4`` scales (wavelengths ``6, 12, 24, 48`` px, ``sigmaOnf = 0.55``) and
  ``norient = 4`` orientations (``0, 45, 90, 135`` deg, angular spread ``pi / 4 / 1.2``), each
  multiplied by the Butterworth low-pass ``1 / (1 + (r / 0.45)^30)``, applied by FFT (circular
  boundaries). Per orientation, with ``E_s + i O_s`` the response at scale ``s``, ``A_s`` its
  amplitude and ``(mE, mO)`` the unit vector of ``(sum E_s, sum O_s)`` (``+1e-4`` in its norm),
  ``Energy = max(0, sum_s [E_s mE + O_s mO - |E_s mO - O_s mE|] - T)``. The noise threshold
  ``T`` comes from the median of ``A_1^2`` at the smallest scale (Rayleigh model, ``k = 2``,
  divided by the empirical ``1.7``). ``PC = sum_o Energy_o / sum_o sum_s A_s``.
* gradient magnitude ``G`` (eq. 4): Scharr kernels ``[3 0 -3; 10 0 -10; 3 0 -3] / 16`` and its
  transpose applied with MATLAB's ``conv2(..., 'same')`` (a true convolution with zero padding;
  the sign is irrelevant for the magnitude).
* similarities (eq. 5-7): ``S_PC = (2 PC1 PC2 + T1) / (PC1^2 + PC2^2 + T1)``,
  ``S_G = (2 G1 G2 + T2) / (G1^2 + G2^2 + T2)`` with ``T1 = 0.85``, ``T2 = 160``.
* ``FSIM = sum(S_G S_PC PC_m) / sum(PC_m)`` with ``PC_m = max(PC1, PC2)`` (eq. 8).
* FSIMc (eq. 9-10): the images are converted to YIQ (``Y = 0.299 R + 0.587 G + 0.114 B``,
  ``I = 0.596 R - 0.274 G - 0.322 B``, ``Q = 0.211 R - 0.523 G + 0.312 B``), ``PC`` and ``G`` are
  computed on ``Y``, ``S_I = (2 I1 I2 + T3) / (I1^2 + I2^2 + T3)``, ``S_Q`` likewise with
  ``T3 = T4 = 200``, and ``FSIMc = sum(S_G S_PC Re[(S_I S_Q)^lambda] PC_m) / sum(PC_m)`` with
  ``lambda = 0.03``; the real part of the principal power is ``|p|^lambda cos(pi lambda)`` for a
  negative product ``p`` (MATLAB's ``real(... .^ lambda)``).

Automatic downsampling (``downsample=True``, the MATLAB behaviour): ``F = max(1, round(min(H, W)
/ 256))`` with MATLAB's ``round`` (halves away from zero: ``min = 640`` gives ``F = 3``), then
``conv2(X, fspecial('average', F), 'same')`` (zero padding; for an even ``F`` MATLAB's 'same'
window covers ``(F - 1) // 2`` pixels before and ``F // 2`` after each pixel, i.e. pixel ``i`` is
averaged with the *following* one when ``F = 2``) and ``X(1:F:end, 1:F:end)``, giving
``ceil(H / F) x ceil(W / F)`` images. It is applied to Y, I and Q (FSIMc) or to each channel
(FSIM).

Conventions:

* :func:`fsim` treats *each channel* as the MATLAB code's single-channel "grey image":
  ``(N, C, H, W) -> (N, C)``. The paper's Table 1 averages these over R, G and B. (MATLAB's
  ``FeatureSIM`` itself would convert an RGB input to Y first; use :func:`fsimc` for colour.)
* :func:`fsimc` takes RGB ``(N, 3, H, W) -> (N,)``.
* Argument order: ``target`` is the reference (``imageRef``), ``prediction`` the distorted
  image (``imageDis``); FSIM is symmetric in exact arithmetic except for FSIMc's ``max`` and
  sums, which are symmetric too, so the order only matters at rounding level.
* Precision: the computation runs in the input's dtype, float64 for float64 input and float32
  for float32 (float16/bfloat16 are promoted to float32); the filter bank and the noise
  constants are always built in float64 and then cast. On Kodak-sized images float32 moves
  FSIM/FSIMc by ~1e-7 from float64 (checked in the tests to < 1e-5), far below the 4 decimals
  of Table 1, and is ~1.7x faster on CPU; pass float64 tensors for MATLAB-level agreement.
  Phase congruency uses real FFTs: each log-Gabor filter is split into its parts that are even
  and odd under ``k -> -k``, which give the real (``E``) and imaginary (``O``) responses of
  MATLAB's complex ``ifft2(imagefft .* filter)`` exactly (up to rounding) as contiguous arrays.
* Edge case: where all filter amplitudes vanish (a constant image), MATLAB's ``PC = 0 / 0`` is
  NaN; here such pixels get ``PC = 0``. If neither image has any phase congruency (both
  constant) FSIM is ``0 / 0`` and NaN is returned, as in MATLAB: a deliberate choice (see
  :func:`fsim`); the evaluation functions of :mod:`imgloss.metrics` warn about it.

Known differences from piq 0.8 (``piq.fsim``), which are why piq is only a close, not an exact,
reference:

* piq's ``fsim`` converts an RGB input to luminance; here each channel is scored (feed piq a
  single-channel image to compare the grey-level index).
* piq downsamples with ``avg_pool2d(F)`` (floor of ``H / F``, windows aligned at 0) and Python's
  banker's ``round``; MATLAB/this module use zero-padded ``conv2 'same'`` + ``1:F:end``
  (``ceil(H / F)`` samples, windows centred as described above, half-away ``round``). For
  ``F = 2`` and even sizes the two coincide; for ``F = 3`` the windows are shifted by one pixel.
* piq's noise threshold uses ``torch.median``, the *lower* of the two middle values; MATLAB's
  ``median`` (and this module) averages them for an even pixel count.
* piq adds machine epsilon (not ``1e-4``) to the weighted-mean energy norm and adds machine
  epsilon to ``sum Energy`` and ``sum A`` in ``PC``.
* piq builds its frequency grid with ``meshgrid(..., indexing='ij')`` so that its angle is
  measured from the other axis; the orientation set maps onto itself (responses become complex
  conjugates, which leaves ``PC`` unchanged) except on the Nyquist row/column of even sizes.
* piq's FSIMc uses slightly different YIQ coefficients (0.5959, -0.2746, -0.3213; 0.2115,
  -0.5227, 0.3112) and ``|S_I S_Q|^lambda`` instead of ``Re[(S_I S_Q)^lambda]`` (they differ
  where the product is negative).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from ..functional.validation import check_bool, check_data_range, check_pair
from ._matlab import auto_factor, conv2_same_average_downsample

__all__ = ["fsim", "fsimc"]

# FeatureSIM.m constants (for images in 0..255).
T1 = 0.85
T2 = 160.0
T3 = 200.0
T4 = 200.0
LAMBDA = 0.03

# phasecong2 parameters as hard-coded in FeatureSIM.m.
NSCALE = 4
NORIENT = 4
MIN_WAVELENGTH = 6.0
MULT = 2.0
SIGMA_ONF = 0.55
D_THETA_ON_SIGMA = 1.2
K_NOISE = 2.0
EPSILON = 1e-4
LOWPASS_CUTOFF = 0.45
LOWPASS_ORDER = 15

# YIQ rows used by FeatureSIM.m.
_YIQ = (
    (0.299, 0.587, 0.114),
    (0.596, -0.274, -0.322),
    (0.211, -0.523, 0.312),
)

#: ``None``: compute in the input's dtype (see "Precision" above); set to ``torch.float64`` to
#: force double precision for every input.
_COMPUTE_DTYPE: torch.dtype | None = None
# Images processed per chunk in phase congruency (bounds memory and keeps work in cache).
_CHUNK_PIXELS = 1 << 20


def _centred_axis(n: int) -> torch.Tensor:
    """phasecong2's normalised frequency range for one axis (odd/even rule), float64."""
    if n % 2:
        return torch.arange(-(n - 1) // 2, (n - 1) // 2 + 1, dtype=torch.float64) / (n - 1)
    return torch.arange(-n // 2, n // 2, dtype=torch.float64) / n


@functools.lru_cache(maxsize=16)
def _filter_bank_cpu(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The log-Gabor bank of ``phasecong2`` for an ``height x width`` image, and noise constants.

    Returns:
        filters: ``(NORIENT, NSCALE, H, W)`` float64, zero frequency at ``[0, 0]``.
        noise_coef: ``(NORIENT,)`` float64 such that the noise threshold of orientation ``o`` is
            ``T_o = noise_coef[o] * sqrt(median(A_1^2))`` (all of phasecong2's Rayleigh
            arithmetic folded into one constant per orientation).
    """
    y = _centred_axis(height)[:, None]
    x = _centred_axis(width)[None, :]
    radius_c = torch.sqrt(x * x + y * y)
    theta = torch.fft.ifftshift(torch.atan2(-y, x).expand(height, width))
    lowpass = torch.fft.ifftshift(1.0 / (1.0 + (radius_c / LOWPASS_CUTOFF) ** (2 * LOWPASS_ORDER)))
    radius = torch.fft.ifftshift(radius_c).clone()
    radius[0, 0] = 1.0
    sintheta, costheta = torch.sin(theta), torch.cos(theta)

    log_gabor = []
    for s in range(NSCALE):
        fo = 1.0 / (MIN_WAVELENGTH * MULT**s)
        lg = torch.exp(-(torch.log(radius / fo) ** 2) / (2 * math.log(SIGMA_ONF) ** 2)) * lowpass
        lg[0, 0] = 0.0
        log_gabor.append(lg)

    theta_sigma = math.pi / NORIENT / D_THETA_ON_SIGMA
    filters = torch.empty(NORIENT, NSCALE, height, width, dtype=torch.float64)
    noise_coef = torch.empty(NORIENT, dtype=torch.float64)
    # T = (tau sqrt(pi/2) + k sqrt(2 - pi/2) tau) / 1.7 with tau = sqrt(noisePower * S),
    # noisePower = median / ln(2) / EM_n and S = sum(EstSumAn2) + 2 sum(EstSumAiAj).
    rayleigh = (math.sqrt(math.pi / 2) + K_NOISE * math.sqrt(2 - math.pi / 2)) / 1.7
    for o in range(NORIENT):
        angl = o * math.pi / NORIENT
        ds = sintheta * math.cos(angl) - costheta * math.sin(angl)
        dc = costheta * math.cos(angl) + sintheta * math.sin(angl)
        dtheta = torch.abs(torch.atan2(ds, dc))
        spread = torch.exp(-(dtheta**2) / (2 * theta_sigma**2))
        for s in range(NSCALE):
            filters[o, s] = log_gabor[s] * spread
        em_n = (filters[o, 0] ** 2).sum()
        ifft_filt = torch.fft.ifft2(filters[o]).real * math.sqrt(height * width)
        # sum(An2) + 2 sum(AiAj) = sum over pixels of (sum over scales)^2
        est = (ifft_filt.sum(0) ** 2).sum()
        noise_coef[o] = rayleigh * torch.sqrt(est / (math.log(2.0) * em_n))
    return filters, noise_coef


@functools.lru_cache(maxsize=16)
def _half_plane_bank_cpu(
    height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The bank split for real FFTs: ``ifft2(X G) = irfft2(X_h Ge_h) + i irfft2(X_h (-i Go)_h)``.

    ``Ge = (G(k) + G(-k)) / 2`` and ``Go = (G(k) - G(-k)) / 2`` are the parts of each (real)
    filter that are even and odd under ``k -> -k``; for a real image the even part gives the real
    response ``E`` and the odd part the imaginary response ``O`` of phasecong2's complex
    ``ifft2(imagefft .* filter)``, each as a contiguous real array from a half-size inverse FFT.

    Returns ``(even (NORIENT, NSCALE, H, W//2+1) complex128, odd_times_minus_i (same),
    noise_coef (NORIENT,))``.
    """
    filters, noise_coef = _filter_bank_cpu(height, width)
    mirrored = torch.roll(filters.flip(-2, -1), shifts=(1, 1), dims=(-2, -1))  # G(-k mod size)
    half = width // 2 + 1
    even = ((filters + mirrored) / 2)[..., :half]
    odd = ((filters - mirrored) / 2)[..., :half]
    return (
        torch.complex(even, torch.zeros_like(even)),
        torch.complex(torch.zeros_like(odd), -odd),
        noise_coef,
    )


_DEVICE_BANKS: dict = {}


def _bank(height: int, width: int, device: torch.device, dtype: torch.dtype):
    key = (height, width, str(device), dtype)
    if key not in _DEVICE_BANKS:
        if len(_DEVICE_BANKS) >= 8:
            _DEVICE_BANKS.clear()
        cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        even, odd, coef = _half_plane_bank_cpu(height, width)
        _DEVICE_BANKS[key] = (
            even.to(device=device, dtype=cdtype),
            odd.to(device=device, dtype=cdtype),
            coef.to(device=device, dtype=dtype),
        )
    return _DEVICE_BANKS[key]


def _kth_smallest_pair_mean(values: torch.Tensor) -> torch.Tensor:
    """MATLAB ``median(values .^ 2)`` along the last dim for non-negative ``values``.

    MATLAB averages the two middle values for an even count (``torch.median`` would return the
    lower one). Squaring is monotone on non-negative numbers, so order statistics are taken on
    ``values`` and squared afterwards.
    """
    n = values.shape[-1]
    lower = torch.median(values, dim=-1).values  # the lower middle value for an even count
    if n % 2:
        return lower * lower
    # The upper middle value is ``lower`` itself if it is repeated across the middle, else the
    # smallest value above it (cheaper than a second selection).
    above = values > lower[:, None]
    tied = (n - above.sum(-1)) >= n // 2 + 1
    upper = torch.where(tied, lower, torch.where(above, values, torch.inf).amin(-1))
    return (lower * lower + upper * upper) / 2


def _phase_congruency(images: torch.Tensor) -> torch.Tensor:
    """phasecong2's ``ResultPC`` for a batch ``(B, H, W)`` of images in 0..255."""
    b, h, w = images.shape
    even_bank, odd_bank, noise_coef = _bank(h, w, images.device, images.dtype)
    chunk = max(1, _CHUNK_PIXELS // (h * w))
    out = []
    for start in range(0, b, chunk):
        spectrum = torch.fft.rfft2(images[start : start + chunk])[:, None]  # (b, 1, H, W//2+1)
        energy_all = None
        an_all = None
        for o in range(NORIENT):
            even = torch.fft.irfft2(spectrum * even_bank[o], s=(h, w))  # (b, S, H, W) E_s
            odd = torch.fft.irfft2(spectrum * odd_bank[o], s=(h, w))  # O_s
            an = torch.hypot(even, odd)  # A_s
            sum_e, sum_o = even.sum(1, keepdim=True), odd.sum(1, keepdim=True)
            norm = torch.hypot(sum_e, sum_o)
            x_energy = norm + EPSILON
            mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
            # sum_s (E_s mE + O_s mO) = (sum E) mE + (sum O) mO = norm^2 / (norm + eps)
            if even.requires_grad:
                cross = (even * mean_o - odd * mean_e).abs().sum(1)
            else:  # in place: saves two (b, S, H, W) temporaries
                cross = even.mul_(mean_o).sub_(odd.mul_(mean_e)).abs_().sum(1)
            energy = (norm * norm / x_energy)[:, 0] - cross
            median_e2n = _kth_smallest_pair_mean(an[:, 0].flatten(1))
            threshold = noise_coef[o] * torch.sqrt(median_e2n)
            energy = torch.clamp_min(energy - threshold[:, None, None], 0.0)
            an_sum = an.sum(1)
            energy_all = energy if energy_all is None else energy_all + energy
            an_all = an_sum if an_all is None else an_all + an_sum
        assert an_all is not None and energy_all is not None  # there is at least one orientation
        pc = torch.where(an_all > 0, energy_all / torch.where(an_all > 0, an_all, 1.0), 0.0)
        out.append(pc)
    return torch.cat(out)


def _gradient_magnitude(images: torch.Tensor) -> torch.Tensor:
    """``sqrt(conv2(Y, dx, 'same')^2 + conv2(Y, dy, 'same')^2)`` with FeatureSIM's Scharr pair."""
    dx = torch.tensor([[3.0, 0.0, -3.0], [10.0, 0.0, -10.0], [3.0, 0.0, -3.0]]) / 16
    # conv2 is a true convolution: flip the kernels for conv2d (a correlation).
    kernels = torch.stack([dx.flip(0, 1), dx.t().flip(0, 1)])[:, None]
    kernels = kernels.to(device=images.device, dtype=images.dtype)
    grads = F.conv2d(images[:, None], kernels, padding=1)
    return torch.sqrt(grads[:, 0] ** 2 + grads[:, 1] ** 2)


def _check_size(h: int, w: int) -> None:
    if h < 2 or w < 2:
        raise ValueError(
            "prediction and target are too small for FSIM's phase-congruency filter bank: "
            f"need at least 2 x 2 pixels (after downsampling), got {h} x {w}"
        )


def _prepare(prediction, target, data_range, downsample):
    data_range = check_data_range(data_range)
    check_bool("downsample", downsample)
    check_pair(prediction, target, data_range=data_range)
    _check_size(*prediction.shape[-2:])
    out_dtype = torch.promote_types(prediction.dtype, target.dtype)
    if out_dtype in (torch.float16, torch.bfloat16):
        out_dtype = torch.float32
    scale = 255.0 / data_range
    compute = _COMPUTE_DTYPE if _COMPUTE_DTYPE is not None else out_dtype
    ref = target.to(compute) * scale
    dis = prediction.to(compute) * scale
    factor = auto_factor(*prediction.shape[-2:]) if downsample else 1
    return ref, dis, factor, out_dtype


def _similarity(a: torch.Tensor, b: torch.Tensor, c: float) -> torch.Tensor:
    return (2 * a * b + c) / (a * a + b * b + c)


def _feature_maps(ref_y: torch.Tensor, dis_y: torch.Tensor):
    """``S_G * S_PC`` and ``PC_m`` for batches ``(B, H, W)`` of reference/distorted grey images."""
    b = ref_y.shape[0]
    pc = _phase_congruency(torch.cat([ref_y, dis_y]))
    grad = _gradient_magnitude(torch.cat([ref_y, dis_y]))
    pc1, pc2 = pc[:b], pc[b:]
    g1, g2 = grad[:b], grad[b:]
    sim = _similarity(g1, g2, T2) * _similarity(pc1, pc2, T1)
    return sim, torch.maximum(pc1, pc2)


def _to_yiq(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    return torch.stack([cr * r + cg * g + cb * b for cr, cg, cb in _YIQ], dim=1)


def _chroma_term(i1, i2, q1, q2) -> torch.Tensor:
    """``real((S_I .* S_Q) .^ lambda)`` for real products (principal branch)."""
    p = _similarity(i1, i2, T3) * _similarity(q1, q2, T4)
    mag = torch.abs(p) ** LAMBDA
    return torch.where(p < 0, mag * math.cos(math.pi * LAMBDA), mag)


def fsim(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    downsample: bool = True,
) -> torch.Tensor:
    r"""Grey-level FSIM of each channel separately, ``(N, C, H, W) -> (N, C)``.

    ``FSIM = sum(S_G S_PC PC_m) / sum(PC_m)`` (Zhang et al. 2011, eq. 8), computed exactly like
    the MATLAB ``FeatureSIM.m`` for a single-channel ("grey") input, once per channel; the paper's
    Table 1 reports the mean over R, G and B. See the module docstring for every equation and the
    differences from piq.

    Args:
        prediction: distorted image (MATLAB's ``imageDis``), ``(N, C, H, W)`` in
            ``[0, data_range]``.
        target: reference image (MATLAB's ``imageRef``), same shape.
        data_range: the value of white; inputs are scaled by ``255 / data_range`` because the
            constants ``T1 = 0.85``, ``T2 = 160`` are for 0..255.
        downsample: apply FeatureSIM.m's automatic ``F = max(1, round(min(H, W) / 256))``
            averaging (``conv2 'same'``, zero padding) and ``1:F:end`` subsampling (default, as
            in MATLAB). ``False`` scores the full-resolution image.

    Returns:
        ``(N, C)`` tensor in the input's dtype (float32 for half inputs), in ``(0, 1]`` for
        natural images, exactly 1 for identical non-constant inputs.

        **NaN for flat images, on purpose.** Where neither image has any phase congruency (both
        channels constant, e.g. a flat grey image scored against itself), ``sum(PC_m) = 0`` and
        FSIM is ``0 / 0``: NaN is returned, as the authors' ``FeatureSIM.m`` does, rather than
        an invented value (1 would claim perfect feature similarity of images without features;
        0 the opposite). If only one image is flat, FSIM is finite. ``imgloss.metrics.evaluate``
        and ``MetricTable.add`` (hence ``evaluate_dataset``) warn with a ``MetricNaNWarning``
        naming the image and the measure; a dataset mean over such an image stays NaN.
    """
    ref, dis, factor, out_dtype = _prepare(prediction, target, data_range, downsample)
    n, c = ref.shape[:2]
    ref = conv2_same_average_downsample(ref, factor)
    dis = conv2_same_average_downsample(dis, factor)
    h2, w2 = ref.shape[-2:]
    sim, pcm = _feature_maps(ref.reshape(n * c, h2, w2), dis.reshape(n * c, h2, w2))
    value = (sim * pcm).sum((-2, -1)) / pcm.sum((-2, -1))
    return value.reshape(n, c).to(out_dtype)


def fsimc(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    downsample: bool = True,
) -> torch.Tensor:
    r"""Colour FSIMc of RGB images, ``(N, 3, H, W) -> (N,)``.

    ``FSIMc = sum(S_G S_PC Re[(S_I S_Q)^lambda] PC_m) / sum(PC_m)`` (eq. 10) with ``PC`` and ``G``
    on the YIQ luminance, ``S_I``, ``S_Q`` with ``T3 = T4 = 200`` and ``lambda = 0.03``, exactly
    as MATLAB's ``FeatureSIM.m`` second output. For grey images (``R = G = B``) ``I = Q = 0`` and
    FSIMc equals the grey-level FSIM.

    Args:
        prediction: distorted RGB image (``imageDis``), ``(N, 3, H, W)`` in ``[0, data_range]``.
        target: reference RGB image (``imageRef``), same shape.
        data_range: the value of white (inputs are scaled by ``255 / data_range``).
        downsample: FeatureSIM.m's automatic downsampling of Y, I and Q (see :func:`fsim`).

    Returns:
        ``(N,)`` tensor in the input's dtype (float32 for half inputs); NaN where the luminance
        ``Y`` of both images is constant (``sum(PC_m) = 0``), as in MATLAB and as :func:`fsim`.
    """
    if isinstance(prediction, torch.Tensor) and prediction.dim() == 4 and prediction.shape[1] != 3:
        raise ValueError(
            f"prediction must be an RGB image with 3 channels for FSIMc, got shape "
            f"{tuple(prediction.shape)} ({prediction.shape[1]} channel(s))"
        )
    ref, dis, factor, out_dtype = _prepare(prediction, target, data_range, downsample)
    ref_yiq = conv2_same_average_downsample(_to_yiq(ref), factor)
    dis_yiq = conv2_same_average_downsample(_to_yiq(dis), factor)
    sim, pcm = _feature_maps(ref_yiq[:, 0], dis_yiq[:, 0])
    chroma = _chroma_term(ref_yiq[:, 1], dis_yiq[:, 1], ref_yiq[:, 2], dis_yiq[:, 2])
    value = (sim * chroma * pcm).sum((-2, -1)) / pcm.sum((-2, -1))
    return value.to(out_dtype)


def fsim_luminance(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    downsample: bool = True,
) -> torch.Tensor:
    r"""FSIM of the YIQ luminance of RGB images, ``(N, 3, H, W) -> (N,)``: MATLAB
    ``FeatureSIM.m``'s *first* output for a colour input.

    It is :func:`fsimc` without the chroma factor ``Re[(S_I S_Q)^lambda]``. Since
    ``|S_I|, |S_Q| <= 1`` (``(2ab + T) / (a^2 + b^2 + T)`` lies in ``[-1, 1]``), that factor is at
    most 1 and ``FSIMc <= fsim_luminance`` for every pair of images. The paper's Table 1 has FSIMc
    below FSIM in every column, as this pair would; its caption says FSIM is the mean over R, G
    and B, which is what our ``fsim`` column reports (:func:`fsim`) and which can lie below
    FSIMc: noise independent per channel is partly averaged out in the luminance.
    """
    if isinstance(prediction, torch.Tensor) and prediction.dim() == 4 and prediction.shape[1] != 3:
        raise ValueError(
            f"prediction must be an RGB image with 3 channels, got shape {tuple(prediction.shape)}"
        )
    ref, dis, factor, out_dtype = _prepare(prediction, target, data_range, downsample)
    ref_y = conv2_same_average_downsample(_to_yiq(ref)[:, :1], factor)
    dis_y = conv2_same_average_downsample(_to_yiq(dis)[:, :1], factor)
    sim, pcm = _feature_maps(ref_y[:, 0], dis_y[:, 0])
    return ((sim * pcm).sum((-2, -1)) / pcm.sum((-2, -1))).to(out_dtype)
