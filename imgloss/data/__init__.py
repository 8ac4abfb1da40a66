"""Datasets: the registry (``imgloss.data.registry``) and finding, checking and fetching them
(``imgloss.data.store``)::

    from imgloss import data
    data.DATASETS["Kodak24"].count        # 24
    images = data.load("Kodak24")         # checks every file against its checksum first
    name, img = data.load_image("Kodak24", "kodim01")  # one file, checked alone

Layer 1: the datasets. It may import ``imgloss.core`` only.
"""

from .embedded import EMBEDDED, is_embedded, load_embedded
from .registry import DATASETS, ENV_VAR, Dataset, Source, data_root, get, manifest, pixel_sha256
from .source import DataRootError, DatasetRef, DataSource, RunData, dataset_ref, embedded_source
from .source import resolve as resolve_source
from .store import (
    DatasetError,
    check,
    fetch,
    image_paths,
    is_present,
    load,
    load_image,
    load_images,
)

__all__ = [
    "DATASETS",
    "EMBEDDED",
    "ENV_VAR",
    "DataRootError",
    "DataSource",
    "Dataset",
    "DatasetError",
    "DatasetRef",
    "RunData",
    "Source",
    "check",
    "data_root",
    "dataset_ref",
    "embedded_source",
    "fetch",
    "get",
    "image_paths",
    "is_embedded",
    "is_present",
    "load",
    "load_embedded",
    "load_image",
    "load_images",
    "manifest",
    "pixel_sha256",
    "resolve_source",
]
