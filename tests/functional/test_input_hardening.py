"""Input hardening: options fail where they are given, values far outside ``data_range`` are
never silent, 16-bit images keep their depth, and degenerate images are handled on purpose."""

from __future__ import annotations

import json
import math
import re
import struct
import warnings
import zlib

import numpy as np
import pytest
import torch

import imgloss.losses as L
from imgloss import metrics as M
from imgloss.cli import commands as cli
from imgloss.functional import validation as V
from imgloss.losses import DataRangeWarning
from imgloss.metrics import MetricNaNWarning
from imgloss.metrics.fsim import fsim, fsimc
from imgloss.metrics.gmsd import gmsd
from imgloss.metrics.iwssim import iw_ssim
from imgloss.metrics.pixel import psnr
from imgloss.metrics.ssim import ms_ssim as metric_ms_ssim
from imgloss.metrics.ssim import ssim as metric_ssim
from imgloss.teaching import demo

INF, NAN = float("inf"), float("nan")


def _pair(*shape, seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=gen, dtype=dtype), torch.rand(
        *shape, generator=gen, dtype=dtype
    )


# --------------------------------------------------------------------------------------
# 1 + 2. Every option is validated, in the constructor of the module API and at every call of
# the functional API, with a message naming the argument and the value.
# --------------------------------------------------------------------------------------

# option -> [(bad value, exception class)]
BAD_VALUES = {
    "sigma": [
        (-1.0, ValueError),
        (0, ValueError),
        (INF, ValueError),
        (NAN, ValueError),
        ("2", TypeError),
    ],
    "sigmas": [
        ((), ValueError),
        ((1.0, -1.0), ValueError),
        ((0.5, 0.0), ValueError),
        ((1.0, INF), ValueError),
        ((NAN,), ValueError),
        (3.0, TypeError),
        (("a",), TypeError),
    ],
    "weights": [
        ((), ValueError),
        ((0.5, -0.1), ValueError),
        ((0.0, 0.0), ValueError),
        ((0.5, INF), ValueError),
        ((NAN, 1.0), ValueError),
        (0.5, TypeError),
    ],
    "win_size": [(10, ValueError), (0, ValueError), (-3, ValueError), (11.0, TypeError)],
    "k1": [(0, ValueError), (-0.01, ValueError), (INF, ValueError), (NAN, ValueError)],
    "k2": [(0.0, ValueError), (-0.03, ValueError), (INF, ValueError), (NAN, ValueError)],
    "alpha": [
        (-0.1, ValueError),
        (1.5, ValueError),
        (NAN, ValueError),
        (INF, ValueError),
        ("0.5", TypeError),
    ],
    "data_range": [
        (0, ValueError),
        (-1.0, ValueError),
        (INF, ValueError),
        (NAN, ValueError),
        ("255", TypeError),
    ],
    "window": [("valid", ValueError), ("Patch", ValueError)],
    "variant": [("dyadic", ValueError)],
    "reduction": [("avg", ValueError), ("max", ValueError)],
    "check_finite": [("yes", TypeError), (None, TypeError)],
}

# (module class, functional form(s), the options both take)
LOSSES = [
    (
        L.SSIMLoss,
        [L.ssim, L.ssim_loss],
        ["sigma", "win_size", "k1", "k2", "data_range", "window", "reduction", "check_finite"],
    ),
    (
        L.MSSSIMLoss,
        [L.ms_ssim, L.ms_ssim_loss],
        [
            "variant",
            "sigmas",
            "weights",
            "sigma",
            "win_size",
            "k1",
            "k2",
            "data_range",
            "window",
            "reduction",
            "check_finite",
        ],
    ),
    (
        L.MixLoss,
        [L.mix_loss],
        ["alpha", "sigmas", "k1", "k2", "data_range", "window", "reduction", "check_finite"],
    ),
    (L.L1Loss, [L.l1_loss], ["data_range", "reduction", "check_finite"]),
    (L.L2Loss, [L.l2_loss], ["data_range", "reduction", "check_finite"]),
]
MODULE_ONLY = {L.L1Loss: ["window"], L.L2Loss: ["window"]}  # accepted for a uniform registry

