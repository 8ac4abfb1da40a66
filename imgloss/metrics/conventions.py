"""Which SSIM? The conventions that make SSIM and MS-SSIM values disagree, as typed records.

Every library computes "SSIM" with the same formula (Wang et al. 2004, eq. 4 of the paper),

    SSIM(p) = (2 mu_x mu_y + C1) (2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 +
    C2)),

``C1 = (K1 L)^2``, ``C2 = (K2 L)^2``, with local moments from a window around ``p``, and then
averages the map. They differ in everything around it: the window and where it is truncated,
the covariance estimate, what happens at the border, the data range ``L`` when none is given,
an automatic downsampling, the channels, and for MS-SSIM the pyramid's pooling and what a
negative contrast-structure term does under a fractional power. One :class:`SSIMConvention`
records all of these for one implementation; :data:`CONVENTIONS` holds them by name, and
``imgloss.metrics.ssim.ssim(..., convention=name)`` computes with them.

The settings were read from the installed sources (scikit-image 0.26, pytorch-msssim 1.0,
torchmetrics 1.9, kornia 0.9) and from the algorithm of Wang's ``ssim.m`` (2009) and
``msssim.m``; ``tests/metrics/test_ssim_conventions.py`` checks each against the library it names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

Border = Literal["valid", "reflect", "zeros"]
Pooling = Literal["symmetric", "zero_pad_first", "floor"]

#: MATLAB ``rgb2gray`` weights (ITU-R BT.601 luma) for ``channels="luminance"``.
LUMA_WEIGHTS: tuple[float, float, float] = (0.298936021293775, 0.587043074451121, 0.114020904255103)
#: Wang et al.'s five MS-SSIM exponents (2003).
PYRAMID_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
#: The paper's five Gaussians of its MS-SSIM (Section 3.3).
PAPER_SIGMAS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class SSIMConvention:
    """Every setting that changes an SSIM or MS-SSIM value, for one implementation.

    SSIM:

    * ``window``: ``"gaussian"`` (``exp(-i^2 / 2 sigma^2)`` sampled on ``win_size`` integer
      taps, normalised) or ``"uniform"`` (a ``win_size x win_size`` box).
    * ``sample_covariance``: variances and covariance times ``NP / (NP - 1)``,
      ``NP = win_size^2`` (scikit-image's default, applied even to a Gaussian window).
    * ``border``: ``"valid"`` averages the map where the window fits (``H - win_size + 1``
      rows); ``"reflect"`` and ``"zeros"`` pad by ``win_size // 2`` (torch's ``reflect``
      mirrors without repeating the edge) and average the full ``H x W`` map.
    * ``data_range``: ``L`` when the caller gives none; ``"from_data"`` is
      ``max(range(x), range(y))`` over the whole batch (torchmetrics).
    * ``auto_downsample``: ``ssim.m``'s ``f = max(1, round(min(H, W) / 256))`` box filter
      ('symmetric') and ``(1:f:end, 1:f:end)`` subsampling first.
    * ``clamp_variance``: variances below zero (float rounding) are set to zero.
    * ``eps``: added to the denominator (kornia).
    * ``channels``: ``"per_channel"`` (one value per channel, averaged by callers) or
      ``"luminance"`` (MATLAB ``rgb2gray`` of RGB input first).

    MS-SSIM:

    * ``ms_variant``: ``"pyramid"`` (Wang 2003: pool by 2 between scales, exponents
      ``ms_weights``, luminance only at the coarsest scale), ``"gaussian"`` (the paper's five
      Gaussians ``ms_sigmas`` on the full-resolution image, exponents 1, luminance at the
      largest sigma) or ``"none"`` (the library has no MS-SSIM).
    * ``ms_pooling``: ``"symmetric"`` (2 x 2 mean, an odd last row averaged with itself:
      MATLAB ``imfilter(..., 'symmetric')``), ``"zero_pad_first"`` (a zero row and column
      before an odd side, counted in the mean) or ``"floor"`` (an odd last row dropped).
    * ``ms_negative``: ``"clamp"`` (``max(v, 0)`` before the fractional power) or ``"nan"``
      (a negative mean cs gives NaN; MATLAB returns a complex number there).
    * ``ms_cs_valid``: the per-scale cs is averaged over the valid region even when SSIM is
      averaged over a padded border (torchmetrics).
    * ``ms_border``: the border of the ``"gaussian"`` variant's maps (``None``: ``border``).
    * ``ms_truncate``: for ``"gaussian"``, the window radius is ``int(ms_truncate * sigma_max
      + 0.5)`` (``"valid"`` border) or ``int(ms_truncate * sigma_max)`` (padded borders, kornia's
      ``int(2 * sigma)``), one size for all sigmas when padded.
    """

    name: str
    reproduces: str
    window: Literal["gaussian", "uniform"] = "gaussian"
    win_size: int = 11
    sigma: float = 1.5
    k1: float = 0.01
    k2: float = 0.03
    sample_covariance: bool = False
    border: Border = "valid"
    data_range: float | Literal["from_data"] = 1.0
    auto_downsample: bool = False
    clamp_variance: bool = False
    eps: float = 0.0
    channels: Literal["per_channel", "luminance"] = "per_channel"
    ms_variant: Literal["pyramid", "gaussian", "none"] = "pyramid"
    ms_weights: tuple[float, ...] = PYRAMID_WEIGHTS
    ms_sigmas: tuple[float, ...] = PAPER_SIGMAS
    ms_truncate: float = 3.5
    ms_pooling: Pooling = "symmetric"
    ms_negative: Literal["clamp", "nan"] = "clamp"
    ms_cs_valid: bool = False
    ms_border: Border | None = None
    ms_data_range: float | Literal["from_data"] | None = None
    notes: tuple[str, ...] = ()

    def with_(self, **changes: object) -> SSIMConvention:
        """A copy with some settings changed (``dataclasses.replace``), named after them."""
        label = ", ".join(f"{k}={v!r}" for k, v in changes.items() if k != "name")
        changes.setdefault("name", f"{self.name} ({label})")
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def ms_default_range(self) -> float | Literal["from_data"]:
        """MS-SSIM's ``L`` when the caller gives none (``ms_data_range``, else ``data_range``)."""
        return self.data_range if self.ms_data_range is None else self.ms_data_range


