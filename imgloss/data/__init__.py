"""Datasets: the registry (:mod:`.registry`) and finding, checking and fetching them (:mod:`.store`).

from imgloss import data
data.DATASETS["Kodak24"].count        # 24
images = data.load("Kodak24")         # checks every file against its checksum first
"""

from .registry import DATASETS, ENV_VAR, Dataset, Source, data_root, get, manifest, pixel_sha256
from .store import DatasetError, check, fetch, image_paths, load

__all__ = [
    "DATASETS",
    "ENV_VAR",
    "Dataset",
    "DatasetError",
    "Source",
    "check",
    "data_root",
    "fetch",
    "get",
    "image_paths",
    "load",
    "manifest",
    "pixel_sha256",
]