MODULE_CASES = [
    pytest.param(cls, option, bad, exc, id=f"{cls.__name__}-{option}={bad!r}")
    for cls, _, options in LOSSES
    for option in options + MODULE_ONLY.get(cls, [])
    for bad, exc in BAD_VALUES[option]
]
FUNCTIONAL_CASES = [
    pytest.param(fn, option, bad, exc, id=f"{fn.__name__}-{option}={bad!r}")
    for _, fns, options in LOSSES
    for fn in fns
    for option in options
    for bad, exc in BAD_VALUES[option]
]


def _assert_names_argument_and_value(err: pytest.ExceptionInfo, option: str, bad) -> None:
    message = str(err.value)
    assert option in message, message
    if not (isinstance(bad, float) and math.isnan(bad)):
        assert repr(bad) in message or (
            isinstance(bad, tuple) and any(repr(float(v)) in message for v in bad if _num(v))
        ), message
    else:
        assert "nan" in message, message


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@pytest.mark.parametrize("cls,option,bad,exc", MODULE_CASES)
def test_module_rejects_bad_option_in_the_constructor(cls, option, bad, exc):
    with pytest.raises(exc) as err:
        cls(**{option: bad})  # no forward call: it fails where it is given
    _assert_names_argument_and_value(err, option, bad)


@pytest.mark.parametrize("fn,option,bad,exc", FUNCTIONAL_CASES)
def test_functional_form_rejects_bad_option(fn, option, bad, exc):
    x, y = _pair(1, 1, 65, 65)
    with pytest.raises(exc) as err:
        fn(x, y, **{option: bad})
    _assert_names_argument_and_value(err, option, bad)


@pytest.mark.parametrize("name", ["ssim5", "msssim", "mix", "l1"])
def test_registry_rejects_bad_options_at_get(name):
    with pytest.raises(ValueError, match="data_range"):
        L.get(name, data_range=-1)
    with pytest.raises(ValueError, match="reduction"):
        L.get(name, reduction="avg")
    if name != "l1":
        with pytest.raises(ValueError, match="k1"):
            L.get(name, k1=0)


@pytest.mark.parametrize("sigma", [-1.0, 0.0, INF, NAN])
def test_patch_mode_sigma_is_validated_like_sliding_mode(sigma):
    """Patch mode used to take sigma=-1 as 1, give NaN for 0 and a flat window for inf."""
    x, y = _pair(2, 3, 31, 31)
    for window in ("patch", "sliding"):
        with pytest.raises(ValueError, match=r"sigma must be a finite positive number"):
            L.ssim(x, y, sigma=sigma, window=window)
        with pytest.raises(ValueError, match=r"sigma must be a finite positive number"):
            L.SSIMLoss(sigma, window=window)
        with pytest.raises(ValueError, match=r"sigmas must be a finite positive number"):
            L.ms_ssim(x, y, sigmas=(0.5, sigma), window=window)
        with pytest.raises(ValueError, match=r"sigmas must be a finite positive number"):
            L.mix_loss(x, y, sigmas=(0.5, sigma), window=window)
        with pytest.raises(ValueError, match=r"sigmas must be a finite positive number"):
            L.MixLoss(sigmas=(0.5, sigma), window=window)


def test_valid_edge_options_are_accepted():
    x, y = _pair(1, 3, 41, 41)
    assert torch.isfinite(L.ssim(x, y, k1=0.05, k2=0.01))  # k1 < k2 is not required
    mix = L.mix_loss(x, y, alpha=0, window="patch") + L.mix_loss(x, y, alpha=1, window="patch")
    assert torch.isfinite(mix)
    weights = (0.0, 0.5, 0.5)  # a zero exponent is allowed (not all zero)
    assert torch.isfinite(L.ms_ssim(x, y, variant="pyramid", weights=weights))
    assert torch.isfinite(L.ssim(x, y, sigma=np.float32(1.5), win_size=np.int64(7)))
    assert L.MSSSIMLoss(sigmas=[1, 2]).options.sigmas == (1.0, 2.0)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda x: M.evaluate(x, x, data_range=0), "data_range"),
        (lambda x: M.evaluate_batch(x, x, ssim_downsample="yes"), "ssim_downsample"),
        (lambda x: metric_ssim(x, x, downsample=1), "downsample"),
        (lambda x: fsim(x, x, downsample="no"), "downsample"),
        (lambda x: psnr(x, x, data_range=-1.0), "data_range"),
        (lambda x: gmsd(x, x, data_range=INF), "data_range"),
    ],
)
def test_metric_options_name_the_argument(call, match):
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises((ValueError, TypeError), match=match):
        call(x)


