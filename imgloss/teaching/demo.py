"""A small demo: the paper's six losses on one real photograph and a noisy copy of it.

The clean image is, by default, the astronaut photograph that ships inside scikit-image
(``skimage.data.astronaut()``), so the demo never downloads anything. When the environment
variable ``IMGLOSS_DATA_ROOT`` points at a data root holding ``Kodak24/kodim23.png``, that Kodak
image is used instead; ``image=`` selects any other RGB file.

The degraded image is ``clip(clean + noise * n, 0, 1)`` with ``n ~ N(0, 1)`` drawn from a seeded
``torch.Generator``: the clipping to ``[0, 1]`` is part of the degradation (it makes the error a
little smaller than the noise). Outputs, written atomically to ``out_dir``:

* ``losses.png`` — clean, degraded, and the per-pixel error maps ``|x - y|``, ``(x - y)^2`` and
  ``1 - SSIM`` for ``sigma = 5`` and ``9`` (the SSIM maps are smaller than the image by the
  window border and are shown as they are), with the loss values in the titles;
* ``losses.json`` — the six loss values of :data:`imgloss.losses.PAPER_LOSSES` (sliding mode)
  and the provenance of the run.

Image files are read at their real bit depth by :func:`imgloss.data.image_files.read_rgb` and
scaled to ``[0, 1]`` by its maximum (255 for 8-bit, 65535 for 16-bit).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from imgloss import losses
from imgloss.core.provenance import atomic_write, provenance, write_json
from imgloss.data.image_files import read_png16, read_rgb  # noqa: F401 (read_png16 re-exported)

CROP = 256
KODAK_IMAGE = Path("Kodak24") / "kodim23.png"


def load_image(image: str | os.PathLike | None = None) -> tuple[np.ndarray, str]:
    """Return the demo's clean image (``H x W x 3`` uint8 or uint16, at the file's bit depth)
    and a description of its source."""
    if image is not None:
        path = Path(image)
        return read_rgb(path), f"file {path}"
    root = os.environ.get("IMGLOSS_DATA_ROOT")
    if root and (Path(root) / KODAK_IMAGE).is_file():
        return read_rgb(Path(root) / KODAK_IMAGE), f"IMGLOSS_DATA_ROOT/{KODAK_IMAGE.as_posix()}"
    from skimage import data

    return data.astronaut(), "skimage.data.astronaut() (bundled with scikit-image)"


def to_tensor(img: np.ndarray, crop: int = CROP) -> torch.Tensor:
    """``H x W x 3`` uint8 or uint16 -> ``1 x 3 x crop x crop`` float32 in ``[0, 1]``, centre
    crop; the samples are divided by the maximum of their bit depth (255 or 65535)."""
    if img.dtype not in (np.uint8, np.uint16):
        raise ValueError(
            f"image samples must be uint8 or uint16 (a known white level), got {img.dtype}"
        )
    h, w = img.shape[:2]
    if h < crop or w < crop:
        raise ValueError(f"image is {h}x{w}; the demo needs at least {crop}x{crop}")
    top, left = (h - crop) // 2, (w - crop) // 2
    patch = img[top : top + crop, left : left + crop, :3]
    white = np.float32(np.iinfo(img.dtype).max)  # 255 or 65535, both exact in float32
    scaled = patch.astype(np.float32) / white  # every 16-bit sample is exact in float32 too
    return torch.from_numpy(scaled).permute(2, 0, 1)[None].contiguous()


def degrade(clean: torch.Tensor, noise: float, seed: int) -> torch.Tensor:
    """Additive Gaussian noise of std ``noise`` (seeded), then clipping to ``[0, 1]``."""
    gen = torch.Generator().manual_seed(seed)
    n = torch.randn(clean.shape, generator=gen, dtype=clean.dtype)
    return (clean + noise * n).clamp(0.0, 1.0)


def error_maps(degraded: torch.Tensor, clean: torch.Tensor) -> dict[str, tuple[str, torch.Tensor]]:
    """Per-pixel error maps (mean over channels, 2-D), keyed by loss name, with a panel label.

    The ``1 - SSIM`` maps cover only the pixels whose window fits inside the image, so they are
    smaller than the image by the window border on each side.
    """
    d = degraded - clean
    maps = {"l1": ("|x - y|", d.abs()), "l2": ("(x - y)^2", d.square())}
    for sigma in (5, 9):
        m = 1 - losses.ssim_map(degraded, clean, sigma=sigma)
        label = f"1 - SSIM map, sigma={sigma} (valid region {m.shape[-2]}x{m.shape[-1]})"
        maps[f"ssim{sigma}"] = (label, m)
    return {name: (label, m[0].mean(0)) for name, (label, m) in maps.items()}


def _save_figure(path: Path, clean, degraded, maps, values, noise) -> None:
    from matplotlib.figure import Figure  # no pyplot: no backend chosen, no global state

    from imgloss.report import style

    with style.context():
        fig = Figure(figsize=(13, 9), layout="constrained")
        axes = fig.subplots(2, 3)
        _draw(fig, axes, clean, degraded, maps, values, noise)
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))


def _draw(fig, axes, clean, degraded, maps, values, noise) -> None:
    from imgloss.report import style

    def rgb(t: torch.Tensor) -> np.ndarray:
        return t[0].permute(1, 2, 0).numpy()

    size = clean.shape[-1]
    summary = ", ".join(f"{k}={v:.4f}" for k, v in values.items())
    panels: list[tuple[str, np.ndarray, str | None]] = [("clean", rgb(clean), None)]
    panels.append((f"degraded: N(0, {noise:g}^2) noise, clipped to [0, 1]", rgb(degraded), None))
    for name, (label, m) in maps.items():
        panels.append((f"{label}\n{name} loss = {values[name]:.4f}", m.numpy(), style.ERROR_CMAP))
    for ax, (title, img, cmap) in zip(axes.flat, panels, strict=True):
        # Maps smaller than the image (SSIM's valid region) sit at their true place, unscaled.
        border = (size - img.shape[0]) / 2
        extent = (border - 0.5, size - border - 0.5, size - border - 0.5, border - 0.5)
        shown = ax.imshow(img, cmap=cmap, extent=extent)
        ax.set_xlim(-0.5, size - 0.5)
        ax.set_ylim(size - 0.5, -0.5)
        if cmap is not None:
            style.colorbar(fig, shown, ax, "per-pixel loss")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Loss values (sliding mode): {summary}", fontsize=10)


def run(
    out_dir: str | os.PathLike,
    image: str | os.PathLike | None = None,
    noise: float = 0.1,
    seed: int = 0,
) -> dict:
    """Compare the paper's losses on a real image and a noisy copy; write the figure and JSON.

    Args:
        out_dir: folder for ``losses.png`` and ``losses.json`` (created if missing).
        image: an RGB image file; ``None`` uses Kodak ``kodim23`` from ``IMGLOSS_DATA_ROOT`` if
            present, else scikit-image's bundled astronaut photograph.
        noise: standard deviation of the additive Gaussian noise (on the ``[0, 1]`` scale).
        seed: seed of the noise generator.

    Returns:
        The dictionary written to ``losses.json``.
    """
    if not noise >= 0:
        raise ValueError(f"noise must be a non-negative number, got {noise}")
    img, source = load_image(image)
    clean = to_tensor(img)
    degraded = degrade(clean, noise, seed)

    values = {}
    with torch.no_grad():
        for name in tqdm(losses.PAPER_LOSSES, desc="losses", unit="loss"):
            values[name] = float(losses.get(name)(degraded, clean))
        maps = error_maps(degraded, clean)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "losses": values,
        "window": "sliding",
        "degradation": (
            f"clean + N(0, {noise:g}^2) Gaussian noise (torch.Generator, seed {seed}), "
            "then clipped to [0, 1]; the clipping is part of the degradation"
        ),
        "provenance": provenance(
            "cpu",
            image_source=source,
            crop=f"centre {CROP}x{CROP}",
            noise=noise,
            seed=seed,
        ),
        "figure": "losses.png",
    }
    _save_figure(out / "losses.png", clean, degraded, maps, values, noise)
    write_json(out / "losses.json", result)
    return result
