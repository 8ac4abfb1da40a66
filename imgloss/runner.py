"""Experiments as grids of independent runs, with profiles, reuse and final evaluation.

A *run* is ``(task, loss schedule, seed, profile)``. Its output folder is derived from its full
configuration (readable path + a hash of every setting), so a finished run is found and reused,
a changed setting never reuses a stale result, and every run can be launched as an independent
process (``imgloss train ...``), e.g. one per GPU.

Each finished run folder holds:

* ``metrics.json`` — all nine measures on every test set of the profile, per image and
  averaged, and the provenance (commit, profile, device, versions, data, seed, wall time). It is
  written last, atomically: its presence marks the run finished.
* ``curves.json`` — training loss and validation l2 / PSNR / SSIM over the steps.
* ``model.pt`` — the final weights (``state_dict``); ``checkpoint.pt`` — the final training
  state (weights, optimiser, generator), from which switching runs continue.
* ``crops/*.png`` — fixed full-resolution crops (input, output, ground truth) for the figures.

Experiments (:data:`EXPERIMENTS`): ``table1`` (all three tasks), ``fig8`` (SSIM's sigma),
``switching`` (Section 5.1: l1 then l2, l2 then l1, and the continued controls l1 then l1, l2 then
l2, each starting from the converged Table 1 network), ``alpha`` (Mix's alpha, beyond the paper).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from . import models
from . import tasks as T
from .baselines import resolve_test_sets
from .data import load_image, load_images
from .metrics import EXTRA_METRICS, METRICS, MetricTable, evaluate_dataset
from .provenance import atomic_write, provenance, write_json
from .train import CHECKPOINT, Phase, TrainConfig, pick_device, train


@dataclass(frozen=True)
class Profile:
    """How long and on what a profile trains and evaluates."""

    name: str
    steps: int
    batch_size: int
    lr: float = 1e-3
    switch_steps: int = 0  # length of the second phase of the switching runs
    # Starting lr of that second phase, a tenth of the default ``lr``, so the switch continues the
    # converged network instead of restarting it (at the full lr the test error jumps up after the
    # switch, and l1 -> l2 and the l2 -> l2 control end worse than before; see DEVELOPERS.md).
    switch_lr: float = 1e-4
    seeds: tuple[int, ...] = (0,)
    eval_every: int = 100
    checkpoint_every: int = 100
    train_images: int | None = None
    val_crops: int = 8
    val_size: int = 96
    test_sets: str = "all"  # "all" of the task's test sets present, or "primary" (the first)
    test_images: int | None = None  # evaluate only the first N images of each test set
    test_crop: int | None = None  # evaluate on a centre crop of this side (None: full image)
    crops: int = 3  # figure crops saved per run
    crop_size: int = 96
    experiments: tuple[str, ...] = ("table1", "switching")  # what `imgloss run all` runs


PROFILES: dict[str, Profile] = {
    # CI: seconds per run, on the embedded photographs when no data root is set.
    "smoke": Profile(
        "smoke",
        steps=6,
        batch_size=4,
        switch_steps=4,
        eval_every=3,
        checkpoint_every=3,
        train_images=6,
        val_crops=2,
        val_size=48,
        test_sets="primary",
        test_images=1,
        test_crop=192,
        crops=1,
        crop_size=48,
    ),
    # This 2-core CPU: Table 1 (14 runs) + switching (4 runs) in 29 minutes (measured
    # 2026-11-27, one seed; the budget is an hour); the book's Fig. 8 and alpha-sweep chapters
    # add 6 demosaicking runs (11 minutes).
    "quick": Profile(
        "quick",
        steps=800,
        batch_size=64,
        switch_steps=400,
        eval_every=100,
        checkpoint_every=100,
        test_sets="primary",
        test_images=8,
        experiments=("table1", "switching", "fig8", "alpha"),
    ),
    # A GPU: long enough for the validation curves to flatten, three seeds, all test sets.
    "paper": Profile(
        "paper",
        steps=4000,
        batch_size=512,
        switch_steps=2000,
        seeds=(0, 1, 2),
        eval_every=250,
        checkpoint_every=500,
        val_crops=16,
        experiments=("table1", "switching", "fig8", "alpha"),
    ),
}

TABLE1_LOSSES = {
    "demosaic": ("l2", "l1", "ssim5", "ssim9", "msssim", "mix"),
    "sr": ("l2", "l1", "msssim", "mix"),
    "jpeg": ("l2", "l1", "msssim", "mix"),
}
#: SSIM's sigma_G of the Fig. 8 runs (demosaicking, loss ``ssimK``).
FIG8_SIGMAS = (1, 3, 5, 9)
#: Section 5.1's loss schedules ``(first, second)``, the last two being the continued controls.
SWITCHES = (("l1", "l2"), ("l2", "l1"), ("l1", "l1"), ("l2", "l2"))
#: Mix's alpha in the alpha sweep (0.84 is the paper's).
ALPHAS = (0.0, 0.25, 0.5, 0.84, 1.0)
#: The experiments ``imgloss run`` knows (a profile's ``experiments`` are what ``run all`` runs).
EXPERIMENTS = ("table1", "fig8", "switching", "alpha")


@dataclass(frozen=True)
class RunSpec:
    """One run: a task, its loss schedule as ``((loss, options), ...)`` phases, and a seed."""

    task: str
    losses: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]
    seed: int = 0

    def config(self, profile: Profile) -> TrainConfig:
        phases = []
        for i, (loss, options) in enumerate(self.losses):
            steps = profile.steps if i == 0 else profile.switch_steps
            lr = profile.lr if i == 0 else profile.switch_lr
            phases.append(Phase(loss, steps, lr, options))
        return TrainConfig(
            task=self.task,
            phases=tuple(phases),
            seed=self.seed,
            batch_size=profile.batch_size,
            eval_every=profile.eval_every,
            checkpoint_every=profile.checkpoint_every,
            train_images=profile.train_images,
            val_crops=profile.val_crops,
            val_size=profile.val_size,
        )

    def parent(self) -> RunSpec | None:
        """The run this one continues from (all phases but the last), if any."""
        return replace(self, losses=self.losses[:-1]) if len(self.losses) > 1 else None

    @property
    def label(self) -> str:
        return "-".join(
            loss + "".join(f"_{k}{v:g}" for k, v in options) for loss, options in self.losses
        )


def spec(task: str, *losses: str | tuple[str, dict], seed: int = 0) -> RunSpec:
    """``spec("demosaic", "l2", "l1")``: l2 then l1; ``("mix", {"alpha": 0.5})`` for options."""
    phases = []
    for item in losses:
        name, options = (item, {}) if isinstance(item, str) else item
        phases.append((name, tuple(sorted((k, float(v)) for k, v in options.items()))))
    return RunSpec(task, tuple(phases), seed)


def experiment_runs(
    experiment: str, profile: Profile, tasks: list[str] | None = None
) -> list[RunSpec]:
    """The runs of ``experiment`` for every seed of ``profile``."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; choose from {', '.join(EXPERIMENTS)}")
    runs: list[RunSpec] = []
    for seed in profile.seeds:
        if experiment == "table1":
            for task, names in TABLE1_LOSSES.items():
                if tasks is None or task in tasks:
                    runs += [spec(task, n, seed=seed) for n in names]
        elif experiment == "fig8":
            runs += [spec("demosaic", f"ssim{s}", seed=seed) for s in FIG8_SIGMAS]
        elif experiment == "switching":
            runs += [spec("demosaic", a, b, seed=seed) for a, b in SWITCHES]
        else:
            runs += [
                spec("demosaic", "mix" if a == 0.84 else ("mix", {"alpha": a}), seed=seed)
                for a in ALPHAS
            ]
    return runs