def test_evaluate_dataset_checks_options_before_reading_any_image():
    def pairs():
        raise AssertionError("an image was read before the options were checked")
        yield  # pragma: no cover

    for kwargs, match in [
        ({"data_range": 0}, "data_range"),
        ({"ssim_downsample": "yes"}, "ssim_downsample"),
        ({"batch_size": 0}, "batch_size"),
        ({"metrics": ["vif"]}, "unknown metric"),
    ]:
        with pytest.raises((ValueError, TypeError), match=match):
            M.evaluate_dataset(pairs(), progress=False, **kwargs)


# --------------------------------------------------------------------------------------
# 3. Values far outside [0, data_range] give a DataRangeWarning (losses, metrics, demo).
# --------------------------------------------------------------------------------------

LOSS_CALLS = {
    "SSIMLoss": lambda x, y, **kw: L.SSIMLoss(**kw)(x, y),
    "ssim patch": lambda x, y, **kw: L.ssim(x, y, window="patch", **kw),
    "MSSSIMLoss": lambda x, y, **kw: L.MSSSIMLoss(**kw)(x, y),
    "ms_ssim pyramid": lambda x, y, **kw: L.ms_ssim(
        x, y, variant="pyramid", weights=(0.5, 0.5), **kw
    ),
    "mix_loss": lambda x, y, **kw: L.mix_loss(x, y, **kw),
    "MixLoss patch": lambda x, y, **kw: L.MixLoss(window="patch", **kw)(x, y),
    "l1_loss": lambda x, y, **kw: L.l1_loss(x, y, **kw),
    "L2Loss": lambda x, y, **kw: L.L2Loss(**kw)(x, y),
    "ssim_map": lambda x, y, **kw: L.ssim_map(x, y, **kw),
}


@pytest.mark.parametrize("name", LOSS_CALLS)
def test_losses_warn_about_0_255_images(name):
    x, y = _pair(1, 3, 65, 65)
    x8, y8 = (x * 255).round(), (y * 255).round()
    with pytest.warns(DataRangeWarning, match=r"0-255.*data_range=255.*divide the images by 255"):
        LOSS_CALLS[name](x8, y8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRangeWarning)
        LOSS_CALLS[name](x8, y8, data_range=255)  # told the right range: silent
        # a generous band around [0, 1] (network outputs overshoot in training): silent
        LOSS_CALLS[name](x * 1.8 - 0.4, y, data_range=1.0)


@pytest.mark.parametrize("name", ["ssim5", "msssim", "mix", "l1", "l2"])
def test_trainer_fast_path_has_no_range_check_and_no_reduction(name, monkeypatch):
    """``check_finite=False`` (what the trainer passes) skips the check: no warning, and not
    even the reduction (so no device sync)."""

    def forbidden(*args, **kwargs):
        raise AssertionError("value_extremes called on the check_finite=False path")

    monkeypatch.setattr(V, "value_extremes", forbidden)
    x, y = _pair(2, 3, 31, 31)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRangeWarning)
        value = L.get(name, window="patch", check_finite=False)(x * 255, y * 255)
    assert torch.isfinite(value)


def test_range_check_is_skipped_while_compiling(monkeypatch):
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    x, y = _pair(1, 3, 31, 31)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRangeWarning)
        L.ssim(x * 255, y * 255, window="patch")


def test_warning_points_at_the_callers_line():
    x, y = _pair(1, 3, 31, 31)
    with pytest.warns(DataRangeWarning) as record:
        L.get("ssim5", window="patch")(x * 255, y)
    assert record[0].filename == __file__
    assert "prediction has values in [" in str(record[0].message)
    assert "target" not in str(record[0].message).split(", far outside")[0]


def test_16_bit_and_negative_inputs_get_a_fitting_hint():
    x, y = _pair(1, 3, 31, 31)
    with pytest.warns(DataRangeWarning, match="16-bit.*data_range=65535"):
        L.l1_loss(x * 65535, y * 65535)
    with pytest.warns(DataRangeWarning, match=r"\[-1, 1\].*\(x \+ 1\) / 2"):
        L.l1_loss(x * 2 - 1, y * 2 - 1)


