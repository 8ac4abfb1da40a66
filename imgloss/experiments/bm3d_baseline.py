"""Table 1's BM3D column: VST + BM3D on the Bayer mosaic, then DLMMSE demosaicking (4.1).

The paper compares its networks for joint denoising + demosaicking with the state of the art of
its time, following the BM3D authors' recommendation for raw data:

1. the noisy RGGB mosaic ``z`` (the very same draw as the networks' test input, see
   :meth:`imgloss.design.tasks.Task.test_pair`) is variance-stabilised with the generalized Anscombe
   transform, ``f(z)`` (:func:`imgloss.imaging.vst.gat`), so that its noise has unit variance;
2. BM3D denoises ``f(z)`` with ``sigma = 1`` (the ``bm3d`` package, Mäkitalo/Foi's group);
3. the exact unbiased inverse (:func:`imgloss.imaging.vst.gat_inverse_unbiased`) returns to
   intensities;
4. DLMMSE (:func:`imgloss.imaging.demosaic.dlmmse`) demosaicks the denoised mosaic.

BM3D has no CFA mode. ``layout`` says how the mosaic is shown to it: ``"whole"`` (the mosaic as
one grey image), ``"planes"`` (the four half-resolution colour planes R, G1, G2, B separately)
or ``"tiled"`` (the four planes tiled 2 x 2 into one image, so blocks can match across planes).
``benchmarks/bm3d_layouts.py`` measures them on centre crops of Kodak24 images and writes
``layouts.json`` beside the BM3D results of the registered data; ``"whole"`` scored best there,
so it is the default.

``bm3d`` is licensed for non-commercial use only: it is an optional extra
(``pip install imgloss[bm3d]``), imported lazily, never vendored; without it everything else
works and :func:`bm3d_available` is False.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from imgloss.core.errors import InputError, UserError
from imgloss.core.provenance import provenance, write_json
from imgloss.data import load_images
from imgloss.design import tasks as T
from imgloss.imaging import degradations as D
from imgloss.metrics import METRICS, MetricTable, evaluate
from imgloss.results.records import BM3DRecord
from imgloss.results.workspace import Workspace

LAYOUTS = ("whole", "planes", "tiled")
DEFAULT_LAYOUT = "whole"


class BM3DUnavailableError(UserError, ImportError):
    """The optional ``bm3d`` package is not installed."""


def bm3d_available() -> bool:
    """Whether the optional ``bm3d`` package (non-commercial licence) imports here."""
    try:
        import bm3d  # noqa: F401
    except ImportError:
        return False
    return True


def _bm3d():
    try:
        import bm3d
    except ImportError as err:
        raise BM3DUnavailableError(
            "the BM3D baseline needs the optional package bm3d (non-commercial licence): "
            "pip install 'imgloss[bm3d]' (or pip install bm3d)"
        ) from err
    return bm3d


def _denoise_grey(image: np.ndarray) -> np.ndarray:
    return np.asarray(_bm3d().bm3d(image, sigma_psd=1.0), dtype=np.float64)


def denoise_stabilised_mosaic(stabilised: np.ndarray, layout: str = DEFAULT_LAYOUT) -> np.ndarray:
    """BM3D (``sigma = 1``) of a variance-stabilised ``H x W`` mosaic, shown to it as ``layout``."""
    if layout not in LAYOUTS:
        raise InputError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if stabilised.ndim != 2 or stabilised.shape[0] % 2 or stabilised.shape[1] % 2:
        raise ValueError(
            f"stabilised must be an H x W mosaic with even sides, got {stabilised.shape}"
        )
    if layout == "whole":
        return _denoise_grey(stabilised)
    planes = [stabilised[i::2, j::2] for i in (0, 1) for j in (0, 1)]
    if layout == "planes":
        planes = [_denoise_grey(p) for p in planes]
    else:
        h, w = planes[0].shape
        tiled = np.block([[planes[0], planes[1]], [planes[2], planes[3]]])
        out = _denoise_grey(tiled)
        planes = [out[:h, :w], out[:h, w:], out[h:, :w], out[h:, w:]]
    result = np.empty_like(stabilised, dtype=np.float64)
    for k, (i, j) in enumerate((i, j) for i in (0, 1) for j in (0, 1)):
        result[i::2, j::2] = planes[k]
    return result


def bm3d_demosaic(noisy_mosaic: torch.Tensor, *, layout: str = DEFAULT_LAYOUT) -> torch.Tensor:
    """The whole baseline on one noisy RGGB mosaic ``(1, 1, H, W)`` -> RGB ``(1, 3, H, W)``.

    The denoised mosaic is clipped to [0, 1] before demosaicking and the RGB result is clipped to
    [0, 1], as when it is stored as an image.
    """
    from imgloss.imaging.demosaic import dlmmse
    from imgloss.imaging.vst import gat, gat_inverse_unbiased

    if noisy_mosaic.dim() != 4 or noisy_mosaic.shape[:2] != (1, 1):
        raise ValueError(f"noisy_mosaic must be (1, 1, H, W), got {tuple(noisy_mosaic.shape)}")
    z = noisy_mosaic.double().cpu()
    stabilised = gat(z)[0, 0].numpy()
    denoised = torch.from_numpy(denoise_stabilised_mosaic(stabilised, layout))[None, None]
    mosaic = gat_inverse_unbiased(denoised).clamp(0, 1)
    return dlmmse(mosaic).clamp(0, 1).to(noisy_mosaic.dtype)


def noisy_test_mosaic(clean: torch.Tensor, *, seed: int, dataset: str, image: str) -> torch.Tensor:
    """The noisy mosaic of a test image: the same draw as the networks' test input."""
    gen = torch.Generator().manual_seed(T.image_seed(seed, "demosaic", dataset, image))
    return D.poisson_gaussian(D.bayer_mosaic(clean.cpu()), generator=gen)


