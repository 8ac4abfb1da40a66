"""Finding, checking and fetching datasets under a data root."""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from imgloss.core.errors import InputError, UserError

from .registry import Dataset, data_root, decode, get, pixel_sha256, sha256_of

#: Raw-file URL of a file in a public git repository at a commit.
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"


class DatasetError(UserError, RuntimeError):
    """A dataset is missing, incomplete or has corrupt files (the message says which)."""


def _fetch_hint(name: str, root: Path) -> str:
    return f"fetch it with `imgloss data fetch {name} --root {root}`"


def _scan(
    name: str, root: str | os.PathLike | None, *, verify: bool = True
) -> Iterator[tuple[str, np.ndarray]]:
    """Decode every image of dataset ``name`` once, yielding ``(file name, pixels)``.

    With ``verify``, each image is checked against its registered pixel checksum; every missing,
    undecodable or altered file is collected and reported together, by name, with the expected
    place and the fetch command, in a :class:`DatasetError` raised at the end of the scan.
    """
    ds = get(name)
    root = data_root(root)
    folder = root / name
    if not folder.is_dir():
        raise DatasetError(
            f"dataset {name} not found: expected the folder {folder}; {_fetch_hint(name, root)}"
        )
    problems = []
    # disable=None: a transient bar on terminals, nothing in logs
    bar = tqdm(ds.files.items(), desc=f"reading {name}", unit="img", leave=False, disable=None)
    for file, expected in bar:
        pixels, problem = _read(folder / file, expected["sha256"] if verify else None)
        if problem or pixels is None:
            problems.append(f"{file}: {problem}")
            continue
        yield file, pixels
    if problems:
        listed = "\n  ".join(problems)
        raise DatasetError(
            f"dataset {name} in {folder} has {len(problems)} bad file(s):\n  {listed}\n"
            f"{_fetch_hint(name, root)}"
        )


def _read(path: Path, sha256: str | None) -> tuple[np.ndarray | None, str | None]:
    """Decode ``path`` and (when ``sha256`` is given) check its pixels: ``(pixels, problem)``."""
    if not path.is_file():
        return None, "missing"
    try:
        pixels = decode(path)
    except ValueError as err:
        return None, f"corrupt or truncated ({err})"
    if sha256 is not None and sha256_of(pixels) != sha256:
        return None, "pixels differ from the registered checksum"
    return pixels, None


def _rgb(pixels: np.ndarray) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(pixels).convert("RGB"))


def _match(image: str, names: list[str], dataset: str) -> str:
    """The name in ``names`` equal to ``image`` or with its stem (``kodim01`` = ``kodim01.png``)."""
    for candidate in names:
        if candidate == image or Path(candidate).stem == Path(image).stem:
            return candidate
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    raise InputError(f"image {image!r} is not in dataset {dataset!r} (it has {shown})")


def load_image(
    name: str, image: str, root: str | os.PathLike | None = None
) -> tuple[str, np.ndarray]:
    """One image of a registered or embedded dataset: ``(file name, H x W x 3 uint8)``.

    ``image`` is a file name or its stem. Only that file is read and checked against its
    registered pixel checksum, so this is the way to get one picture of a large test set.

    Raises:
        ValueError: ``image`` is not in the dataset (the message lists some of its names).
        DatasetError: the file is missing, undecodable or altered (with the fetch command).
    """
    from .embedded import EMBEDDED, is_embedded, load_embedded

    if is_embedded(name):
        loader = _match(image, list(EMBEDDED[name]), name)
        return load_embedded(name, only=(loader,))[0]
    ds = get(name)
    file = _match(image, list(ds.files), name)
    root = data_root(root)
    pixels, problem = _read(root / name / file, ds.files[file]["sha256"])
    if problem or pixels is None:
        raise DatasetError(f"dataset {name}: {file}: {problem}; {_fetch_hint(name, root)}")
    return file, _rgb(pixels)


def check(name: str, root: str | os.PathLike | None = None) -> Path:
    """Verify every file of dataset ``name`` against its pixel checksums; return its folder.

    Raises:
        DatasetError: listing every missing, undecodable or altered file by name, with the
            expected place and the fetch command.
    """
    for _ in _scan(name, root):
        pass
    return data_root(root) / name