def _evaluation_settings(profile: Profile) -> dict:
    return {
        "test_sets": profile.test_sets,
        "test_images": profile.test_images,
        "test_crop": profile.test_crop,
        "crops": profile.crops,
        "crop_size": profile.crop_size,
    }


def run_dir(results: str | os.PathLike, run: RunSpec, profile: Profile) -> Path:
    """``<results>/runs/<profile>/<task>/<schedule>/seed<k>-<hash>``."""
    cfg = run.config(profile)
    key = json.dumps(
        {"train": cfg.to_dict(), "eval": _evaluation_settings(profile)}, sort_keys=True
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return Path(results) / "runs" / profile.name / run.task / run.label / f"seed{run.seed}-{digest}"


def is_finished(folder: Path) -> bool:
    return (folder / "metrics.json").is_file()


def _centre_crop(t: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None:
        return t
    h, w = t.shape[-2:]
    s = min(size, h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return t[..., top : top + s, left : left + s]


def _save_png(path: Path, t: torch.Tensor) -> None:
    from PIL import Image

    arr = (t.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).cpu().numpy()
    atomic_write(path, lambda tmp: Image.fromarray(arr).save(tmp, format="PNG"))


def test_image(task_name: str, profile: Profile, dataset: str, image: str, root=None):
    """The ``(input, target)`` pair a run of ``profile`` is scored on for one test image
    (the same centre crop and seeded corruption as :func:`evaluate_model`)."""
    file, pixels = load_image(dataset, image, root)  # the registered name seeds the corruption
    clean = _centre_crop(T.to_tensor(pixels), profile.test_crop)
    return T.get(task_name).test_pair(clean, seed=0, dataset=dataset, image=file)


def figure_boxes(target: torch.Tensor, profile: Profile) -> list[tuple]:
    """Index tuples of the profile's figure crops of a test image (``target``: ``(1, C, H, W)``)."""
    s = min(profile.crop_size, *target.shape[-2:])
    return [
        (..., slice(top, top + s), slice(left, left + s))
        for top, left in crop_boxes(*target.shape[-2:], profile.crops, s)
    ]


def crop_boxes(height: int, width: int, count: int, size: int) -> list[tuple[int, int]]:
    """Fixed ``(top, left)`` corners of ``count`` figure crops spread along the diagonal."""
    boxes = []
    for k in range(count):
        f = (k + 1) / (count + 1)
        boxes.append((int((height - size) * f), int((width - size) * (1 - f))))
    return boxes


@torch.no_grad()
def evaluate_model(
    model: models.ValidConvNet,
    task_name: str,
    profile: Profile,
    *,
    device: torch.device,
    root=None,
    crops_dir: Path | None = None,
    seed: int = 0,
    progress: bool = True,
) -> tuple[dict, list[dict]]:
    """Run the network on the profile's test images; score them with all nine measures.

    Network outputs are **clipped to [0, 1]** before scoring, as when they are saved as images
    (stated in ``metrics.json``). Returns ``({dataset: MetricTable dict}, data records)``.
    """
    task = T.get(task_name)
    names = resolve_test_sets(task, None, root)
    if profile.test_sets == "primary":
        names = names[:1]
    model.eval()
    results, records = {}, []
    for d_index, dataset in enumerate(names):
        images, record = load_images(dataset, root)
        if profile.test_images is not None:
            images = images[: profile.test_images]
            record = record | {"images_used": len(images)}
        records.append(record)

        def pairs(images=images, dataset=dataset, d_index=d_index):
            for i, (image, img) in enumerate(images):
                clean = _centre_crop(T.to_tensor(img), profile.test_crop)
                x, y = task.test_pair(clean, seed=seed, dataset=dataset, image=image)
                out = model.predict(x.to(device)).float().clamp(0, 1).cpu()
                if crops_dir is not None and d_index == 0 and i == 0:
                    for k, box in enumerate(figure_boxes(y, profile)):
                        for kind, t in (("input", x), ("output", out), ("target", y)):
                            _save_png(
                                crops_dir / f"{dataset}-{Path(image).stem}-{k}-{kind}.png", t[box]
                            )
                yield image, out, y

        table = evaluate_dataset(
            pairs(),
            metrics=METRICS + EXTRA_METRICS,
            total=len(images),
            progress=f"testing on {dataset}" if progress else False,
            batch_size=1,
        )
        results[dataset] = table.to_dict()
    model.train()
    return results, records


def run_one(
    run: RunSpec,
    profile: Profile | str,
    *,
    results: str | os.PathLike = "results",
    device: str | torch.device | None = None,
    root: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Train and evaluate ``run`` unless it is already finished; return its folder.

    A switching run first makes sure its parent (the same run without the last phase) is
    finished, then starts from the parent's final weights.
    """
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    folder = run_dir(results, run, profile)
    if is_finished(folder):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with _run_lock(folder):  # another process may be training this very run: wait for it
        if is_finished(folder):
            return folder
        return _train_and_evaluate(run, profile, folder, results, device, root, progress)


@contextlib.contextmanager
def _run_lock(folder: Path):
    """An exclusive lock on ``folder/.lock`` (POSIX ``flock``; a no-op where unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _train_and_evaluate(run, profile, folder, results, device, root, progress) -> Path:
    init = None
    parent = run.parent()
    if parent is not None:
        parent_dir = run_one(
            parent, profile, results=results, device=device, root=root, progress=progress
        )
        init = parent_dir / CHECKPOINT
    dev = pick_device(device)
    cfg = run.config(profile)
    t0 = time.perf_counter()
    trained = train(cfg, folder, device=dev, root=root, init_checkpoint=init, progress=progress)
    model, summary = trained["model"], trained["summary"]
    test, test_data = evaluate_model(
        model,
        run.task,
        profile,
        device=dev,
        root=root,
        crops_dir=folder / "crops",
        progress=progress,
    )
    atomic_write(folder / "model.pt", lambda tmp: torch.save(model.state_dict(), tmp))
    metrics = {
        "run": {"task": run.task, "schedule": run.label, "seed": run.seed},
        "test": test,
        "output_clipped_to_unit_range": True,
        "training": summary,
        "provenance": provenance(
            dev,
            profile=profile.name,
            profile_settings=profile.__dict__,
            config=cfg.to_dict(),
            train_data=summary["train_data"],
            test_data=test_data,
            wall_s=time.perf_counter() - t0,
        ),
    }
    write_json(folder / "metrics.json", metrics)
    return folder


def reevaluate(
    run: RunSpec,
    profile: Profile | str,
    *,
    results: str | os.PathLike = "results",
    device: str | torch.device | None = None,
    root: str | os.PathLike | None = None,
) -> Path | None:
    """Score a finished run's saved weights again (e.g. after a measure was added).

    Rewrites ``metrics.json``'s test results and crops; keeps its training record and adds the
    commit that re-evaluated it to the provenance. Returns ``None`` if the run is not finished.
    """
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    folder = run_dir(results, run, profile)
    if not is_finished(folder) or not (folder / "model.pt").is_file():
        return None
    dev = pick_device(device)
    model = models.for_task(run.task).to(dev)
    model.load_state_dict(torch.load(folder / "model.pt", map_location=dev, weights_only=True))
    test, test_data = evaluate_model(
        model, run.task, profile, device=dev, root=root, crops_dir=folder / "crops"
    )
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["test"] = test
    metrics["provenance"]["test_data"] = test_data
    metrics["provenance"]["reevaluated"] = provenance(dev)
    write_json(folder / "metrics.json", metrics)
    return folder


def run_experiment(
    experiment: str,
    profile: Profile | str,
    *,
    results: str | os.PathLike = "results",
    device=None,
    root=None,
    tasks: list[str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Run (or reuse) every run of ``experiment`` and write its summary; return the folders."""
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    folders = [
        run_one(r, profile, results=results, device=device, root=root, progress=progress)
        for r in experiment_runs(experiment, profile, tasks)
    ]
    # The summary covers every finished run of the experiment, not only ``tasks``: running one
    # task must not drop the others from <profile>/<experiment>.json.
    write_json(
        Path(results) / profile.name / f"{experiment}.json",
        summarize(experiment, profile, results=results),
    )
    return folders


def _ci95(values: list[float]) -> float | None:
    """Half-width of the 95% Student-t confidence interval of the mean (None for one value)."""
    n = len(values)
    if n < 2:
        return None
    from statistics import stdev

    t = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 9: 2.306}
    return t.get(n, 1.96) * stdev(values) / math.sqrt(n)


def summarize(
    experiment: str,
    profile: Profile | str,
    *,
    results: str | os.PathLike = "results",
    tasks: list[str] | None = None,
) -> dict:
    """Mean and 95% CI over seeds of every measure, per task, schedule and test set."""
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    cells: dict = {}
    images: dict = {}  # task -> dataset -> the test images the runs were scored on
    commits, devices = set(), set()
    for run in experiment_runs(experiment, profile, tasks):
        folder = run_dir(results, run, profile)
        if not is_finished(folder):
            continue
        m = json.loads((folder / "metrics.json").read_text())
        commits.add(m["provenance"]["git_commit"])
        devices.add(m["provenance"]["device"])
        for dataset, table in m["test"].items():
            cell = cells.setdefault(run.task, {}).setdefault(run.label, {}).setdefault(dataset, {})
            for metric, value in MetricTable.from_dict(table).mean().items():
                cell.setdefault(metric, []).append(value)
            images.setdefault(run.task, {}).setdefault(dataset, sorted(table["per_image"]))
    out: dict = {
        "experiment": experiment,
        "profile": profile.name,
        "evaluation": _evaluation_settings(profile),
        "tasks": {},
        "images": images,
    }
    for task, schedules in cells.items():
        for label, datasets in schedules.items():
            for dataset, per_metric in datasets.items():
                out["tasks"].setdefault(task, {}).setdefault(label, {})[dataset] = {
                    metric: {
                        "mean": float(np.mean(v)),
                        "ci95": _ci95(v),
                        "seeds": len(v),
                    }
                    for metric, v in per_metric.items()
                }
    out["provenance"] = {
        "git_commits": sorted(commits),
        "devices": sorted(devices),
        "metrics": list(METRICS),
    }
    return out
