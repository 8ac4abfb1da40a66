"""Image files given by a user (not registered datasets), read at their real bit depth.

Pillow reduces 16-bit colour PNGs and TIFFs to 8 bits silently, so :func:`read_rgb` reads
16-bit PNGs with pypng (:func:`read_png16`) and TIFFs with ``tifffile``; grey images are
repeated into three channels and an alpha channel is dropped. Anything else that cannot be read
at full depth is refused with a ``ValueError`` naming the file. (Registered datasets are decoded
and checked against their checksums by ``imgloss.data.registry``.)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def read_png16(path: str | os.PathLike) -> np.ndarray:
    """A 16-bit PNG's samples as stored: ``H x W x C`` uint16, ``C`` = 1 to 4 (read with pypng;
    Pillow, and imageio / scikit-image through it, return 16-bit colour PNGs as 8-bit RGB)."""
    import png

    try:
        width, height, rows, info = png.Reader(filename=str(path)).asDirect()
        if info["bitdepth"] != 16:
            raise ValueError(f"read_png16 reads 16-bit PNGs, got bit depth {info['bitdepth']}")
        arr = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    except png.Error as err:
        raise ValueError(f"cannot read image {path}: {err}") from None
    return arr.reshape(height, width, info["planes"])


def _as_rgb(arr: np.ndarray, path: Path) -> np.ndarray:
    """``H x W`` or ``H x W x C`` (C = 1..4) -> ``H x W x 3``: grey repeated, alpha dropped."""
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"cannot read image {path}: unsupported shape {arr.shape}")
    if arr.shape[-1] <= 2:  # grey (+ alpha)
        return np.repeat(arr[..., :1], 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3])


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as ``H x W x 3`` uint8 or uint16 (its real bit depth), with an error
    that names the path. Never reduces 16-bit data to 8 bits."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    with path.open("rb") as f:
        head = f.read(32)
    try:
        if head.startswith(_PNG_SIGNATURE) and len(head) > 24 and head[24] == 16:
            return _as_rgb(read_png16(path), path)
        if head.startswith(_TIFF_SIGNATURES):
            import tifffile

            arr = tifffile.imread(path)
            if arr.dtype not in (np.uint8, np.uint16):
                raise ValueError(
                    f"cannot read image {path}: {arr.dtype} TIFF samples are not supported "
                    "(8- or 16-bit unsigned integers only)"
                )
            return _as_rgb(arr, path)
        with Image.open(path) as img:
            if img.mode.startswith("I;16"):
                return _as_rgb(np.asarray(img).astype(np.uint16), path)
            if img.mode == "I":
                arr = np.asarray(img)
                if arr.min() < 0 or arr.max() > 65535:
                    raise ValueError(
                        f"cannot read image {path}: 32-bit integer samples outside 0..65535"
                    )
                return _as_rgb(arr.astype(np.uint16), path)
            if img.mode in ("F", "I;32", "I;32B", "I;32L"):
                raise ValueError(
                    f"cannot read image {path}: mode {img.mode!r} (float or 32-bit samples) has "
                    "no fixed white level; save it as an 8- or 16-bit image"
                )
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from exc
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        raise ValueError(f"cannot read image {path}: {exc}") from exc
