"""Every item of the SSIM pitfalls gallery is a test (issue 32, item 4).

The imgloss rows are asserted as the behaviour we promise; the peers' rows pin what the
installed versions do (pytorch-msssim 1.0, torchmetrics 1.9, kornia 0.9, scikit-image 0.26),
so that an upgrade that changes them shows here. A peer that is not installed has no row.
"""

from __future__ import annotations

import math
import warnings

import pytest

from imgloss.teaching import ssim_pitfalls as sp


def _items() -> dict[str, sp.Pitfall]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {p.key: p for p in sp.gallery()}


ITEMS = _items()


def _has(p: sp.Pitfall, name: str) -> bool:
    return any(o.implementation == name for o in p.outcomes)


def test_every_item_is_documented_and_linked():
    assert list(ITEMS) == [
        "anti_correlated",
        "small_image",
        "data_range",
        "uint8",
        "float16",
        "negative_variance",
    ]
    for p in ITEMS.values():
        assert p.title and p.setup and p.explanation and p.outcome("imgloss")
        assert p.threads or p.listed
        assert all(u.startswith("https://github.com/") for u in p.threads + p.listed)
    linked = {u for p in ITEMS.values() for u in p.threads + p.listed}
    for repo, number in [("VainF/pytorch-msssim", n) for n in (2, 7, 11, 13, 14, 16)] + [
        ("photosynthesis-team/piq", 35),
        ("photosynthesis-team/piq", 39),
        ("Lightning-AI/torchmetrics", 1290),
        ("Lightning-AI/torchmetrics", 2327),
        ("scikit-image/scikit-image", 4278),
    ]:
        assert f"https://github.com/{repo}/issues/{number}" in linked


def test_anti_correlated():
    p = ITEMS["anti_correlated"]
    assert p.outcome("imgloss").value == 0.0
    assert math.isnan(p.outcome("imgloss matlab").value)  # msssim.m: complex; here NaN
    assert p.outcome("SSIM (imgloss)").value < -0.9
    if _has(p, "pytorch_msssim"):
        assert p.outcome("pytorch_msssim").value == 0.0  # relu since VainF/pytorch-msssim#11
    if _has(p, "torchmetrics"):
        assert math.isnan(p.outcome("torchmetrics").value)  # normalize=None
        assert p.outcome("torchmetrics (default)").value == 0.0


def test_small_image():
    p = ITEMS["small_image"]
    assert "at least 161 pixels" in p.outcome("imgloss").error
    assert 0 < p.outcome("imgloss paper").value < 1
    if _has(p, "pytorch_msssim"):
        assert p.outcome("pytorch_msssim").error.startswith("AssertionError")
    if _has(p, "torchmetrics"):
        assert p.outcome("torchmetrics").error.startswith("ValueError")
    if _has(p, "kornia"):
        assert p.outcome("kornia").value == pytest.approx(
            p.outcome("imgloss paper").value, abs=0.01
        )


def test_data_range():
    p = ITEMS["data_range"]
    right = p.outcome("imgloss").value
    assert right < 0.99 and p.outcome("imgloss matlab").value > 0.9999
    if _has(p, "pytorch_msssim"):
        assert p.outcome("pytorch_msssim").value > 0.9999
        assert p.outcome("pytorch_msssim (L = 1)").value == pytest.approx(right, abs=1e-5)
    if _has(p, "skimage"):
        assert "data_range" in p.outcome("skimage").error


def test_uint8():
    p = ITEMS["uint8"]
    assert p.outcome("imgloss").error.startswith("TypeError")
    scaled = p.outcome("imgloss (x / 255)").value
    if _has(p, "pytorch_msssim"):
        assert p.outcome("pytorch_msssim").value == 1.0  # the window casts to uint8 zeros
    if _has(p, "skimage"):
        assert p.outcome("skimage").value == pytest.approx(scaled, abs=2e-3)  # 7x7 box window


def test_float16():
    p = ITEMS["float16"]
    reference = p.outcome("float64").value
    assert p.outcome("imgloss").value == pytest.approx(reference, abs=1e-5)
    assert p.outcome("imgloss zeros").value == 1.0
    for peer in ("pytorch_msssim", "torchmetrics"):
        if _has(p, peer):
            assert abs(p.outcome(peer).value - reference) > 1e-4  # half-precision moments


def test_negative_variance():
    p = ITEMS["negative_variance"]
    assert p.outcome("imgloss").value <= 1.0
    assert p.outcome("float64").value <= 1.0
    for peer in ("pytorch_msssim", "kornia"):
        if _has(p, peer):
            assert p.outcome(peer).value > 1.0
    if _has(p, "torchmetrics"):
        assert p.outcome("torchmetrics").value <= 1.0  # variances clamped at 0
