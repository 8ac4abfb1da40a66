"""Sliding SSIM and pyramid MS-SSIM against independent libraries on real photographs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

import imgloss.losses as L

pytorch_msssim = pytest.importorskip("pytorch_msssim")


def _rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


# pytorch-msssim builds its Gaussian window in float32 even for float64 input, so its float64
# gradients carry a ~1e-6 relative error; our float64 gradients are checked exactly elsewhere
# (gradcheck, closed forms, autograd through the SSIM map).
GRAD_TOL_VS_PYTORCH_MSSSIM = 1e-4


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sliding_ssim_equals_scikit_image(real_pair, dtype):
    noisy, clean = (t.to(dtype) for t in real_pair)
    ours = L.ssim(noisy, clean, data_range=1.0).item()
    ref = structural_similarity(
        noisy[0].permute(1, 2, 0).double().numpy(),
        clean[0].permute(1, 2, 0).double().numpy(),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
        channel_axis=-1,
    )
    assert abs(ours - ref) < 1e-5


def test_sliding_ssim_per_channel_and_data_range_255(real_pair):
    noisy, clean = real_pair
    per_channel = L.ssim(noisy * 255, clean * 255, data_range=255, reduction="none")[0]
    for c in range(3):
        ref = structural_similarity(
            noisy[0, c].numpy() * 255,
            clean[0, c].numpy() * 255,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
        )
        assert abs(per_channel[c].item() - ref) < 1e-5


def test_ssim_map_mean_equals_ssim(real_pair):
    noisy, clean = real_pair
    assert torch.allclose(L.ssim_map(noisy, clean).mean(), L.ssim(noisy, clean), atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pyramid_ms_ssim_equals_pytorch_msssim(real_pair, dtype):
    noisy, clean = (t.to(dtype) for t in real_pair)  # 256 x 320: even at every scale
    ours = L.ms_ssim(noisy, clean, variant="pyramid").item()
    ref = pytorch_msssim.ms_ssim(noisy, clean, data_range=1.0).item()
    assert abs(ours - ref) < 1e-5


def test_pyramid_ms_ssim_gradient_equals_pytorch_msssim(real_pair):
    noisy, clean = real_pair
    a = noisy.clone().requires_grad_(True)
    b = noisy.clone().requires_grad_(True)
    L.ms_ssim(a, clean, variant="pyramid").backward()
    pytorch_msssim.ms_ssim(b, clean, data_range=1.0).backward()
    assert _rel_err(a.grad, b.grad) < GRAD_TOL_VS_PYTORCH_MSSSIM


def test_sliding_ssim_gradient_equals_pytorch_msssim(real_pair):
    noisy, clean = real_pair
    a = noisy.clone().requires_grad_(True)
    b = noisy.clone().requires_grad_(True)
    L.ssim(a, clean).backward()
    pytorch_msssim.ssim(b, clean, data_range=1.0).backward()
    assert _rel_err(a.grad, b.grad) < GRAD_TOL_VS_PYTORCH_MSSSIM


def _matlab_msssim(x: np.ndarray, y: np.ndarray) -> float:
    """Wang's msssim.m in NumPy for one channel: imfilter(ones(2)/4, 'symmetric') + [1:2:end]."""
    g = np.exp(-(np.arange(-5, 6) ** 2) / (2 * 1.5**2))
    g /= g.sum()
    win = np.outer(g, g)
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    c1, c2 = 0.01**2, 0.03**2

    def filt(a):
        h, w = a.shape
        out = np.zeros((h - 10, w - 10))
        for i in range(11):
            for j in range(11):
                out += win[i, j] * a[i : i + h - 10, j : j + w - 10]
        return out

    def down(a):
        a = np.pad(a, ((0, a.shape[0] % 2), (0, a.shape[1] % 2)), mode="symmetric")
        return (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) / 4

    value = 1.0
    for level, wgt in enumerate(weights):
        mx, my = filt(x), filt(y)
        sxx, syy, sxy = filt(x * x) - mx**2, filt(y * y) - my**2, filt(x * y) - mx * my
        cs = (2 * sxy + c2) / (sxx + syy + c2)
        if level == len(weights) - 1:
            value *= np.mean((2 * mx * my + c1) / (mx**2 + my**2 + c1) * cs) ** wgt
        else:
            value *= np.mean(cs) ** wgt
        x, y = down(x), down(y)
    return value