IMGLOSS = SSIMConvention(
    name="imgloss",
    reproduces="imgloss's default (Table 1): Wang et al. 2004 / 2003 without automatic "
    "downsampling, data range 1",
    notes=(
        "SSIM = scikit-image with gaussian_weights=True, sigma=1.5, use_sample_covariance=False",
        "MS-SSIM odd sizes follow msssim.m; a negative mean cs contributes 0",
    ),
)

MATLAB = IMGLOSS.with_(
    name="matlab",
    reproduces="Wang's ssim.m (2009, automatic downsampling) and msssim.m (2003)",
    data_range=255.0,
    auto_downsample=True,
    ms_negative="nan",
    notes=(
        (
            "ssim.m: fspecial('gaussian', 11, 1.5), K = [0.01 0.03], L = 255, filter2 'valid', "
            "mean2 of the map, after imfilter(ones(f)/f^2, 'symmetric') and (1:f:end, 1:f:end)"
        ),
        (
            "msssim.m: the same window at five scales, 2 x 2 'symmetric' mean and 1:2:end between "
            "scales, no automatic downsampling; prod(mcs(1:4).^w(1:4)) * mssim(5)^w(5)"
        ),
        "both take one grey image; Table 1 applies them to R, G and B and averages",
        "a negative mean cs is NaN here; MATLAB returns a complex number",
    ),
)
# msssim.m never downsamples automatically: the flag is read by SSIM only.