def image_paths(
    name: str, root: str | os.PathLike | None = None, *, verify: bool = True
) -> list[Path]:
    """Paths of the images of dataset ``name`` in registry order (checked first by default)."""
    folder = check(name, root) if verify else data_root(root) / name
    return [folder / file for file in get(name).files]


def load(
    name: str, root: str | os.PathLike | None = None, *, verify: bool = True
) -> list[tuple[str, np.ndarray]]:
    """``[(file name, H x W x 3 uint8)]`` for dataset ``name`` (grey images are expanded to RGB).

    Each file is decoded once, and (by default) checked against its checksum before any image
    is returned.
    """
    return [(file, _rgb(pixels)) for file, pixels in _scan(name, root, verify=verify)]


def _download(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as fh:
        shutil.copyfileobj(response, fh)


def fetch(name: str, root: str | os.PathLike | None = None, *, base_url: str = RAW_URL) -> Path:
    """Download dataset ``name`` from its public source into ``root/name`` and verify it.

    Each file is downloaded to a temporary file, decoded and checked against its registered
    pixel checksum, then moved into place (as PNG when the source is TIFF or BMP, losslessly;
    JPEG and PNG sources are kept byte for byte, except BSD100, stored decoded as PNG). Files
    already present and correct are skipped, so an interrupted fetch resumes.
    """
    from PIL import Image

    ds: Dataset = get(name)
    root = data_root(root)
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    src = ds.source
    for file, expected in tqdm(ds.files.items(), desc=f"fetching {name}", unit="img"):
        target = folder / file
        if target.is_file():
            try:
                if pixel_sha256(target)[0] == expected["sha256"]:
                    continue
            except ValueError:
                pass  # corrupt: fetch again
        stem = Path(file).stem
        path = src.path.format(stem=stem, name=file, split=expected.get("split", ""))
        url = base_url.format(repo=src.repo, commit=src.commit, path=path)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            raw = Path(tmp) / f"download{src.ext}"
            try:
                _download(url, raw)
            except OSError as err:
                raise DatasetError(f"{name}/{file}: download of {url} failed: {err}") from err
            digest, _, _ = pixel_sha256(raw)
            if digest != expected["sha256"]:
                raise DatasetError(
                    f"{name}/{file}: the pixels downloaded from {url} do not match the registry"
                )
            staged = Path(tmp) / file
            if raw.suffix.lower() == target.suffix.lower():
                raw.replace(staged)
            else:
                with Image.open(raw) as img:
                    img.save(staged)
                if pixel_sha256(staged)[0] != expected["sha256"]:
                    raise DatasetError(f"{name}/{file}: lossless conversion changed the pixels")
            os.replace(staged, target)
    return folder


def is_present(name: str, root: str | os.PathLike | None = None) -> bool:
    """Whether dataset ``name``'s folder holds all its registered files (not verified)."""
    from .embedded import is_embedded

    if is_embedded(name):
        return True
    try:
        folder = data_root(root) / name
    except FileNotFoundError:
        return False
    return folder.is_dir() and all((folder / f).is_file() for f in get(name).files)


def load_images(
    name: str, root: str | os.PathLike | None = None
) -> tuple[list[tuple[str, np.ndarray]], dict]:
    """Images of a registered or embedded dataset, and a record of where they came from.

    Returns ``([(file name, H x W x 3 uint8)], {"name", "images", "checksum", "source",
    "verified"})``, naming the data by checksum (:func:`imgloss.data.source.dataset_ref`), never by
    a local path;
    registered datasets are checked against their checksums first (a :class:`DatasetError`
    names every bad file).
    """
    from .embedded import is_embedded, load_embedded, source
    from .source import dataset_ref

    if is_embedded(name):
        images = load_embedded(name)
        origin = source()
    else:
        images = load(name, root)
        origin = "registered dataset (pixel checksums verified)"
    record = {
        "name": name,
        "images": len(images),
        "checksum": dataset_ref(name).checksum,
        "source": origin,
        "verified": True,
    }
    return images, record
