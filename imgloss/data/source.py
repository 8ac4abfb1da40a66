"""Data sources: which images a run trains, validates and tests on, identified by checksum.

A *data source* is what a data root resolves to, once, before anything runs:

* no data root (``IMGLOSS_DATA_ROOT`` unset and no ``--root``): the photographs embedded in
  scikit-image (``embedded_train``, ``embedded_test``), a smoke check of the pipeline;
* a data root: the registered datasets present under it. A root that is set must be usable: a
  folder that does not exist, holds no registered dataset, or holds a dataset with files missing
  is refused with :class:`DataRootError`, never silently replaced by the embedded photographs.

Each dataset is named by a :class:`DatasetRef`: its name, its number of images and a checksum: for a
registered dataset the SHA-256 of its manifest entry (the pixel checksums of all its files, which
:func:`imgloss.data.load_images` verifies on reading), for an embedded one the SHA-256 of its
decoded pixels. A source's :attr:`DataSource.tag` (``embedded`` or ``registered-<8 hex>``) names the
folder its results live in (:mod:`imgloss.results.records`), so results made on different data never
meet; a run's own key also covers the exact datasets it used (:class:`RunData`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from imgloss.core.errors import InputError

from .embedded import EMBEDDED, load_embedded
from .registry import DATASETS, ENV_VAR, manifest

#: The tag of the embedded source (a folder name under the results folder).
EMBEDDED_TAG = "embedded"


class DataRootError(InputError):
    """A data root that is set cannot be used (the message names it and says how to fix it)."""


@dataclass(frozen=True)
class DatasetRef:
    """A dataset by name, image count and checksum (never by a local path)."""

    name: str
    images: int
    checksum: str  # SHA-256 of the manifest entry (registered) or of the pixels (embedded)

    def to_dict(self) -> dict:
        return {"name": self.name, "images": self.images, "checksum": self.checksum}

    @classmethod
    def from_dict(cls, d: dict) -> DatasetRef:
        return cls(str(d["name"]), int(d["images"]), str(d["checksum"]))

    def short(self) -> str:
        """``"Kodak24 (24 images, sha256 1a2b3c4d)"``."""
        return f"{self.name} ({self.images} images, sha256 {self.checksum[:8]})"


@cache
def dataset_ref(name: str) -> DatasetRef:
    """The :class:`DatasetRef` of a registered or embedded dataset."""
    if name in EMBEDDED:
        digest = hashlib.sha256()
        images = load_embedded(name)
        for loader, pixels in images:
            digest.update(loader.encode() + b"\0" + pixels.tobytes())
        return DatasetRef(name, len(images), digest.hexdigest())
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; registered: {', '.join(DATASETS)}")
    entry = json.dumps(manifest()[name], sort_keys=True).encode()
    return DatasetRef(name, len(manifest()[name]), hashlib.sha256(entry).hexdigest())


@dataclass(frozen=True)
class DataSource:
    """The datasets a data root provides (``kind`` ``"embedded"`` or ``"registered"``)."""

    kind: str
    datasets: tuple[DatasetRef, ...]

    @property
    def tag(self) -> str:
        """``embedded``, or ``registered-`` and 8 hex digits of the datasets' checksums."""
        if self.kind == "embedded":
            return EMBEDDED_TAG
        key = ",".join(
            f"{d.name}:{d.checksum}" for d in sorted(self.datasets, key=lambda d: d.name)
        )
        return "registered-" + hashlib.sha256(key.encode()).hexdigest()[:8]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.datasets)

    def ref(self, name: str) -> DatasetRef:
        for d in self.datasets:
            if d.name == name:
                return d
        raise DataRootError(f"dataset {name} is not part of the data source {self.tag}")

    def train_set(self, task) -> str:
        """The training set of ``task`` (an :class:`imgloss.design.tasks.Task`) in this source."""
        if self.kind == "embedded":
            return "embedded_train"
        if task.train_set not in self.names:
            raise DataRootError(
                f"the data root has no {task.train_set}, the training set of task {task.name}: "
                f"fetch it with `imgloss data fetch {task.train_set} --root DIR`"
            )
        return task.train_set

    def test_sets(self, task) -> tuple[str, ...]:
        """The test sets of ``task`` in this source, in the task's order (never empty)."""
        if self.kind == "embedded":
            return ("embedded_test",)
        present = tuple(d for d in task.test_sets if d in self.names)
        if not present:
            raise DataRootError(
                f"the data root has none of the test sets of task {task.name} "
                f"({', '.join(task.test_sets)}): fetch one with "
                f"`imgloss data fetch {task.test_sets[0]} --root DIR`"
            )
        return present

    def describe(self) -> str:
        """One line for people: which data, by name and checksum."""
        if self.kind == "embedded":
            return "the photographs embedded in scikit-image (embedded_train, embedded_test)"
        return f"registered datasets {', '.join(self.names)} (source {self.tag})"

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "tag": self.tag,
            "datasets": [d.to_dict() for d in self.datasets],
        }

    @classmethod
    def from_dict(cls, d: dict) -> DataSource:
        source = cls(str(d["kind"]), tuple(DatasetRef.from_dict(x) for x in d["datasets"]))
        if d.get("tag", source.tag) != source.tag:
            raise ValueError(f"tag {d['tag']!r} does not match the datasets ({source.tag})")
        return source


def embedded_source() -> DataSource:
    return DataSource("embedded", tuple(dataset_ref(n) for n in EMBEDDED))


def resolve(root: str | os.PathLike | None = None) -> DataSource:
    """The data source of ``root`` (else ``$IMGLOSS_DATA_ROOT``; neither: the embedded one).

    Raises:
        DataRootError: the root does not exist, holds no registered dataset, or holds a dataset
            folder with files missing (each named, with the fix).
    """
    given_by = "--root" if root is not None else f"${ENV_VAR}"
    value = root if root is not None else os.environ.get(ENV_VAR)
    if value is None or str(value) == "":
        return embedded_source()
    folder = Path(value)
    unset = f"or unset {ENV_VAR} to use the embedded photographs" if root is None else ""
    if not folder.is_dir():
        raise DataRootError(
            f"data root {folder} (from {given_by}) is not a folder: correct the path {unset}".strip()
        )
    refs = []
    for name, files in manifest().items():
        ds = folder / name
        if not ds.is_dir():
            continue
        missing = [f for f in files if not (ds / f).is_file()]
        if missing:
            shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
            raise DataRootError(
                f"dataset {name} in {ds} is incomplete: {len(missing)} of {len(files)} files "
                f"missing ({shown}); complete it with `imgloss data fetch {name} --root {folder}` "
                f"or remove the folder"
            )
        refs.append(dataset_ref(name))
    if not refs:
        raise DataRootError(
            f"data root {folder} (from {given_by}) holds none of the registered datasets "
            f"({', '.join(DATASETS)}): fetch one with `imgloss data fetch NAME --root {folder}` "
            f"{unset}".strip()
        )
    return DataSource("registered", tuple(refs))


@dataclass(frozen=True)
class RunData:
    """The datasets one run trains, validates and tests on (part of the run's key)."""

    train: DatasetRef
    val: DatasetRef
    test: tuple[DatasetRef, ...]

    def to_dict(self) -> dict:
        return {
            "train": self.train.to_dict(),
            "val": self.val.to_dict(),
            "test": [d.to_dict() for d in self.test],
        }

    @classmethod
    def from_dict(cls, d: dict) -> RunData:
        return cls(
            DatasetRef.from_dict(d["train"]),
            DatasetRef.from_dict(d["val"]),
            tuple(DatasetRef.from_dict(x) for x in d["test"]),
        )