def test_pyramid_ms_ssim_odd_sizes_follow_wang_matlab_rule(real_pair):
    noisy, clean = (t[:, :, :201, :243] for t in real_pair)  # odd at several scales
    ours = L.ms_ssim(noisy, clean, variant="pyramid", reduction="none")[0]
    for c in range(3):
        ref = _matlab_msssim(noisy[0, c].numpy(), clean[0, c].numpy())
        assert abs(ours[c].item() - ref) < 1e-10


def test_downsampling_rule_is_ceil_mode_average():
    x = torch.arange(15.0).reshape(1, 1, 3, 5)
    down = F.avg_pool2d(x, 2, 2, ceil_mode=True)
    # last column averages with itself (symmetric padding), not with a zero
    assert down[0, 0, 0, -1].item() == pytest.approx((4 + 9) / 2)


def test_closed_form_sliding_backward_equals_autograd_through_the_map(real_pair):
    noisy, clean = (t[:, :, :96, :128] for t in real_pair)
    a = noisy.clone().requires_grad_(True)
    t1 = clean.clone().requires_grad_(True)
    b = noisy.clone().requires_grad_(True)
    t2 = clean.clone().requires_grad_(True)
    L.ssim(a, t1, sigma=2.0).backward()
    L.ssim_map(b, t2, sigma=2.0).mean().backward()  # plain autograd through conv2d
    assert _rel_err(a.grad, b.grad) < 1e-12
    assert _rel_err(t1.grad, t2.grad) < 1e-12


@pytest.mark.parametrize(
    "min_planes, pixels",
    [(1, 1), (4, 1), (8, 1 << 30)],
    ids=["chunk1", "chunk4-uneven", "one-chunk"],
)
def test_chunked_sliding_statistics_equal_autograd_through_the_map(
    real_pair, monkeypatch, min_planes, pixels
):
    """SlidingSSIMMeans filters the planes in chunks on the CPU; any chunking (single planes,
    chunks that do not divide the 6 planes, everything at once) gives the values and gradients of
    plain autograd through the SSIM map, and the pyramid MS-SSIM of Wang's MATLAB rule."""
    from imgloss.functional import stats as _stats

    monkeypatch.setattr(_stats, "SSIM_MIN_CHUNK_PLANES", min_planes)
    monkeypatch.setattr(_stats, "SSIM_CHUNK_PIXELS", pixels)
    noisy, clean = (torch.cat([t[:, :, :40, :52], t[:, :, 8:48, :52]]) for t in real_pair)
    a, t1 = noisy.clone().requires_grad_(True), clean.clone().requires_grad_(True)
    b, t2 = noisy.clone().requires_grad_(True), clean.clone().requires_grad_(True)
    ours = L.ssim(a, t1, reduction="none")
    ref = L.ssim_map(b, t2).mean(dim=(2, 3))
    assert _rel_err(ours, ref) < 1e-12
    ours.sum().backward()
    ref.sum().backward()
    assert _rel_err(a.grad, b.grad) < 1e-12
    assert _rel_err(t1.grad, t2.grad) < 1e-12
    noisy, clean = (t[:, :, :201, :243] for t in real_pair)
    pyramid = L.ms_ssim(noisy, clean, variant="pyramid", reduction="none")[0]
    for c in range(3):
        assert (
            abs(pyramid[c].item() - _matlab_msssim(noisy[0, c].numpy(), clean[0, c].numpy()))
            < 1e-10
        )


def test_nchw_layout_used_on_gpus_gives_the_same_values_and_gradients(real_pair, monkeypatch):
    from imgloss.functional import stats as _stats

    noisy, clean = (t[:, :, :64, :80] for t in real_pair)
    a = noisy.clone().requires_grad_(True)
    L.ms_ssim(a, clean, variant="pyramid", weights=(0.5, 0.5)).backward()
    monkeypatch.setattr(_stats, "channels_last_is_faster", lambda device: False)
    b = noisy.clone().requires_grad_(True)
    L.ms_ssim(b, clean, variant="pyramid", weights=(0.5, 0.5)).backward()
    assert _rel_err(b.grad, a.grad) < 1e-12
    small = (
        noisy[:, :1, :15, :17].clone().requires_grad_(True),
        clean[:, :1, :15, :17].clone().requires_grad_(True),
    )
    assert torch.autograd.gradcheck(lambda x, y: L.ssim(x, y, sigma=1.0), small)