def test_metrics_warn_once_per_call_about_0_255_images():
    x, y = _pair(2, 3, 40, 40)
    with pytest.warns(DataRangeWarning, match="0-255") as record:
        M.evaluate(x * 255, y * 255, metrics=["psnr", "ssim", "gmsd", "l1"])
    assert sum(issubclass(w.category, DataRangeWarning) for w in record) == 1
    with pytest.warns(DataRangeWarning, match="0-255"):
        M.evaluate_batch(x * 255, y * 255, metrics=["l2"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRangeWarning)
        values = M.evaluate(x * 255, y * 255, data_range=255, metrics=["psnr", "ssim"])
    assert values["ssim"] == pytest.approx(M.evaluate(x, y, metrics=["ssim"])["ssim"], abs=1e-5)


@pytest.mark.parametrize(
    "measure,size",
    [
        (psnr, 32),
        (metric_ssim, 32),
        (gmsd, 32),
        (fsim, 32),
        (fsimc, 32),
        (metric_ms_ssim, 161),
        (iw_ssim, 176),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_individual_measures_warn_about_0_255_images(measure, size):
    x, y = _pair(1, 3, size, size)
    with pytest.warns(DataRangeWarning, match="0-255"):
        measure(x * 255, y * 255)


def test_evaluate_dataset_names_the_out_of_range_images():
    x, y = _pair(4, 3, 32, 32)
    pairs = [
        ("ok", x[0], y[0]),
        ("a", x[1] * 255, y[1] * 255),
        ("b", x[2] * 255, y[2]),
        ("c", x[3] * 255, y[3] * 255),
    ]
    with pytest.warns(DataRangeWarning) as record:
        table = M.evaluate_dataset(pairs, metrics=["psnr", "ssim"], progress=False)
    messages = [str(w.message) for w in record if issubclass(w.category, DataRangeWarning)]
    assert len(messages) == 2, messages  # the first image at once, then one summary
    assert messages[0].startswith("image 'a'") and "0-255" in messages[0]
    assert "3 of 4 images" in messages[1] and "'a', 'b', 'c'" in messages[1]
    assert set(table.rows) == {"ok", "a", "b", "c"}


def test_demo_images_are_in_range_and_the_demo_is_silent():
    img, _ = demo.load_image()
    clean = demo.to_tensor(img)
    assert 0.0 <= float(clean.min()) and float(clean.max()) <= 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRangeWarning)
        for name in L.PAPER_LOSSES:
            L.get(name)(demo.degrade(clean, 0.1, 0), clean)
    with pytest.raises(ValueError, match="uint8 or uint16"):
        demo.to_tensor(img.astype(np.float64))  # no white level: refused, not mis-scaled
    with pytest.raises(ValueError, match="uint8 or uint16"):
        demo.to_tensor(img.astype(np.int32) * 300)


# --------------------------------------------------------------------------------------
# 4. The demo reads 16-bit images at their real depth.
# --------------------------------------------------------------------------------------


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def write_png16(path, arr: np.ndarray, *, interlace: int = 0) -> None:
    """A 16-bit PNG (grey, grey+alpha, RGB or RGBA) whose rows use all five filter types."""
    arr = np.asarray(arr, dtype=">u2")
    if arr.ndim == 2:
        arr = arr[..., None]
    h, w, c = arr.shape
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    bpp = 2 * c
    rows = np.frombuffer(arr.tobytes(), np.uint8).reshape(h, w * bpp).astype(np.int64)
    out = []
    prev = np.zeros(w * bpp, np.int64)
    for r in range(h):
        cur = rows[r]
        left = np.concatenate([np.zeros(bpp, np.int64), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int64), prev[:-bpp]])
        kind = r % 5
        pred = [0 * cur, left, prev, (left + prev) // 2, _paeth(left, prev, upleft)][kind]
        out.append(bytes([kind]) + ((cur - pred) % 256).astype(np.uint8).tobytes())
        prev = cur

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 16, colour, 0, 0, interlace)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(out)))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(data)


