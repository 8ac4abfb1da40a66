"""The input and reference crops of the book's figures, committed beside the results.

Next to the networks' crops, the figures (:func:`imgloss.report.figures.crop_sets`) and the sweeps
(:func:`imgloss.teaching.sweeps.build`) show what the networks were given and what they should
produce. Those are cut from the test data. So that a clone without the data shows them too,
:func:`save` writes them once per task and profile as small 8-bit PNGs,

    <source>/<profile>/figure-inputs/<task>/{index.json, README.md, <k>-input.png,
    <k>-reference.png}

with an index (:class:`FigureInputs`) naming the dataset, the image and its pixel checksum, the
dataset's licence, and the crops' size and context; :func:`load` reads them back.

Each crop ``k`` is the ``k``-th figure window of :func:`imgloss.experiments.crops.figure_boxes`,
stored with :data:`imgloss.experiments.crops.CONTEXT` pixels of context on each side (reflected
where the image ends): the margin the sweeps' widest loss window needs. :meth:`FigureInputs.crop`
gives the window alone, :meth:`FigureInputs.with_context` the stored region.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imgloss.core.provenance import atomic_write, provenance, write_json
from imgloss.data import load_images
from imgloss.data.registry import DATASETS
from imgloss.data.source import DataSource
from imgloss.design.experiments import Profile
from imgloss.experiments.crops import (
    CONTEXT,
    CROP_REGIONS,
    figure_boxes,
    save_png,
    test_image,
    with_context,
)
from imgloss.results.records import (
    FIXES,
    ResultsFileError,
    SourceFolder,
    parse_record,
    record_header,
)
from imgloss.results.workspace import Workspace

KIND = "figure-inputs"
KINDS = ("input", "reference")


@dataclass(frozen=True)
class FigureInputs:
    """The committed input and reference crops of one task's figures at one profile.

    ``image`` is the test image's file name in ``dataset`` and ``sha256`` its pixel checksum
    (the registry's); ``size`` is a crop's side and ``context`` the margin stored around it;
    ``regions`` says what each crop shows (:data:`imgloss.experiments.crops.CROP_REGIONS`).
    """

    task: str
    profile: str
    dataset: str
    image: str
    sha256: str
    licence: str
    size: int
    context: int
    regions: tuple[str, ...]
    provenance: dict
    folder: Path | None = None  # where it was read from (not stored)

    @property
    def stem(self) -> str:
        """The image's name as the runs' crop files spell it (``kodim01``)."""
        return Path(self.image).stem

    def file(self, k: int, kind: str) -> str:
        return f"{k}-{kind}.png"

    def with_context(self, k: int, kind: str) -> np.ndarray:
        """Crop ``k`` of ``kind`` (``"input"`` or ``"reference"``) with its context:
        ``(size + 2 context) x (size + 2 context) x 3`` uint8."""
        from PIL import Image

        if self.folder is None:
            raise ValueError("these figure inputs were not read from a folder")
        path = self.folder / self.file(k, kind)
        try:
            with Image.open(path) as img:
                arr = np.asarray(img.convert("RGB"))
        except OSError as err:
            raise ResultsFileError(path, f"unreadable figure crop ({err})", FIXES[KIND]) from None
        side = self.size + 2 * self.context
        if arr.shape[:2] != (side, side):
            raise ResultsFileError(
                path,
                f"a {arr.shape[1]}x{arr.shape[0]} crop where the index says {side}x{side}",
                FIXES[KIND],
            )
        return arr

    def crop(self, k: int, kind: str) -> np.ndarray:
        """Crop ``k`` of ``kind`` alone: ``size x size x 3`` uint8, as the figures show it."""
        c = self.context
        return self.with_context(k, kind)[c : c + self.size, c : c + self.size]

    def to_dict(self) -> dict:
        return record_header(KIND) | {
            "task": self.task,
            "profile": self.profile,
            "dataset": self.dataset,
            "image": self.image,
            "sha256": self.sha256,
            "licence": self.licence,
            "size": self.size,
            "context": self.context,
            "regions": list(self.regions),
            "files": [[self.file(k, kind) for kind in KINDS] for k in range(len(self.regions))],
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, d: dict, folder: Path | None = None) -> FigureInputs:
        return cls(
            task=d["task"],
            profile=d["profile"],
            dataset=d["dataset"],
            image=d["image"],
            sha256=d["sha256"],
            licence=d["licence"],
            size=int(d["size"]),
            context=int(d["context"]),
            regions=tuple(d["regions"]),
            provenance=d["provenance"],
            folder=folder,
        )


def folder_of(results: SourceFolder, profile: str, task: str) -> Path:
    """``<source>/<profile>/figure-inputs/<task>/``."""
    return results.path / profile / "figure-inputs" / task


def load(results: SourceFolder, profile: str, task: str) -> FigureInputs | None:
    """The committed figure inputs of ``task`` at ``profile``, or ``None`` where there are none
    (a damaged index raises :class:`imgloss.results.records.ResultsFileError`)."""
    folder = folder_of(results, profile, task)
    index = folder / "index.json"
    if not index.is_file():
        return None
    return parse_record(index, KIND, lambda d: FigureInputs.from_dict(d, folder))


def first_test_image(source: DataSource, task: str, root=None) -> tuple[str, str]:
    """``(dataset, file)`` of the test image whose crops the runs save: the first image of the
    task's first test set (:func:`imgloss.experiments.runner.evaluate_model`)."""
    from imgloss.design import tasks

    dataset = source.test_sets(tasks.get(task))[0]
    images, _ = load_images(dataset, root)
    return dataset, images[0][0]


def save(ws: Workspace, profile: Profile, task: str) -> FigureInputs:
    """Cut the figure crops of ``task``'s first test image at ``profile`` in the workspace
    ``ws`` (the very input the runs were scored on, and the reference) and write them with their
    index under the results of its data source."""
    source = ws.source
    dataset, image = first_test_image(source, task, ws.root)
    x, y = test_image(task, profile, dataset, image, ws.root)
    boxes = figure_boxes(y, profile)
    folder = folder_of(ws.folder, profile.name, task)
    for k, box in enumerate(boxes):
        for kind, t in (("input", x.clamp(0, 1)), ("reference", y)):
            region, _ = with_context(t, box)
            save_png(folder / f"{k}-{kind}.png", region)
    known = DATASETS.get(dataset)
    entry = FigureInputs(
        task=task,
        profile=profile.name,
        dataset=dataset,
        image=image,
        sha256=known.files[image]["sha256"] if known and image in known.files else "",
        licence=known.licence if known else "the embedded photographs of scikit-image",
        size=min(profile.crop_size, *y.shape[-2:]),
        context=CONTEXT,
        regions=tuple(_region(k) for k in range(len(boxes))),
        provenance=provenance(profile=profile.name, data=source.ref(dataset).to_dict()),
        folder=folder,
    )
    write_json(folder / "index.json", entry.to_dict())

    def write_readme(tmp: str) -> None:
        Path(tmp).write_text(readme(entry))

    atomic_write(folder / "README.md", write_readme)
    return entry


def ensure(ws: Workspace, profile: Profile, task: str) -> FigureInputs:
    """The figure inputs of ``task`` in the workspace ``ws``, written first where they are
    missing."""
    return load(ws.folder, profile.name, task) or save(ws, profile, task)


def readme(entry: FigureInputs) -> str:
    """The folder's README: what the crops are and the dataset's licence."""
    return (
        f"# Figure inputs: {entry.task}, profile {entry.profile}\n\n"
        f"Crops of `{entry.dataset}/{entry.image}` (pixel SHA-256 `{entry.sha256 or 'n/a'}`): "
        f"the input the networks were given and the reference, {entry.size} x {entry.size} "
        f"pixels with {entry.context} pixels of context on each side, written by "
        "`imgloss.experiments.figure_inputs.save`.\n\n"
        f"Licence of {entry.dataset}: {entry.licence}.\n"
    )


def _region(k: int) -> str:
    return CROP_REGIONS[k] if k < len(CROP_REGIONS) else f"crop {k + 1}"