SKIMAGE = IMGLOSS.with_(
    name="skimage",
    reproduces="scikit-image structural_similarity with its defaults",
    window="uniform",
    win_size=7,
    sample_covariance=True,
    data_range=1.0,
    ms_variant="none",
    notes=(
        "7 x 7 uniform window, covariance x 49/48, statistics cropped by 3 (= 'valid')",
        (
            "data_range is required for float input (255 is taken for uint8, 2 would be taken "
            "from the dtype for floats in older releases); 1.0 here for [0, 1] images"
        ),
        "gaussian_weights=True, sigma=1.5, use_sample_covariance=False gives imgloss's SSIM",
        "no MS-SSIM",
    ),
)

PYTORCH_MSSSIM = IMGLOSS.with_(
    name="pytorch_msssim",
    reproduces="pytorch-msssim 1.0 ssim / ms_ssim with their defaults",
    data_range=255.0,
    ms_pooling="zero_pad_first",
    notes=(
        "SSIM as imgloss's, but data_range defaults to 255",
        (
            "MS-SSIM: avg_pool2d(padding=side % 2) puts a zero row/column before an odd side and "
            "counts it in the mean; relu on cs and on the last SSIM; needs a side > 160"
        ),
    ),
)

TORCHMETRICS = IMGLOSS.with_(
    name="torchmetrics",
    reproduces="torchmetrics 1.9 structural_similarity_index_measure / "
    "multiscale_structural_similarity_index_measure with their defaults",
    border="reflect",
    data_range="from_data",
    clamp_variance=True,
    ms_pooling="floor",
    ms_cs_valid=True,
    notes=(
        "images reflect-padded by 5: SSIM is the mean of the full H x W map, border included",
        (
            "data_range=None means max(x.max() - x.min(), y.max() - y.min()) over the batch "
            "(recomputed at each MS-SSIM scale)"
        ),
        "variances clamped at 0",
        (
            "MS-SSIM: the cs of each scale is averaged over the valid region but the last scale's "
            "SSIM over the padded one; odd rows dropped by avg_pool2d; normalize='relu'; needs "
            "side // 16 > 10"
        ),
    ),
)

KORNIA = IMGLOSS.with_(
    name="kornia",
    reproduces="kornia 0.9 metrics.ssim(window_size=11) averaged, and the MS-SSIM term of "
    "losses.MS_SSIMLoss",
    border="reflect",
    eps=1e-12,
    ms_variant="gaussian",
    ms_truncate=2.0,
    ms_border="zeros",
    notes=(
        (
            "SSIM map 'same' with reflect padding (like torchmetrics), max_val 1.0, eps 1e-12 in the "
            "denominator, no variance clamp"
        ),
        (
            "MS-SSIM (MS_SSIMLoss with alpha=1, compensation=1): the paper's five Gaussians on one "
            "2 int(2 sigma_max) + 1 = 33-tap window, zero padding, mean of the full map"
        ),
    ),
)

PAPER = IMGLOSS.with_(
    name="paper",
    reproduces="the paper's definitions (Section 3): eq. 4 with a Gaussian window, and its "
    "MS-SSIM of five Gaussians at full resolution",
    ms_variant="gaussian",
    notes=(
        "SSIM: sigma_G = 1.5 sliding window (the paper does not say which code Table 1 used)",
        (
            "MS-SSIM: l at sigma = 8 times the product of cs at sigma = 0.5, 1, 2, 4, 8, exponents "
            "1, windows truncated at 3.5 sigma, valid region (imgloss.losses.ms_ssim "
            "variant='gaussian')"
        ),
    ),
)

#: The conventions by name.
CONVENTIONS: dict[str, SSIMConvention] = {
    c.name: c for c in (IMGLOSS, MATLAB, SKIMAGE, PYTORCH_MSSSIM, TORCHMETRICS, KORNIA, PAPER)
}


def get_convention(convention: str | SSIMConvention) -> SSIMConvention:
    """The record for ``convention`` (a name of :data:`CONVENTIONS` or a record itself)."""
    if isinstance(convention, SSIMConvention):
        return convention
    if not isinstance(convention, str) or convention not in CONVENTIONS:
        raise ValueError(
            f"unknown SSIM convention {convention!r}; choose from {', '.join(CONVENTIONS)}"
        )
    return CONVENTIONS[convention]
