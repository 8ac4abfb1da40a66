"""The corrupted inputs of the paper's three tasks (Sections 4.1-4.3), batched and seeded.

All functions take and return NCHW float tensors with values in ``[0, 1]`` on any device.

* Joint denoising + demosaicking (4.1): :func:`bayer_mosaic` (RGGB by default), the clipped
  Poisson-Gaussian noise of Foi et al. (:func:`poisson_gaussian`,
  ``z = clip(y + sqrt(a y + b) n, 0, 1)``, ``a = 0.005``, ``b = 0.0001``), and
  :func:`bilinear_demosaic`, whose 3-channel output is the network input.
* JPEG artefact removal (4.3): :func:`jpeg` re-encodes with Pillow's libjpeg at ``quality=25``
  (the standard IJG tables, 4:2:0 chroma subsampling, as MATLAB's ``imwrite``).
* Super-resolution (4.2): :func:`bilinear_upscale_input` downsamples with antialiased bicubic
  (MATLAB ``imresize``) and upsamples back with bilinear interpolation, the paper's network input.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F

FOI_A = 0.005
FOI_B = 0.0001
PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")


def _check_images(name: str, t: torch.Tensor, channels: int | None = None) -> None:
    if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() != 4:
        raise TypeError(
            f"{name} must be a floating-point NCHW tensor, got {getattr(t, 'shape', type(t))}"
        )
    if channels is not None and t.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s), got shape {tuple(t.shape)}")


def bayer_masks(
    pattern: str, height: int, width: int, *, device=None, dtype=torch.float32
) -> torch.Tensor:
    """``(1, 3, H, W)`` 0/1 masks of the R, G and B sites of a Bayer ``pattern`` (e.g. ``"RGGB"``).

    The pattern names the colours of the top-left 2 x 2 block in reading order.
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}")
    masks = torch.zeros(1, 3, height, width, device=device, dtype=dtype)
    for k, colour in enumerate(pattern):
        masks[0, "RGB".index(colour), k // 2 :: 2, k % 2 :: 2] = 1
    return masks


def bayer_mosaic(rgb: torch.Tensor, pattern: str = "RGGB") -> torch.Tensor:
    """Sample an RGB image on a Bayer colour filter array: ``(N, 3, H, W) -> (N, 1, H, W)``."""
    _check_images("rgb", rgb, 3)
    masks = bayer_masks(pattern, *rgb.shape[-2:], device=rgb.device, dtype=rgb.dtype)
    return (rgb * masks).sum(dim=1, keepdim=True)


def poisson_gaussian(
    clean: torch.Tensor,
    a: float = FOI_A,
    b: float = FOI_B,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Clipped heteroscedastic noise of Foi (2009): ``clip(y + sqrt(a y + b) n, 0, 1)``.

    ``n ~ N(0, 1)`` i.i.d.; the variance ``a y + b`` models photon shot noise (``a y``) plus
    read noise (``b``); the clipping models the sensor's zero level and saturation. The draw comes
    from ``generator`` (on ``clean``'s device) for reproducibility.
    """
    _check_images("clean", clean)
    if not (a >= 0 and b >= 0):
        raise ValueError(f"a and b must be non-negative, got a={a}, b={b}")
    if float(clean.min()) < 0 or float(clean.max()) > 1:
        raise ValueError("clean must lie in [0, 1] (the noise model clips to that range)")
    noise = torch.randn(clean.shape, generator=generator, device=clean.device, dtype=clean.dtype)
    return (clean + torch.sqrt(a * clean + b) * noise).clamp(0, 1)


_K_GREEN = torch.tensor([[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]]) / 4
_K_RED_BLUE = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 4


def bilinear_demosaic(mosaic: torch.Tensor, pattern: str = "RGGB") -> torch.Tensor:
    """Bilinear demosaicking: ``(N, 1, H, W) -> (N, 3, H, W)``.

    Each colour plane is interpolated from its own samples with the classic kernels (green: the
    4-neighbour average; red and blue: the 8-neighbour bilinear weights). At the image border the
    weights are renormalised over the samples that exist (normalised convolution), so no value
    outside the image is assumed; inside, this is exactly the standard bilinear demosaicking, and
    samples present in the mosaic are kept unchanged.
    """
    _check_images("mosaic", mosaic, 1)
    masks = bayer_masks(pattern, *mosaic.shape[-2:], device=mosaic.device, dtype=mosaic.dtype)
    kernels = torch.stack([_K_RED_BLUE, _K_GREEN, _K_RED_BLUE])[:, None].to(mosaic)
    sampled = mosaic * masks
    num = F.conv2d(sampled, kernels, padding=1, groups=3)
    den = F.conv2d(masks, kernels, padding=1, groups=3)
    return num / den


def jpeg(rgb: torch.Tensor, quality: int = 25) -> torch.Tensor:
    """JPEG round trip with Pillow (libjpeg, standard tables, 4:2:0 chroma subsampling).

    Pixels are rounded to 8 bits before encoding, as when an image file is written; the result is
    returned on ``rgb``'s device and dtype. Encoding runs on the CPU, one image at a time.
    """
    from PIL import Image

    _check_images("rgb", rgb, 3)
    if not (isinstance(quality, int) and 1 <= quality <= 95):
        raise ValueError(f"quality must be an integer in [1, 95], got {quality!r}")
    out = []
    for img in rgb.detach().cpu():
        u8 = (img.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        buf = io.BytesIO()
        Image.fromarray(u8).save(buf, format="JPEG", quality=quality, subsampling="4:2:0")
        buf.seek(0)
        dec = np.asarray(Image.open(buf).convert("RGB"))
        out.append(torch.from_numpy(dec.copy()).permute(2, 0, 1))
    return (torch.stack(out).to(rgb.dtype) / 255).to(rgb.device)


def bilinear_upscale_input(rgb: torch.Tensor, scale: int = 3) -> torch.Tensor:
    """The super-resolution network input: downsample by ``scale`` (antialiased bicubic, as
    MATLAB's ``imresize``), then upsample back with bilinear interpolation (paper 4.2).

    ``H`` and ``W`` must be multiples of ``scale`` (crop first, e.g. with :func:`modcrop`): the
    image is never resized or cropped silently. The low-resolution image is clipped to
    ``[0, 1]`` (bicubic overshoots), as when it is stored as an 8-bit image.
    """
    _check_images("rgb", rgb)
    h, w = rgb.shape[-2:]
    if not (isinstance(scale, int) and scale >= 2):
        raise ValueError(f"scale must be an integer >= 2, got {scale!r}")
    if h % scale or w % scale:
        raise ValueError(
            f"image size {h}x{w} is not a multiple of scale {scale}; crop it first with modcrop()"
        )
    low = F.interpolate(
        rgb, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False
    )
    return F.interpolate(low.clamp(0, 1), size=(h, w), mode="bilinear", align_corners=False)


def modcrop(rgb: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop the bottom/right so that ``H`` and ``W`` are multiples of ``scale`` (SRCNN
    convention)."""
    h, w = rgb.shape[-2:]
    return rgb[..., : h - h % scale, : w - w % scale]
