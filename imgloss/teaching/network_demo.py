"""``imgloss demo --network TASK/SCHEDULE --image PHOTO``: a trained network of the results run
on any photograph.

The photograph is treated as a clean test image of the task: it is corrupted exactly as the task's
test inputs are (:meth:`imgloss.design.tasks.Task.test_pair`, seeded by the file's name: the noisy
Bayer mosaic for demosaicking, the bicubic x3 input for super-resolution, JPEG at quality 25), the
network of the run ``TASK/SCHEDULE`` (seed ``seed``) of a results view restores it with full-image
inference (:meth:`imgloss.training.models.ValidConvNet.predict`), and both are scored against the
photograph with PSNR and SSIM (:func:`imgloss.metrics.evaluate`). The weights are the run's
committed ``model.safetensors``, checked against the SHA-256 in its record
(:func:`imgloss.experiments.runner.run_weights`); nothing is unpickled.

Outputs in ``out_dir``, written atomically: ``<task>-<schedule>-input.png``, ``-output.png``,
``-reference.png`` and ``network.json`` (the measures, the run, its weights' checksum and the
provenance).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from imgloss.core.errors import InputError

#: The measures reported for the input and the network's output against the photograph.
MEASURES = ("psnr", "ssim")


class NetworkDemoError(InputError):
    """A network or image the demo cannot use (the message names it and the fix)."""


@dataclass(frozen=True)
class NetworkDemo:
    """What ``network.json`` holds: the run, the image and the measures of input and output."""

    task: str
    schedule: str
    seed: int
    profile: str
    run_folder: str  # relative to the results folder
    weights_sha256: str | None
    image: str
    size: tuple[int, int]  # (H, W) of the reference, after the task's preparation
    input_measures: dict[str, float]
    output_measures: dict[str, float]
    files: tuple[str, ...]


def parse_network(text: str) -> tuple[str, str]:
    """``"demosaic/mix"`` -> ``("demosaic", "mix")``; a schedule label may hold ``->``."""
    from imgloss.design import tasks

    task, sep, schedule = text.partition("/")
    if not sep or not schedule or task not in tasks.TASKS:
        raise NetworkDemoError(
            f"--network: expected TASK/SCHEDULE with TASK one of {', '.join(tasks.TASKS)} "
            f"(for example demosaic/mix or sr/l1), got {text!r}"
        )
    return task, schedule


def seeds_with_weights(view) -> dict[str, list[int]]:
    """``{TASK/SCHEDULE: seeds}`` of the runs of ``view`` whose weights are present."""
    from imgloss.training.weights import weights_file

    found: dict[str, list[int]] = {}
    for entry in view.runs() if view.folder is not None else ():
        if weights_file(view.folder.path / entry.folder) is not None:
            found.setdefault(f"{entry.task}/{entry.schedule}", []).append(entry.seed)
    return {name: sorted(seeds) for name, seeds in sorted(found.items())}


def networks_with_weights(view, seed: int = 0) -> list[str]:
    """``TASK/SCHEDULE`` of every run of ``view`` at ``seed`` whose weights are present."""
    return [name for name, seeds in seeds_with_weights(view).items() if seed in seeds]


def choose_view(views: list, network: str, seed: int):
    """Of ``views`` (longest profile first): the first with ``network``'s weights at ``seed``,
    else at another seed, else with any weights (for the error message), else the first."""
    found = [seeds_with_weights(v) for v in views]
    for wanted in (lambda f: seed in f.get(network, ()), lambda f: network in f, bool):
        for view, have in zip(views, found, strict=True):
            if wanted(have):
                return view
    return views[0]


def _folder(view, task: str, schedule: str, seed: int) -> Path:
    from imgloss.training.weights import weights_file

    folder = view.run_folder(task, schedule, seed)
    if folder is not None and weights_file(folder) is not None:
        return folder
    have = (
        ", ".join(
            f"{name} (seed {', '.join(map(str, seeds))})"
            for name, seeds in seeds_with_weights(view).items()
        )
        or "none"
    )
    why = "is not in the results" if folder is None else f"has no weights in {folder.name}"
    raise NetworkDemoError(
        f"--network {task}/{schedule}: its run at seed {seed} {why}; networks with weights at "
        f"the {view.profile} profile: {have} (pass --seed or --profile, or train it with "
        "`imgloss run`)"
    )


@torch.no_grad()
def run(
    view, network: str, image: str | os.PathLike, out_dir: str | os.PathLike, *, seed: int = 0
) -> NetworkDemo:
    """Run the network ``network`` (``TASK/SCHEDULE``) of ``view`` on the photograph ``image``
    and write the images and ``network.json`` into ``out_dir``."""
    from imgloss.core.provenance import provenance, write_json
    from imgloss.data.image_files import read_rgb
    from imgloss.design import tasks
    from imgloss.experiments.runner import finished_record, run_weights, save_png
    from imgloss.metrics import evaluate
    from imgloss.training import models

    task_name, schedule = parse_network(network)
    folder = _folder(view, task_name, schedule, seed)
    record = finished_record(folder)
    model = models.for_task(task_name)
    model.load_state_dict(run_weights(folder, record))
    model.eval()
    name = Path(image).name
    x, y = tasks.get(task_name).test_pair(
        tasks.to_tensor(read_rgb(image)), seed=seed, dataset="chosen", image=name
    )
    try:
        out = model.predict(x).float().clamp(0, 1)
    except ValueError as err:
        raise NetworkDemoError(f"--image {image}: {err}") from None
    out_dir = Path(out_dir)
    stem = f"{task_name}-{schedule.replace('->', '-to-')}"
    files = tuple(f"{stem}-{kind}.png" for kind in ("input", "output", "reference"))
    for file, t in zip(files, (x, out, y), strict=True):
        save_png(out_dir / file, t)
    result = NetworkDemo(
        task_name,
        schedule,
        seed,
        view.profile,
        str(folder.relative_to(view.folder.path.parent)),
        record.weights.sha256 if record and record.weights else None,
        name,
        (int(y.shape[-2]), int(y.shape[-1])),
        evaluate(x.clamp(0, 1), y, metrics=MEASURES),
        evaluate(out, y, metrics=MEASURES),
        files,
    )
    write_json(out_dir / "network.json", asdict(result) | {"provenance": provenance("cpu")})
    return result
