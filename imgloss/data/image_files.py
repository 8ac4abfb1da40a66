"""Image files given by a user (not registered datasets), read at their real bit depth.

Pillow reduces 16-bit colour PNGs and TIFFs to 8 bits silently, so :func:`read_rgb` reads
16-bit PNGs with pypng (:func:`read_png16`) and TIFFs with ``tifffile``; grey images are
repeated into three channels and an alpha channel is dropped. Anything else that cannot be read
at full depth is refused with an :class:`~imgloss.core.errors.InputError` (a ``ValueError``)
naming the file. (Registered datasets are decoded and checked against their checksums by
``imgloss.data.registry``.)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from imgloss.core.errors import InputError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def read_png16(path: str | os.PathLike) -> np.ndarray:
    """A 16-bit PNG's samples as stored: ``H x W x C`` uint16, ``C`` = 1 to 4 (read with pypng;
    Pillow, and imageio / scikit-image through it, return 16-bit colour PNGs as 8-bit RGB)."""
    import png

    try:
        width, height, rows, info = png.Reader(filename=str(path)).asDirect()
        if info["bitdepth"] != 16:
            raise InputError(f"read_png16 reads 16-bit PNGs, got bit depth {info['bitdepth']}")
        arr = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    except png.Error as err:
        raise InputError(f"cannot read image {path}: {err}") from None
    return arr.reshape(height, width, info["planes"])


def _as_rgb(arr: np.ndarray, path: Path) -> np.ndarray:
    """``H x W`` or ``H x W x C`` (C = 1..4) -> ``H x W x 3``: grey repeated, alpha dropped."""
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 2, 3, 4):
        raise InputError(f"cannot read image {path}: unsupported shape {arr.shape}")
    if arr.shape[-1] <= 2:  # grey (+ alpha)
        return np.repeat(arr[..., :1], 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3])


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as ``H x W x 3`` uint8 or uint16 (its real bit depth), with an error
    that names the path. Never reduces 16-bit data to 8 bits.

    16-bit grey or RGB PNGs and TIFFs are read at full depth (pypng, tifffile); everything else
    goes through Pillow (:func:`pillow_rgb`: EXIF orientation applied, CMYK and palettes
    converted to RGB, alpha dropped). A file over Pillow's decompression-bomb limit is refused."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    with path.open("rb") as f:
        head = f.read(32)
    try:
        if head.startswith(_PNG_SIGNATURE) and len(head) > 24 and head[24] == 16:
            return _as_rgb(read_png16(path), path)
        if head.startswith(_TIFF_SIGNATURES) and _deep_grey_or_rgb_tiff(path):
            import tifffile

            return _as_rgb(tifffile.imread(path), path)
        with Image.open(path) as img:
            return pillow_rgb(img, path)
    except Image.DecompressionBombError as exc:
        raise InputError(f"cannot read image {path}: {exc} (not read, to protect memory)") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from exc
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        raise InputError(f"cannot read image {path}: {exc}") from exc


def _deep_grey_or_rgb_tiff(path: Path) -> bool:
    """Whether a TIFF holds more than 8 bits per sample of grey or RGB (read with tifffile;
    Pillow converts those to 8 bits). CMYK, palette and 8-bit TIFFs are Pillow's."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first  # a TiffPage (keyframe), which knows its tags
        photometric = int(page.photometric)
        bits = int(page.bitspersample)
        kind = page.dtype.kind if page.dtype is not None else "?"
    grey_or_rgb = photometric in (1, 2)  # MINISBLACK, RGB
    if bits > 8 and not grey_or_rgb:
        raise InputError(
            f"{bits}-bit TIFF with photometric interpretation {photometric} (not grey or RGB) "
            "is not supported; save it as an RGB or grey TIFF or PNG"
        )
    if bits > 8 and kind == "f":
        raise InputError(
            f"{page.dtype} TIFF samples have no fixed white level; save it as an 8- or 16-bit image"
        )
    if bits > 8 and kind != "u":
        raise InputError(
            f"{page.dtype} TIFF samples are not supported (8- or 16-bit unsigned integers only)"
        )
    return bits > 8


def pillow_rgb(img, name: str | os.PathLike = "image") -> np.ndarray:
    """A Pillow image as ``H x W x 3`` uint8 (uint16 for 16-bit grey): its EXIF orientation
    applied, every 8-bit mode (1, L, LA, P, PA, RGB, RGBA, CMYK, YCbCr, ...) converted to RGB;
    float or 32-bit modes refused (no fixed white level), naming ``name``."""
    from PIL import ImageOps

    img = ImageOps.exif_transpose(img)
    if img.mode.startswith("I;16"):
        return _as_rgb(np.asarray(img).astype(np.uint16), Path(name))
    if img.mode == "I":
        arr = np.asarray(img)
        if arr.min() < 0 or arr.max() > 65535:
            raise InputError(f"cannot read image {name}: 32-bit integer samples outside 0..65535")
        return _as_rgb(arr.astype(np.uint16), Path(name))
    if img.mode in ("F", "I;32", "I;32B", "I;32L"):
        raise InputError(
            f"cannot read image {name}: mode {img.mode!r} (float or 32-bit samples) has no fixed "
            "white level; save it as an 8- or 16-bit image"
        )
    return np.asarray(img.convert("RGB"))
