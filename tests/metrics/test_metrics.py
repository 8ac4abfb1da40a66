"""The Table 1 measures: MATLAB resampling rules, SSIM/MS-SSIM/PSNR against independent
libraries, and the evaluate / evaluate_dataset / MetricTable API."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from imgloss import metrics as M
from imgloss.metrics._matlab import auto_factor, box_downsample
from imgloss.metrics.ssim import ms_ssim, ssim

from ..conftest import REAL_IMAGES, to_tensor


def _box_downsample_reference(img: np.ndarray, f: int) -> np.ndarray:
    """A literal transcription of imfilter(img, ones(f)/f^2, 'symmetric', 'same') followed by
    img(1:f:end, 1:f:end), for one 2-D channel (MATLAB centres the kernel on floor((f+1)/2))."""
    c = (f + 1) // 2 - 1
    padded = np.pad(img, ((c, f), (c, f)), mode="symmetric")
    h, w = img.shape
    out = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = padded[i : i + f, j : j + f].mean()
    return out[::f, ::f]


@pytest.mark.parametrize("f,h,w", [(2, 8, 8), (2, 7, 9), (3, 10, 11), (4, 9, 13), (5, 12, 7)])
def test_box_downsample_matches_matlab_transcription(f, h, w):
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(f), dtype=torch.float64)
    ours = box_downsample(x, f)
    for n in range(2):
        for c in range(3):
            ref = _box_downsample_reference(x[n, c].numpy(), f)
            np.testing.assert_allclose(ours[n, c].numpy(), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "h,w,f",
    [
        (255, 900, 1),
        (383, 383, 1),
        (384, 500, 2),
        (512, 768, 2),
        (640, 700, 3),
        (666, 999, 3),
        (100, 50, 1),
    ],
)
def test_auto_factor_uses_matlab_round(h, w, f):
    assert auto_factor(h, w) == f


def _channels_last(t: torch.Tensor) -> np.ndarray:
    return t[0].permute(1, 2, 0).double().numpy()


@pytest.mark.parametrize("downsample", [False, True])
def test_ssim_equals_scikit_image_per_channel(real_pair, downsample):
    noisy, clean = real_pair
    ours = ssim(noisy, clean, downsample=downsample)
    assert ours.shape == (1, 3)
    x, y = noisy, clean
    if downsample:
        f = auto_factor(*x.shape[-2:])
        x, y = box_downsample(x, f), box_downsample(y, f)
    for c in range(3):
        ref = structural_similarity(
            x[0, c].numpy(),
            y[0, c].numpy(),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
        )
        assert abs(ours[0, c].item() - ref) < 1e-6


def test_ssim_downsampling_is_applied_on_large_images():
    img = REAL_IMAGES[0][1]
    clean = to_tensor(img[:400, :400], torch.float64)
    noisy = (
        clean
        + 0.05
        * torch.randn(clean.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ).clamp(0, 1)
    plain, down = ssim(noisy, clean), ssim(noisy, clean, downsample=True)
    assert auto_factor(400, 400) == 2
    assert (down > plain + 0.02).all()  # the 2x2 box filter removes part of the noise


def test_ms_ssim_equals_pytorch_msssim_per_channel(real_pair):
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    noisy, clean = real_pair
    ours = ms_ssim(noisy, clean)
    for c in range(3):
        ref = pytorch_msssim.ms_ssim(noisy[:, c : c + 1], clean[:, c : c + 1], data_range=1.0)
        assert abs(ours[0, c].item() - ref.item()) < 1e-5  # its window is float32


def test_pixel_measures_equal_scikit_image(real_pair):
    noisy, clean = real_pair
    values = M.evaluate(noisy, clean, metrics=["l2", "psnr", "l1"])
    x, y = _channels_last(noisy), _channels_last(clean)
    assert values["l2"] == pytest.approx(mean_squared_error(y, x), rel=1e-12)
    assert values["psnr"] == pytest.approx(peak_signal_noise_ratio(y, x, data_range=1.0), rel=1e-12)
    assert values["l1"] == pytest.approx(np.abs(x - y).mean(), rel=1e-12)


def test_psnr_is_averaged_per_image_not_from_the_mean_mse():
    y = torch.full((2, 3, 16, 16), 0.5, dtype=torch.float64)
    x = y.clone()
    x[0] += 0.01
    x[1] += 0.1
    per_image = M.evaluate(x, y, metrics=["psnr", "l2"])
    assert per_image["psnr"] == pytest.approx((40 + 20) / 2)
    assert per_image["psnr"] > -10 * math.log10(per_image["l2"])


@pytest.fixture(scope="module")
def small_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """Two 192 x 200 crops (big enough for 5-scale MS-SSIM and IW-SSIM) and noisy copies."""
    crops = [to_tensor(img[:192, :200]) for _, img in REAL_IMAGES[:2]]
    while len(crops) < 2:
        crops.append(crops[0].flip(-1))
    clean = torch.cat(crops).double()
    gen = torch.Generator().manual_seed(3)
    noisy = (clean + 0.05 * torch.randn(clean.shape, generator=gen, dtype=clean.dtype)).clamp(0, 1)
    return noisy, clean


def test_evaluate_returns_all_nine_measures_and_identity_values(small_pair):
    noisy, clean = small_pair
    values = M.evaluate(noisy, clean)
    assert tuple(values) == M.METRICS
    assert all(math.isfinite(v) for v in values.values())
    same = M.evaluate(clean, clean)
    assert same["l2"] == 0 and same["l1"] == 0 and same["psnr"] == math.inf
    for name in ("ssim", "ms_ssim", "iw_ssim", "fsim", "fsimc"):
        assert same[name] == pytest.approx(1.0, abs=1e-6), name
        assert values[name] < same[name], name
    assert same["gmsd"] == pytest.approx(0.0, abs=1e-6)
    assert values["gmsd"] > 0


def test_evaluate_batch_matches_per_image(small_pair):
    noisy, clean = small_pair
    batch = M.evaluate_batch(noisy, clean)
    for i in range(noisy.shape[0]):
        single = M.evaluate(noisy[i : i + 1], clean[i : i + 1])
        for name in M.METRICS:
            assert batch[name][i].item() == pytest.approx(single[name], rel=1e-9, abs=1e-12), name


def test_evaluate_dataset_batches_same_sized_images_and_averages_per_image(small_pair):
    noisy, clean = small_pair
    odd = (noisy[:1, :, :181, :190], clean[:1, :, :181, :190])
    pairs = [("a", noisy[0], clean[0]), ("b", *odd), ("c", noisy[1:], clean[1:])]
    names = ["psnr", "ssim", "gmsd"]
    batched = M.evaluate_dataset(pairs, metrics=names, batch_size=4, progress=False)
    single = M.evaluate_dataset(pairs, metrics=names, batch_size=1, progress=False)
    assert list(batched.rows) == ["a", "b", "c"]
    for image in batched.rows:
        for m in names:
            assert batched.rows[image][m] == pytest.approx(single.rows[image][m], rel=1e-9)
    mean = batched.mean()
    assert mean["psnr"] == pytest.approx(np.mean([r["psnr"] for r in batched.rows.values()]))
    again = M.MetricTable.from_dict(batched.to_dict())
    assert again.rows == batched.rows and again.mean() == mean


def test_metric_table_rejects_duplicates_and_empty():
    table = M.MetricTable(("psnr",))
    with pytest.raises(ValueError, match="empty"):
        table.mean()
    table.add("x", {"psnr": 30.0})
    with pytest.raises(ValueError, match="already"):
        table.add("x", {"psnr": 31.0})


def test_evaluate_bad_inputs_name_the_problem(small_pair):
    noisy, clean = small_pair
    with pytest.raises(ValueError, match="prediction must be RGB"):
        M.evaluate(noisy[:, :1], clean[:, :1])
    with pytest.raises(ValueError, match="unknown metric"):
        M.evaluate(noisy, clean, metrics=["psnr", "vif"])
    with pytest.raises(TypeError, match="sequence of names"):
        M.evaluate(noisy, clean, metrics="psnr")
    with pytest.raises(ValueError, match="same shape"):
        M.evaluate(noisy, clean[..., :-1])
    with pytest.raises(ValueError, match="data_range"):
        M.evaluate(noisy, clean, data_range=0)
    with pytest.raises(TypeError, match="downsample"):
        ssim(noisy, clean, downsample="yes")
    with pytest.raises(ValueError, match="batch_size"):
        M.evaluate_dataset([("a", noisy[0], clean[0])], batch_size=0)
    with pytest.raises(ValueError, match="too small"):
        ms_ssim(noisy[..., :100, :100], clean[..., :100, :100])