def _low_byte_image(h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    """16-bit samples whose neighbours differ only in the low byte (an 8-bit read merges them)."""
    rng = np.random.default_rng(seed)
    high = rng.integers(0, 256, (h, w, c)).astype(np.uint16) << 8
    return high | rng.integers(0, 256, (h, w, c)).astype(np.uint16)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16_bit_png_is_read_at_full_depth(tmp_path, channels):
    arr = _low_byte_image(23, 17, channels)
    arr[0, 0, :] = 0x1234
    arr[0, 1, :] = 0x1235  # differs from its neighbour in the low byte only
    path = tmp_path / "x16.png"
    write_png16(path, arr)
    img, source = demo.load_image(path)
    assert img.dtype == np.uint16 and img.shape == (23, 17, 3) and str(path) in source
    expected = arr[..., :3] if channels >= 3 else np.repeat(arr[..., :1], 3, axis=-1)
    np.testing.assert_array_equal(img, expected)
    assert img[0, 0, 0] != img[0, 1, 0]


def test_16_bit_grey_png_written_by_pillow(tmp_path):
    from PIL import Image

    arr = _low_byte_image(40, 30, 1)[..., 0]
    path = tmp_path / "grey16.png"
    Image.fromarray(arr).save(path)  # Pillow's own encoder and filter choices
    img, _ = demo.load_image(path)
    np.testing.assert_array_equal(img[..., 0], arr)


def test_16_bit_tiff_is_read_at_full_depth(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    arr = _low_byte_image(20, 24, 3)
    path = tmp_path / "x16.tif"
    tifffile.imwrite(path, arr)
    img, _ = demo.load_image(path)
    assert img.dtype == np.uint16
    np.testing.assert_array_equal(img, arr)


def test_16_bit_image_is_scaled_by_65535(tmp_path):
    arr = np.full((300, 280, 3), 0x1234, np.uint16)
    arr[150, 140, 1] = 0x1235
    arr[0, 0, 0] = 65535
    path = tmp_path / "x16.png"
    write_png16(path, arr)
    t = demo.to_tensor(demo.load_image(path)[0])  # centre 256 x 256 crop
    top, left = (300 - 256) // 2, (280 - 256) // 2
    assert t.dtype == torch.float32 and float(t.max()) <= 1.0
    assert float(t[0, 1, 150 - top, 140 - left]) == np.float32(0x1235) / np.float32(65535)
    assert float(t[0, 1, 150 - top, 141 - left]) == np.float32(0x1234) / np.float32(65535)
    assert t[0, 1, 150 - top, 140 - left] != t[0, 1, 150 - top, 141 - left]


def test_demo_cli_runs_on_a_16_bit_png(tmp_path):
    arr = (np.linspace(0, 65535, 256 * 256 * 3).reshape(256, 256, 3)).astype(np.uint16)
    path = tmp_path / "ramp16.png"
    write_png16(path, arr)
    out = tmp_path / "out"
    assert cli.main(["demo", "--out", str(out), "--image", str(path), "--noise", "0.05"]) == 0
    result = json.loads((out / "losses.json").read_text())
    assert all(math.isfinite(v) and v >= 0 for v in result["losses"].values())
    assert result["provenance"]["image_source"] == f"file {path}"


def test_interlaced_16_bit_pngs_are_read_and_damaged_ones_refused(tmp_path):
    import png

    arr = _low_byte_image(8, 8, 3)
    path = tmp_path / "interlaced16.png"
    with open(path, "wb") as fh:
        png.Writer(8, 8, greyscale=False, bitdepth=16, interlace=True).write(
            fh, arr.reshape(8, 24).tolist()
        )
    img, _ = demo.load_image(path)
    np.testing.assert_array_equal(img, arr)
    broken = tmp_path / "broken16.png"
    write_png16(broken, _low_byte_image(8, 8, 3))
    data = broken.read_bytes()
    broken.write_bytes(data[:60])  # IDAT cut short
    with pytest.raises(ValueError, match=re.escape(str(broken))):
        demo.load_image(broken)


# --------------------------------------------------------------------------------------
# 5. Degenerate images: SSIM of identical (constant) images is exactly 1; FSIM's NaN is
# documented and never averaged silently.
# --------------------------------------------------------------------------------------

IDENTICAL = {
    "ssim sliding": lambda x: L.ssim(x, x.clone()),
    "ssim sliding sigma 5": lambda x: L.ssim(x, x.clone(), sigma=5),
    "ssim patch": lambda x: L.ssim(x[..., :63, :63], x[..., :63, :63].clone(), window="patch"),
    "SSIMLoss patch": lambda x: (
        1 - L.SSIMLoss(5, window="patch")(x[..., :31, :31], x[..., :31, :31].clone())
    ),
    "ms_ssim sliding": lambda x: L.ms_ssim(x, x.clone()),
    "ms_ssim patch": lambda x: L.ms_ssim(
        x[..., :31, :31], x[..., :31, :31].clone(), window="patch"
    ),
    "ms_ssim pyramid": lambda x: L.ms_ssim(x, x.clone(), variant="pyramid", weights=(0.5, 0.5)),
    "1 - mix sliding": lambda x: 1 - L.mix_loss(x, x.clone()),
    "1 - mix patch": lambda x: (
        1 - L.mix_loss(x[..., :31, :31], x[..., :31, :31].clone(), window="patch")
    ),
    "ssim_map": lambda x: L.ssim_map(x, x.clone()),
    "metrics ssim": lambda x: metric_ssim(x, x.clone()),
    "metrics ssim downsampled": lambda x: metric_ssim(x, x.clone(), downsample=True),
}


@pytest.mark.parametrize("value", [0.0, 0.123456, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("name", IDENTICAL)
def test_ssim_of_identical_constant_images_is_exactly_one(name, value):
    x = torch.full((2, 3, 64, 64), value, dtype=torch.float32)
    result = IDENTICAL[name](x)
    assert result.dtype == torch.float32
    assert bool((result == 1.0).all()), result.flatten()[:4].tolist()


@pytest.mark.parametrize("value", [0.0, 0.3, 1.0])
def test_metric_ms_ssim_of_identical_constant_images_is_exactly_one(value):
    x = torch.full((1, 3, 161, 161), value, dtype=torch.float32)
    assert bool((metric_ms_ssim(x, x.clone()) == 1.0).all())
    assert M.evaluate(x, x.clone(), metrics=["ssim", "ms_ssim"]) == {"ssim": 1.0, "ms_ssim": 1.0}


def test_identical_textured_images_and_their_gradient():
    x, _ = _pair(4, 3, 31, 31)
    p = x.clone().requires_grad_(True)
    loss = L.get("mix", window="patch")(p, x)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(p.grad).all() and float(p.grad.abs().max()) < 1e-6
    # only the identical plane is pinned to 1: the others are untouched
    y = x.clone()
    y[1, 2] = torch.rand(31, 31)
    per_plane = L.ssim(y, x, window="patch", reduction="none")
    assert per_plane[0].eq(1).all() and per_plane[1, 2] < 1


def test_fsim_nan_for_flat_images_is_documented():
    flat = torch.full((1, 3, 48, 48), 0.5)
    assert torch.isnan(fsim(flat, flat.clone())).all()
    assert torch.isnan(fsimc(flat, flat.clone())).all()
    x, _ = _pair(1, 3, 48, 48)
    assert torch.isfinite(fsim(flat, x)).all()  # only one image flat: finite
    for fn in (fsim, fsimc):
        assert "NaN" in fn.__doc__ and "MATLAB" in fn.__doc__


def test_evaluate_warns_about_nan_measures():
    flat = torch.full((2, 3, 48, 48), 0.5)
    x, _ = _pair(1, 3, 48, 48)
    batch = torch.cat([flat[:1], x])
    with pytest.warns(MetricNaNWarning, match=r"fsim is NaN for 'image 0 of the batch'"):
        values = M.evaluate(batch, torch.cat([flat[:1], x]), metrics=["fsim", "psnr"])
    assert math.isnan(values["fsim"])


def test_evaluate_dataset_names_the_image_and_measure_of_a_nan():
    flat = torch.full((3, 40, 40), 0.25)
    x, y = _pair(1, 3, 40, 40)
    pairs = [("flat.png", flat, flat.clone()), ("photo.png", x[0], y[0])]
    with pytest.warns(MetricNaNWarning) as record:
        table = M.evaluate_dataset(pairs, metrics=["fsim", "fsimc", "psnr"], progress=False)
    messages = [str(w.message) for w in record if issubclass(w.category, MetricNaNWarning)]
    assert any("fsim is NaN for 'flat.png'" in m and "FeatureSIM.m" in m for m in messages)
    assert any("fsimc is NaN for 'flat.png'" in m for m in messages)
    assert not any("photo.png" in m for m in messages)
    mean = table.mean()
    assert math.isnan(mean["fsim"]) and math.isnan(mean["fsimc"])  # documented: stays NaN
    assert math.isfinite(table.rows["photo.png"]["fsim"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetricNaNWarning)
        again = M.MetricTable.from_dict(table.to_dict())  # re-reading does not warn again
    assert math.isnan(again.rows["flat.png"]["fsim"])
