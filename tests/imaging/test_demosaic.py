"""DLMMSE demosaicking (imgloss.imaging.demosaic): exactness, Bayer layouts, the reference loops of
Getreuer's ``dmzhangwu.c``, input validation, and accuracy on Kodak24 / McMaster.

CPSNR convention used throughout: the output is rounded to 8 bits, and the MSE is taken over the
three channels together, excluding a 10-pixel border (``_BORDER``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from imgloss.imaging.degradations import PATTERNS, bayer_masks, bayer_mosaic, bilinear_demosaic
from imgloss.imaging.demosaic import METHODS, demosaic, dlmmse

from ..conftest import REAL_IMAGES, to_tensor

_BORDER = 10
# Pixels within this distance of the border see the image's mirror extension (filters of radius
# 2 and 4, the 9-sample window, then two neighbour averages): linear ramps are exact inside it.
_RAMP_MARGIN = 12


def _ramp(h: int, w: int, dtype=torch.float64) -> torch.Tensor:
    """Each channel a different affine function of (y, x), inside [0.1, 0.9]."""
    y = torch.arange(h, dtype=dtype)[:, None] / h
    x = torch.arange(w, dtype=dtype)[None, :] / w
    planes = [0.2 + 0.3 * x + 0.2 * y, 0.5 - 0.2 * x + 0.3 * y, 0.3 + 0.25 * x - 0.15 * y]
    return torch.stack(planes)[None]


def _real(dtype=torch.float64, size=(64, 80)) -> torch.Tensor:
    _, img = REAL_IMAGES[0]
    return to_tensor(img[100 : 100 + size[0], 120 : 120 + size[1]], dtype)


# ---------------------------------------------------------------------------------------------
# exactness


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("mean", ["paper", "zhangcode"])
def test_constant_colour_is_reproduced(pattern, mean):
    rgb = torch.tensor([0.7, 0.4, 0.2], dtype=torch.float64).view(1, 3, 1, 1).expand(2, 3, 30, 28)
    out = dlmmse(bayer_mosaic(rgb, pattern), pattern, mean=mean)
    m = _RAMP_MARGIN
    torch.testing.assert_close(out[..., m:-m, m:-m], rgb[..., m:-m, m:-m], atol=1e-12, rtol=0)
    if mean == "zhangcode":  # the local mean is the smoothed signal itself: exact everywhere
        torch.testing.assert_close(out, rgb, atol=1e-12, rtol=0)
    else:  # the window mean counts samples outside the image as zeros (as dmzhangwu.c does)
        assert 1e-7 < (out - rgb).abs().max() < 1e-4


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("mean", ["paper", "zhangcode"])
def test_linear_ramps_are_reproduced_away_from_borders(pattern, mean):
    rgb = _ramp(48, 56)
    out = dlmmse(bayer_mosaic(rgb, pattern), pattern, mean=mean)
    m = _RAMP_MARGIN
    torch.testing.assert_close(out[..., m:-m, m:-m], rgb[..., m:-m, m:-m], atol=1e-12, rtol=0)
    # bilinear demosaicking is not exact on ramps with differing colour slopes: the test bites
    assert (bilinear_demosaic(bayer_mosaic(rgb, pattern), pattern) - rgb).abs().max() > 1e-3


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("clip", [True, False])
def test_mosaic_samples_are_kept_bit_for_bit(dtype, pattern, clip):
    mosaic = torch.rand(2, 1, 17, 22, generator=torch.Generator().manual_seed(1), dtype=dtype)
    out = dlmmse(mosaic, pattern, clip=clip)
    assert out.shape == (2, 3, 17, 22) and out.dtype == dtype
    masks = bayer_masks(pattern, 17, 22, dtype=torch.bool).expand(2, 3, 17, 22)
    assert torch.equal(out[masks], mosaic.expand(2, 3, 17, 22)[masks])
    if clip:
        assert out.min() >= 0 and out.max() <= 1
    else:  # random mosaics overshoot: clipping is what keeps them in range
        assert out.min() < 0 or out.max() > 1


# ---------------------------------------------------------------------------------------------
# Bayer layouts


_FLIPS = {  # flipping an RGGB mosaic (even H and W) gives these layouts
    (-1,): "GRBG",
    (-2,): "GBRG",
    (-2, -1): "BGGR",
}


@pytest.mark.parametrize("dims", list(_FLIPS))
@pytest.mark.parametrize("mean", ["paper", "zhangcode"])
def test_flipped_layouts_give_the_flipped_result(dims, mean):
    # The filters are symmetric and the borders mirror-symmetric, so demosaicking commutes with
    # flips exactly; this ties the four layouts to each other over the whole image.
    mosaic = bayer_mosaic(_real(), "RGGB")
    ref = dlmmse(mosaic, "RGGB", mean=mean)
    out = dlmmse(mosaic.flip(dims), _FLIPS[dims], mean=mean)
    torch.testing.assert_close(out, ref.flip(dims), atol=1e-12, rtol=0)


def test_red_blue_swap():
    # The RGGB mosaic of (R, G, B) is the BGGR mosaic of (B, G, R).
    mosaic = bayer_mosaic(_real(), "RGGB")
    torch.testing.assert_close(
        dlmmse(mosaic, "BGGR"), dlmmse(mosaic, "RGGB")[:, [2, 1, 0]], atol=1e-12, rtol=0
    )


@pytest.mark.parametrize("dy, dx, pattern", [(0, 1, "GRBG"), (1, 0, "GBRG"), (1, 1, "BGGR")])
def test_shifted_layout_equals_shifted_result_inside(dy, dx, pattern):
    rgb = _real()
    ref = dlmmse(bayer_mosaic(rgb, "RGGB"), "RGGB")[..., dy:, dx:]
    out = dlmmse(bayer_mosaic(rgb[..., dy:, dx:], pattern), pattern)
    m = _RAMP_MARGIN
    torch.testing.assert_close(out[..., m:-m, m:-m], ref[..., m:-m, m:-m], atol=1e-12, rtol=0)


# ---------------------------------------------------------------------------------------------
# the reference loops


def _reference_dlmmse(f: np.ndarray, pattern: str, zhangcode: bool) -> np.ndarray:
    """Getreuer's ``ZhangWuDemosaic`` written as its per-pixel loops (float64, 2-D mosaic).

    An independent transcription of the documented algorithm: explicit mirror indices for the
    convolutions, truncated window loops with fixed 1/9 and 1/8 normalisation, and the explicit
    border cases of the diagonal and axial neighbour averages.
    """
    h, w = f.shape
    masks = bayer_masks(pattern, h, w, dtype=torch.float64)[0].numpy().astype(bool)
    red, green = masks[0], masks[1]
    interp = [-0.25, 0.5, 0.5, 0.5, -0.25]
    smooth = [v / 128 for v in (4, 9, 15, 23, 26, 23, 15, 9, 4)]
    eps = 0.1 / 255**2

    def mirror(i, n):
        while i < 0 or i >= n:
            i = -i if i < 0 else 2 * (n - 1) - i
        return i

    def conv(a, taps, axis):
        out = np.zeros_like(a)
        r = len(taps) // 2
        for y in range(h):
            for x in range(w):
                acc = 0.0
                for k, t in enumerate(taps):
                    if axis == 1:
                        acc += t * a[y, mirror(x + k - r, w)]
                    else:
                        acc += t * a[mirror(y + k - r, h), x]
                out[y, x] = acc
        return out

    diff, smoothed = [], []
    for axis in (1, 0):
        filt = conv(f, interp, axis)
        d = np.where(green, f - filt, filt - f)
        diff.append(d)
        smoothed.append(conv(d, smooth, axis))
    g = f.copy()
    for y in range(h):
        for x in range(w):
            if green[y, x]:
                continue
            est, var = [], []
            for k, axis in enumerate((1, 0)):  # horizontal, then vertical
                s, d = smoothed[k], diff[k]
                pos, n = (x, w) if axis == 1 else (y, h)
                mom1 = mom2 = res = 0.0
                for m in range(max(-4, -pos), min(4, n - 1 - pos) + 1):
                    yy, xx = (y, x + m) if axis == 1 else (y + m, x)
                    mom1 += s[yy, xx]
                    mom2 += s[yy, xx] ** 2
                    res += (s[yy, xx] - d[yy, xx]) ** 2
                mu = s[y, x] if zhangcode else mom1 / 9
                p = max(mom2 / 8 - mom1 * mom1 / 72, 0.0)
                r = res / 9 + eps
                est.append(mu + p / (p + r) * (d[y, x] - mu))
                var.append(p - p / (p + r) * p + eps)
            g[y, x] = f[y, x] + (var[1] * est[0] + var[0] * est[1]) / (var[0] + var[1])

    def average(a, y, x, offsets):
        vals = [a[mirror(y + dy, h), mirror(x + dx, w)] for dy, dx in offsets]
        return sum(vals) / 4

    diagonal = [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    axial = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    d_r = np.where(red, g - f, 0.0)
    d_b = np.where(masks[2], g - f, 0.0)
    for y in range(h):
        for x in range(w):
            if red[y, x]:
                d_b[y, x] = average(d_b, y, x, diagonal)
            elif masks[2][y, x]:
                d_r[y, x] = average(d_r, y, x, diagonal)
    for y in range(h):
        for x in range(w):
            if green[y, x]:
                d_r[y, x] = average(d_r, y, x, axial)
                d_b[y, x] = average(d_b, y, x, axial)
    return np.stack([g - d_r, g, g - d_b])


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("mean", ["paper", "zhangcode"])
def test_matches_the_reference_loops_including_borders(pattern, mean):
    rgb = _real(size=(13, 16))
    mosaic = bayer_mosaic(rgb, pattern)
    ref = _reference_dlmmse(mosaic[0, 0].numpy(), pattern, mean == "zhangcode")
    out = dlmmse(mosaic, pattern, mean=mean, clip=False)[0].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-12, rtol=0)


def test_odd_sizes_and_minimum_size():
    for h, w in [(5, 5), (5, 9), (7, 6)]:
        rgb = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h * w))
        out = dlmmse(bayer_mosaic(rgb, "GBRG"), "GBRG")
        assert out.shape == (1, 3, h, w) and torch.isfinite(out).all()


# ---------------------------------------------------------------------------------------------
# batching, dtypes, devices, validation


def test_batch_equals_one_by_one():
    rgb = torch.cat([_real(), _real().flip(-1), _real().flip(-2)])
    mosaic = bayer_mosaic(rgb, "GRBG")
    batch = dlmmse(mosaic, "GRBG")
    for i in range(3):
        torch.testing.assert_close(
            batch[i : i + 1], dlmmse(mosaic[i : i + 1], "GRBG"), atol=1e-12, rtol=0
        )


def test_float32_matches_float64():
    mosaic = bayer_mosaic(_real(size=(96, 128)), "RGGB")
    out64 = dlmmse(mosaic)
    out32 = dlmmse(mosaic.float())
    assert out32.dtype == torch.float32
    # float32 rounding of the window variances (as in the C code, which works in float)
    assert (out32.double() - out64).abs().max() < 2e-3
    assert (out32.double() - out64).abs().mean() < 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    mosaic = bayer_mosaic(_real(), "RGGB")
    torch.testing.assert_close(dlmmse(mosaic.cuda()).cpu(), dlmmse(mosaic), atol=1e-10, rtol=0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"mosaic": np.zeros((1, 1, 8, 8))}, TypeError, "mosaic must be a torch.Tensor"),
        ({"mosaic": torch.zeros(1, 8, 8)}, ValueError, r"mosaic must have shape \(N, 1, H, W\)"),
        ({"mosaic": torch.zeros(1, 3, 8, 8)}, ValueError, r"mosaic must have shape"),
        ({"mosaic": torch.zeros(1, 1, 8, 8, dtype=torch.uint8)}, TypeError, "floating-point"),
        ({"mosaic": torch.zeros(1, 1, 4, 8)}, ValueError, "at least 5x5"),
        ({"mosaic": torch.zeros(1, 1, 8, 3)}, ValueError, "at least 5x5"),
        ({"pattern": "RGBG"}, ValueError, "pattern must be one of"),
        ({"pattern": "rggb"}, ValueError, "pattern must be one of"),
        ({"mean": "median"}, ValueError, "mean must be one of"),
    ],
)
def test_bad_inputs(kwargs, error, match):
    args = {"mosaic": torch.zeros(1, 1, 8, 8), "pattern": "RGGB"} | kwargs
    mosaic, pattern = args.pop("mosaic"), args.pop("pattern")
    with pytest.raises(error, match=match):
        dlmmse(mosaic, pattern, **args)


def test_demosaic_validates_method_and_input():
    with pytest.raises(ValueError, match="method must be one of"):
        demosaic(torch.zeros(1, 1, 8, 8), "ahd")
    with pytest.raises(ValueError, match="pattern must be one of"):
        demosaic(torch.zeros(1, 1, 8, 8), "bilinear", "XGGB")
    with pytest.raises(ValueError, match="mosaic must have shape"):
        demosaic(torch.zeros(1, 3, 8, 8), "bilinear")


# ---------------------------------------------------------------------------------------------
# the dispatcher and colour-demosaicing


def test_demosaic_dispatch_bilinear_and_dlmmse():
    mosaic = bayer_mosaic(_real(), "BGGR")
    assert METHODS == ("bilinear", "dlmmse", "malvar2004", "menon2007")
    torch.testing.assert_close(
        demosaic(mosaic, "bilinear", "BGGR"), bilinear_demosaic(mosaic, "BGGR"), atol=0, rtol=0
    )
    assert torch.equal(demosaic(mosaic, "dlmmse", "BGGR"), dlmmse(mosaic, "BGGR"))
    assert torch.equal(demosaic(mosaic, pattern="BGGR"), dlmmse(mosaic, "BGGR"))


def test_missing_colour_demosaicing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "colour_demosaicing", None)  # makes the import fail
    with pytest.raises(ImportError, match="pip install colour-demosaicing"):
        demosaic(torch.zeros(1, 1, 8, 8), "menon2007")


@pytest.mark.parametrize("method", ["malvar2004", "menon2007"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_colour_demosaicing_methods(method, pattern):
    cd = pytest.importorskip("colour_demosaicing")
    fn = {
        "malvar2004": cd.demosaicing_CFA_Bayer_Malvar2004,
        "menon2007": cd.demosaicing_CFA_Bayer_Menon2007,
    }[method]
    rgb = torch.cat([_real(), _real().flip(-1)]).float()
    mosaic = bayer_mosaic(rgb, pattern)
    out = demosaic(mosaic, method, pattern, clip=False)
    assert out.shape == rgb.shape and out.dtype == torch.float32
    for i in range(2):
        ref = np.asarray(fn(mosaic[i, 0].double().numpy(), pattern=pattern)).transpose(2, 0, 1)
        np.testing.assert_allclose(out[i].double().numpy(), ref, atol=1e-6, rtol=0)
    clipped = demosaic(mosaic, method, pattern)
    assert clipped.min() >= 0 and clipped.max() <= 1
    masks = bayer_masks(pattern, *rgb.shape[-2:], dtype=torch.bool).expand_as(rgb)
    assert torch.equal(clipped[masks], mosaic.expand_as(rgb)[masks])


# ---------------------------------------------------------------------------------------------
# accuracy on Kodak24 and McMaster (noise-free, RGGB)


def _data_root() -> Path | None:
    root = os.environ.get("IMGLOSS_DATA_ROOT")
    return Path(root) if root and (Path(root) / "Kodak24").is_dir() else None


def _cpsnr(out: torch.Tensor, ref_u8: np.ndarray, border: int = _BORDER) -> float:
    """Colour PSNR of an 8-bit-rounded result over the 3 channels, without ``border`` pixels."""
    out8 = (out[0].permute(1, 2, 0).clamp(0, 1) * 255).round().numpy()
    b = border
    err = out8[b:-b, b:-b] - ref_u8[b:-b, b:-b].astype(np.float64)
    return float(10 * np.log10(255.0**2 / np.mean(err**2)))


def _mean_cpsnr(dataset: str, methods) -> dict[str, float]:
    from imgloss.data import load

    scores = {m: [] for m in methods}
    for _, img in load(dataset, root=_data_root()):
        rgb = torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float() / 255
        mosaic = bayer_mosaic(rgb, "RGGB")
        for m in methods:
            scores[m].append(_cpsnr(demosaic(mosaic, m), img))
    return {m: float(np.mean(v)) for m, v in scores.items()}


# Measured with this code (2026-11-27; 8-bit output, 10-pixel border, RGGB, float32; the same
# table is in the docstring of imgloss.imaging.demosaic). They pin the implementation, whose exactness is
# checked above against the reference loops.
_MEASURED = {
    "Kodak24": {"dlmmse": 40.23, "bilinear": 30.24, "malvar2004": 35.78, "menon2007": 39.27},
    "McMaster": {"dlmmse": 34.12, "bilinear": 32.30, "malvar2004": 34.44, "menon2007": 34.20},
}


@pytest.mark.skipif(_data_root() is None, reason="IMGLOSS_DATA_ROOT with Kodak24 not present")
@pytest.mark.parametrize("dataset", ["Kodak24", "McMaster"])
def test_dlmmse_cpsnr_on_dataset(dataset):
    got = _mean_cpsnr(dataset, ["dlmmse"])["dlmmse"]
    assert abs(got - _MEASURED[dataset]["dlmmse"]) < 0.05, (dataset, got)


@pytest.mark.slow
@pytest.mark.skipif(_data_root() is None, reason="IMGLOSS_DATA_ROOT with Kodak24 not present")
@pytest.mark.parametrize("dataset", ["Kodak24", "McMaster"])
def test_dlmmse_against_bilinear_malvar_menon(dataset):
    pytest.importorskip("colour_demosaicing")
    got = _mean_cpsnr(dataset, ["dlmmse", "bilinear", "malvar2004", "menon2007"])
    for method, value in _MEASURED[dataset].items():
        assert abs(got[method] - value) < 0.05, (dataset, method, got[method], value)
    assert got["dlmmse"] > got["bilinear"] + 1.5, got
    assert abs(got["dlmmse"] - got["menon2007"]) < 1.5, got
