"""The three tasks' degradations: mosaic pattern, noise statistics, demosaicking, JPEG, SR input."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from imgloss.imaging import degradations as D

from ..conftest import REAL_IMAGES, to_tensor


def test_rggb_mosaic_pattern():
    rgb = torch.tensor([0.1, 0.5, 0.9]).view(1, 3, 1, 1).expand(1, 3, 4, 6).clone()
    mosaic = D.bayer_mosaic(rgb, "RGGB")[0, 0]
    assert torch.allclose(mosaic[0::2, 0::2], torch.tensor(0.1))
    assert torch.allclose(mosaic[0::2, 1::2], torch.tensor(0.5))
    assert torch.allclose(mosaic[1::2, 0::2], torch.tensor(0.5))
    assert torch.allclose(mosaic[1::2, 1::2], torch.tensor(0.9))
    masks = D.bayer_masks("GBRG", 2, 2)[0]
    assert masks[:, 0, 0].tolist() == [0, 1, 0] and masks[:, 0, 1].tolist() == [0, 0, 1]
    assert masks.sum(0).eq(1).all()


@pytest.mark.parametrize("level", [0.2, 0.5, 0.8])
def test_poisson_gaussian_variance_is_a_y_plus_b(level):
    y = torch.full((4, 1, 256, 256), level, dtype=torch.float64)
    z = D.poisson_gaussian(y, generator=torch.Generator().manual_seed(0))
    var = D.FOI_A * level + D.FOI_B
    assert z.mean().item() == pytest.approx(level, abs=4 * (var / z.numel()) ** 0.5)
    # sample variance of 262144 normals: relative standard error sqrt(2/n) ~ 0.28%
    assert z.var().item() == pytest.approx(var, rel=0.015)


def test_poisson_gaussian_clips_at_zero_and_one():
    gen = torch.Generator().manual_seed(1)
    dark = D.poisson_gaussian(torch.zeros(1, 1, 200, 200), generator=gen)
    bright = D.poisson_gaussian(torch.ones(1, 1, 200, 200), generator=gen)
    assert dark.min() == 0 and bright.max() == 1
    assert (dark == 0).float().mean().item() == pytest.approx(0.5, abs=0.01)
    assert (bright == 1).float().mean().item() == pytest.approx(0.5, abs=0.01)
    # clipping biases the mean away from the boundaries
    assert dark.mean() > 0 and bright.mean() < 1


def test_poisson_gaussian_is_seeded_and_validates():
    y = torch.rand(2, 3, 16, 16)
    a = D.poisson_gaussian(y, generator=torch.Generator().manual_seed(5))
    b = D.poisson_gaussian(y, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        D.poisson_gaussian(y + 1)


def _reference_bilinear(mosaic: np.ndarray, masks: np.ndarray) -> np.ndarray:
    k_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]]) / 4
    k_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4
    return np.stack(
        [
            ndimage.convolve(mosaic * masks[c], k, mode="constant")
            for c, k in enumerate([k_rb, k_g, k_rb])
        ]
    )


def test_bilinear_demosaic_equals_the_standard_kernels_inside_and_keeps_samples():
    img = to_tensor(REAL_IMAGES[0][1][:64, :80], torch.float64)
    mosaic = D.bayer_mosaic(img)
    out = D.bilinear_demosaic(mosaic)[0].numpy()
    masks = D.bayer_masks("RGGB", 64, 80, dtype=torch.float64)[0].numpy()
    ref = _reference_bilinear(mosaic[0, 0].numpy(), masks)
    np.testing.assert_allclose(out[:, 1:-1, 1:-1], ref[:, 1:-1, 1:-1], atol=1e-12)
    sampled = masks.astype(bool)
    np.testing.assert_allclose(out[sampled], img[0].numpy()[sampled], atol=1e-12)


def test_bilinear_demosaic_reproduces_constant_and_linear_images():
    const = torch.full((1, 3, 10, 12), 0.3, dtype=torch.float64)
    assert torch.allclose(D.bilinear_demosaic(D.bayer_mosaic(const)), const)
    ramp = torch.linspace(0, 1, 12, dtype=torch.float64).view(1, 1, 1, 12).expand(1, 3, 10, 12)
    out = D.bilinear_demosaic(D.bayer_mosaic(ramp))
    assert torch.allclose(out[..., 1:-1, 1:-1], ramp[..., 1:-1, 1:-1])


def test_jpeg_q25_equals_a_pillow_file_round_trip():
    img = to_tensor(REAL_IMAGES[0][1][:64, :96])
    out = D.jpeg(img, quality=25)
    u8 = (img[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=25)
    ref = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    assert torch.equal(
        (out[0].permute(1, 2, 0) * 255).round().to(torch.uint8), torch.from_numpy(ref.copy())
    )
    psnr = -10 * torch.log10(((out - img) ** 2).mean())
    assert 22 < psnr.item() < 40
    with pytest.raises(ValueError, match="quality"):
        D.jpeg(img, quality=0)


def test_super_resolution_input():
    img = to_tensor(REAL_IMAGES[0][1][:96, :120])
    low = D.bilinear_upscale_input(img, scale=3)
    assert low.shape == img.shape
    assert 0 <= low.min() and low.max() <= 1
    psnr = -10 * torch.log10(((low - img) ** 2).mean())
    assert 18 < psnr.item() < 35
    const = torch.full((1, 3, 12, 12), 0.4)
    assert torch.allclose(D.bilinear_upscale_input(const, 3), const, atol=1e-6)
    with pytest.raises(ValueError, match="modcrop"):
        D.bilinear_upscale_input(img[..., :95, :], 3)
    assert D.modcrop(img[..., :95, :], 3).shape[-2:] == (93, 120)
