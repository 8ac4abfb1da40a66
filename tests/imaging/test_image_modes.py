"""Every image mode is read right or refused (issue 31, item 5): each mode Pillow can write, in
PNG, TIFF and JPEG where the format allows it, reads as the RGB that Pillow's own conversion
gives (16-bit grey at its depth); CMYK and palette TIFFs are converted, not read as planes or
indices; EXIF orientation is applied; float images and decompression bombs are refused with the
file named."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imgloss.cli.commands import main
from imgloss.data.image_files import read_rgb

FORMATS = {  # the modes each format can store
    "png": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"),  # Pillow writes no PA PNG
    "tiff": ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "F"),
    "jpg": ("L", "RGB", "CMYK"),
}


def _picture(mode: str) -> Image.Image:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), "RGB")
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (12, 16), dtype=np.uint16))
    if mode == "F":
        return Image.fromarray(rng.random((12, 16), dtype=np.float32))
    if mode in ("P", "PA"):
        return rgb.quantize(8).convert(mode)
    return rgb.convert(mode)


@pytest.mark.parametrize(("fmt", "mode"), [(f, m) for f, modes in FORMATS.items() for m in modes])
def test_each_mode_reads_as_pillows_rgb(tmp_path, fmt, mode):
    path = tmp_path / f"{mode.replace(';', '')}.{fmt}"
    _picture(mode).save(path)
    with Image.open(path) as img:
        stored = img.mode
        expected = (
            None if stored in ("F", "I;16", "I;16B", "I;16L") else np.asarray(img.convert("RGB"))
        )
        grey16 = np.asarray(img).astype(np.uint16) if stored.startswith("I;16") else None
    if stored == "F":
        with pytest.raises(ValueError, match=rf"{path.name}.*no fixed white level"):
            read_rgb(path)
        return
    arr = read_rgb(path)
    assert arr.shape == (12, 16, 3)
    if grey16 is not None:
        assert arr.dtype == np.uint16 and np.array_equal(arr[..., 0], grey16)
        assert np.array_equal(arr[..., 0], arr[..., 2])
    else:
        assert arr.dtype == np.uint8 and np.array_equal(arr, expected)


def test_cmyk_and_palette_tiffs_are_colours_not_planes_or_indices(tmp_path):
    red = Image.new("RGB", (8, 8), (200, 30, 40))
    red.convert("CMYK").save(tmp_path / "cmyk.tif")
    red.quantize(4).save(tmp_path / "palette.tif")
    for name in ("cmyk.tif", "palette.tif"):
        arr = read_rgb(tmp_path / name).astype(int)
        assert abs(arr[..., 0].mean() - 200) < 3 and arr[..., 1].mean() < 40, name


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (20, 10), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 5, 10))  # white on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    arr = read_rgb(tmp_path / "rotated.jpg")
    assert arr.shape == (20, 10, 3)  # displayed upright: portrait
    assert arr[:4].mean() > 200 and arr[-4:].mean() < 50  # the white band is now on top


def test_a_decompression_bomb_is_one_line(tmp_path, monkeypatch, capsys):
    Image.new("RGB", (64, 64)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 4096 pixels: over twice the limit
    with pytest.raises(ValueError, match=r"bomb.png.*to protect memory"):
        read_rgb(tmp_path / "bomb.png")
    assert main(["demo", "--image", str(tmp_path / "bomb.png"), "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err.strip()
    assert "bomb.png" in err and "Traceback" not in err and len(err.splitlines()) == 1
    from imgloss.data.registry import decode  # what `imgloss data check` decodes with

    with pytest.raises(ValueError, match=r"cannot decode image .*bomb.png"):
        decode(tmp_path / "bomb.png")
