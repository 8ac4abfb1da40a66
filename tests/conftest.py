"""Shared fixtures: real RGB photographs for the reference tests.

Images come from the data root (``IMGLOSS_DATA_ROOT``, e.g. ``../shared/data`` in CI: Kodak24)
when it exists, and otherwise from the colour photographs that ship inside scikit-image, so the
tests never need a download.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def _real_images() -> list[tuple[str, np.ndarray]]:
    images = []
    root = os.environ.get("IMGLOSS_DATA_ROOT")
    if root:
        from PIL import Image

        for name in ("kodim05.png", "kodim23.png"):
            path = Path(root) / "Kodak24" / name
            if path.is_file():
                images.append((f"Kodak24/{name}", np.asarray(Image.open(path).convert("RGB"))))
    if not images:
        from skimage import data

        images = [("skimage.astronaut", data.astronaut()), ("skimage.coffee", data.coffee())]
    return images


REAL_IMAGES = _real_images()


def to_tensor(img: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    """HWC uint8 -> NCHW float in [0, 1]."""
    return torch.from_numpy(img.astype(np.float64) / 255.0).permute(2, 0, 1)[None].to(dtype)


@pytest.fixture(params=REAL_IMAGES, ids=[name for name, _ in REAL_IMAGES])
def real_pair(request) -> tuple[torch.Tensor, torch.Tensor]:
    """A real photograph (cropped to 256 x 320, float64) and a noisy, clipped copy of it."""
    _, img = request.param
    clean = to_tensor(img[:256, :320], torch.float64)
    gen = torch.Generator().manual_seed(0)
    noisy = (clean + 0.08 * torch.randn(clean.shape, generator=gen, dtype=torch.float64)).clamp(
        0, 1
    )
    return noisy, clean
