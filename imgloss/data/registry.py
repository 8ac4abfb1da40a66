"""The dataset registry: what each dataset is, where it comes from, and how to check it.

Every registered dataset lives in its own folder under a *data root*, the folder named by the
environment variable ``IMGLOSS_DATA_ROOT`` (or passed explicitly). Files are checked by the
SHA-256 of their *decoded pixels* (``manifest.json``), not of their bytes: a lossless re-encoding
(e.g. the TIFF/BMP sources converted to PNG) keeps its checksum, and a corrupt or truncated file
is caught by name before any experiment starts.

``manifest.json`` is written by ``data/make_manifest.py`` from a verified copy of the data.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from imgloss.core.errors import InputError

ENV_VAR = "IMGLOSS_DATA_ROOT"


@dataclass(frozen=True)
class Source:
    """A public git repository holding the files: ``{repo}@{commit}:{path_template}``."""

    repo: str
    commit: str
    path: str  # template with {stem} and {name} (and {split} for BSDS_train)
    ext: str  # the source files' extension (".png", ".tif", ".bmp", ".jpg")


@dataclass(frozen=True)
class Dataset:
    name: str
    role: str  # "train" or "test"
    tasks: tuple[str, ...]
    licence: str
    source: Source
    notes: str = ""
    overlaps: tuple[str, ...] = field(default_factory=tuple)

    @property
    def files(self) -> dict[str, dict]:
        """``{file name: {"sha256": pixel hash, "shape": [...], ...}}`` from the manifest."""
        return manifest()[self.name]

    @property
    def count(self) -> int:
        return len(self.files)


_IRCNN = "cszn/IRCNN", "d9dcd537bdac3ae5b753296cd675db8a303c8f72"
_SWINIR = "JingyunLiang/SwinIR", "6545850fbf8df298df73d81f3e8cba638787c8bd"
_BSDS = "Sisso16/ssn_pytorch", "c4f9ac8c43397cbacbf2e2ba1505efafa769435d"
_MAJED = "majedelhelou/denoising_datasets", "58234876fef6f1b56306705c78dfd40cdb837b86"
_DNCNN = "cszn/DnCNN", "e93b27812d3ff523a3a79d19e5e50d233d7a8d0a"
_BSDS_LICENCE = (
    "Berkeley Segmentation Dataset (Corel images): non-commercial research and education"
)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "Kodak24",
            "test",
            ("demosaic", "jpeg"),
            "Kodak Lossless True Color Image Suite: released by Kodak for unrestricted use",
            Source(*_IRCNN, "testsets/Set24/{stem}.png", ".png"),
            overlaps=("LIVE1: 19 of its 29 references are (cropped or rescaled) Kodak images",),
        ),
        Dataset(
            "McMaster",
            "test",
            ("demosaic",),
            "research benchmark (Zhang, Wu, Buades, Li, JEI 2011), no explicit licence: cite it",
            Source(*_SWINIR, "testsets/McMaster/{stem}.tif", ".tif"),
            notes="TIFF sources stored as lossless PNG",
        ),
        Dataset(
            "CBSD68",
            "test",
            (),  # a denoising benchmark: none of the paper's three tasks tests on it
            _BSDS_LICENCE,
            Source(*_IRCNN, "testsets/CBSD68/{stem}.png", ".png"),
            overlaps=("BSD100: all 68 images are in BSD100 (pixel-identical)",),
        ),
        Dataset(
            "BSD100",
            "test",
            ("sr",),
            _BSDS_LICENCE,
            Source(*_BSDS, "BSR/BSDS500/data/images/val/{stem}.jpg", ".jpg"),
            notes="the original BSDS JPEGs, decoded and stored as PNG",
            overlaps=("CBSD68 is a subset",),
        ),
        Dataset(
            "BSDS_train",
            "train",
            ("demosaic", "jpeg", "sr"),
            _BSDS_LICENCE,
            Source(*_BSDS, "BSR/BSDS500/data/images/{split}/{stem}.jpg", ".jpg"),
            notes="BSDS500 train + test splits minus 302003 (a Set5 image is a crop of it); "
            "disjoint from every test set",
        ),
        Dataset(
            "Set5",
            "test",
            ("sr",),
            "research benchmark (Bevilacqua et al. 2012): cite it",
            Source(*_SWINIR, "testsets/Set5/HR/{stem}.png", ".png"),
            overlaps=("Set14: head ~ face; butterfly is a crop of monarch",),
        ),
        Dataset(
            "Set14",
            "test",
            ("sr",),
            "research benchmark (Zeyde et al. 2010): cite it",
            Source(*_MAJED, "CSet14/{stem}.png", ".png"),
            notes="bridge.png is greyscale",
            overlaps=("LIVE1: monarch", "Classic5: lena and peppers (grey versions)"),
        ),
        Dataset(
            "Urban100",
            "test",
            ("sr",),
            "research benchmark (Huang et al. 2015, Flickr images): cite it",
            Source(*_MAJED, "CUrban100/{stem}.png", ".png"),
            notes="first 50 of the 100 images",
        ),
        Dataset(
            "LIVE1",
            "test",
            ("jpeg",),
            "LIVE IQA database release 2 references: free for research, cite the LIVE papers",
            Source(*_DNCNN, "testsets/LIVE1/{stem}.bmp", ".bmp"),
            notes="BMP sources stored as lossless PNG",
            overlaps=("Kodak24: 19 images", "Set14: monarch"),
        ),
        Dataset(
            "Classic5",
            "test",
            ("jpeg",),
            "classic greyscale test images: research use",
            Source(*_SWINIR, "testsets/classic5/{stem}.bmp", ".bmp"),
            notes="greyscale; BMP sources stored as lossless PNG",
        ),
    ]
}


@cache
def manifest() -> dict[str, dict[str, dict]]:
    """The per-file pixel checksums of every registered dataset (``manifest.json``)."""
    return json.loads((Path(__file__).with_name("manifest.json")).read_text())


def get(name: str) -> Dataset:
    """The registered dataset ``name``; an :class:`~imgloss.core.errors.InputError` (a
    ``ValueError``) lists the valid names otherwise."""
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; registered: {', '.join(DATASETS)}")
    return DATASETS[name]


def data_root(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$IMGLOSS_DATA_ROOT``; a clear error if neither is set."""
    value = root if root is not None else os.environ.get(ENV_VAR)
    if not value:
        raise FileNotFoundError(
            f"no data root: set {ENV_VAR} to a folder holding the datasets (one sub-folder each), "
            f"or fetch one with `imgloss data fetch NAME --root DIR`"
        )
    return Path(value)


def decode(path: str | os.PathLike) -> np.ndarray:
    """The pixels of an image file in its own mode (``H x W`` or ``H x W x C``).

    Raises an :class:`~imgloss.core.errors.InputError` (a ``ValueError``) naming the file if it
    cannot be decoded completely.
    """
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            return np.ascontiguousarray(np.asarray(img))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise InputError(f"cannot decode image {path}: {err}") from None


def sha256_of(pixels: np.ndarray) -> str:
    """SHA-256 of a decoded pixel array (the checksum stored in ``manifest.json``)."""
    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()


def pixel_sha256(path: str | os.PathLike) -> tuple[str, list[int], str]:
    """SHA-256 of the decoded pixels of an image file, with their shape and Pillow mode."""
    from PIL import Image

    pixels = decode(path)
    with Image.open(path) as img:
        mode = img.mode
    return sha256_of(pixels), list(pixels.shape), mode