def _even_crop(clean: torch.Tensor, crop: int | None) -> torch.Tensor:
    h, w = clean.shape[-2:]
    if crop is not None:
        s = min(crop, h, w)
        top, left = (h - s) // 2, (w - s) // 2
        clean = clean[..., top : top + s, left : left + s]
        h, w = clean.shape[-2:]
    return clean[..., : h - h % 2, : w - w % 2]


def run_bm3d(
    datasets: list[str] | None = None,
    ws: Workspace | None = None,
    *,
    layout: str = DEFAULT_LAYOUT,
    seed: int = 0,
    crop: int | None = None,
    images: int | None = None,
    **where: Any,
) -> BM3DRecord:
    """The BM3D column on each test set of the workspace's data source, cached per image;
    writes ``<results>/<source>/bm3d/demosaic.json`` (``where``: the workspace's keywords
    instead, :meth:`~imgloss.results.workspace.Workspace.of`). BM3D runs on the CPU.

    Each image's measures are stored in
    ``<results>/<source>/bm3d/cache/<settings>/<dataset>/<image>.json`` as soon as it is done, so an
    interrupted run resumes where it stopped (BM3D takes tens of seconds per Kodak image on a CPU).
    Images with odd sides are cropped by one row/column (the mosaic needs whole 2 x 2 blocks);
    ``crop`` takes a centre crop (for quick checks).
    """
    from imgloss.experiments.baselines import test_sets

    _bm3d()  # fail early, with the install hint
    ws = Workspace.of(ws, **where)
    task = T.get("demosaic")
    source = ws.source
    folder = ws.register()
    names = test_sets(task, datasets, source)
    settings = {"layout": layout, "seed": seed, "crop": crop, "images": images}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    cache = folder.bm3d().parent / "cache" / key
    tables: dict[str, MetricTable] = {}
    records = []
    for dataset in names:
        data, record = load_images(dataset, ws.root)
        data = data[:images] if images else data
        records.append(record | {"images_used": len(data)})
        table = MetricTable(METRICS)
        for image, img in tqdm(data, desc=f"BM3D {dataset}", unit="img", disable=not ws.progress):
            path = cache / dataset / f"{Path(image).stem}.json"
            if path.is_file():
                values = json.loads(path.read_text())
            else:
                clean = _even_crop(T.to_tensor(img, dtype=torch.float64), crop)
                noisy = noisy_test_mosaic(clean, seed=seed, dataset=dataset, image=image)
                values = evaluate(bm3d_demosaic(noisy, layout=layout), clean)
                write_json(path, values)
            table.add(image, values)
        tables[dataset] = table
    import bm3d

    result = BM3DRecord(
        settings=settings,
        source=source.tag,
        tables=tables,
        provenance=provenance(
            "cpu",
            source=source.tag,
            data=records,
            bm3d_version=getattr(bm3d, "__version__", "unknown"),
            metrics=list(METRICS),
        ),
    )
    result.save(folder.bm3d())
    return result
