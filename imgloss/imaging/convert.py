"""Conversions between images as tensors and as 8-bit arrays."""

from __future__ import annotations

import numpy as np


def to_uint8(image) -> np.ndarray:
    """A ``[0, 1]`` float image (``H x W``, ``H x W x 3`` or a ``(1, C, H, W)`` tensor) as uint8.

    Values outside ``[0, 1]`` raise an error instead of being clipped silently.
    """
    if hasattr(image, "detach"):
        image = image.detach().cpu()
        if image.ndim == 4:
            image = image[0]
        if image.ndim == 3:
            image = image.permute(1, 2, 0)
        image = image.numpy()
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        return arr
    if arr.size and (np.nanmin(arr) < -1e-9 or np.nanmax(arr) > 1 + 1e-9):
        raise ValueError(
            f"image values must lie in [0, 1], got [{np.nanmin(arr):.4g}, {np.nanmax(arr):.4g}]"
        )
    return (np.clip(arr, 0, 1) * 255).round().astype(np.uint8)
