"""Experiments as grids of independent runs: run folders, reuse, evaluation and summaries.

The design (profiles, schedules, the experiments' grids) is plain data in
:mod:`imgloss.design.experiments`; this module orchestrates it. A *run* is ``(task, loss schedule,
seed, profile)`` on a data source (:class:`imgloss.data.DataSource`). Its folder,
``<results>/<source>/runs/<profile>/<task>/<schedule>/seed<k>-<key>``, is derived from everything
that makes its result (training configuration, evaluation settings, the datasets by checksum:
:func:`run_key`), so a finished run is found and reused, a changed setting or other data never
reuses a stale result, and every run can be launched as an independent process (``imgloss train
...``), e.g. one per GPU.

Each finished run folder holds:

* ``metrics.json`` — the :class:`imgloss.results.records.RunRecord`: all nine measures on every test
  set of the profile, per image and averaged, the datasets and the provenance (commit, profile,
  device, versions, seed, wall time). It is written last, atomically: its presence marks the run
  finished.
* ``curves.json`` — training loss and validation l2 / PSNR / SSIM over the steps.
* ``model.safetensors`` — the final weights and data generator (:mod:`imgloss.training.weights`,
  committed); ``checkpoint.pt`` — the final training state (weights, optimiser, generator; not
  committed). A run that continues this one starts from the checkpoint where it exists, else from
  ``model.safetensors``.
* ``crops/*.png`` — fixed full-resolution crops (input, output, ground truth) for the figures.

Experiments (:data:`imgloss.design.experiments.EXPERIMENTS`): ``table1`` (all three tasks), ``fig8``
(SSIM's sigma), ``switching`` (Section 5.1: l1 then l2, l2 then l1, and the continued controls l1
then l1, l2 then l2, each starting from the converged Table 1 network), ``alpha`` (Mix's alpha),
``geometry`` (the patch-geometry ablation), ``convergence`` (the convergence probe) and
``modern`` ("Ten years on": six losses on PaperNet and two modern networks, with the l2 -> l1
switch and its control on each).

Every function takes the :class:`imgloss.results.workspace.Workspace` it works in (results
folder, data root and source, device, progress), resolved once by its caller; scripts and
notebooks may give its keywords instead (``results=``, ``root=``, ``device=``, ``progress=``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from imgloss.core.errors import InputError
from imgloss.core.provenance import provenance, remove_stale_temporaries
from imgloss.data import load_images
from imgloss.data.source import DataSource, RunData
from imgloss.design import tasks as T
from imgloss.design.experiments import (  # noqa: F401 (the design's names, re-exported for scripts and notebooks)
    ALPHAS,
    EXPERIMENTS,
    EXTENSION,
    FIG8_SIGMAS,
    PAPER_PATCH,
    PROFILES,
    SWITCHES,
    TABLE1_LOSSES,
    Profile,
    RunSpec,
    evaluation_settings,
    experiment_runs,
    is_parent,
    run_data,
    spec,
)
from imgloss.experiments import figure_inputs
from imgloss.experiments.crops import (  # noqa: F401 (re-exported)
    CropFile,
    centre_crop,
    crop_boxes,
    figure_boxes,
    save_png,
    test_image,
)
from imgloss.metrics import EXTRA_METRICS, METRICS, evaluate_dataset
from imgloss.results.records import (
    ExperimentSummary,
    ResultsFileError,
    RunRecord,
    WeightsEntry,
    summarize_runs,
)
from imgloss.results.workspace import Workspace
from imgloss.training import models
from imgloss.training.trainer import (
    CHECKPOINT,
    Phase,
    TrainConfig,
    load_checkpoint,
    train,
)
from imgloss.training.weights import FINAL, load_weights, save_final, verify, weights_file


def _profile(profile: Profile | str) -> Profile:
    if isinstance(profile, Profile):
        return profile
    if profile not in PROFILES:
        raise InputError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[profile]


def train_config(run: RunSpec, profile: Profile, data: RunData) -> TrainConfig:
    """The trainer's configuration of ``run`` at ``profile`` on the datasets ``data``."""
    phases = []
    for i, (loss, options) in enumerate(run.losses):
        steps = profile.steps if i == 0 else profile.switch_steps
        lr = profile.lr if i == 0 else profile.switch_lr
        phases.append(Phase(loss, steps, lr, options))
    if run.extended:  # the convergence probe: continue at the last phase's final lr
        last = phases[-1]
        final_lr = last.lr * TrainConfig.min_lr_ratio
        steps = round(EXTENSION * profile.steps)
        phases.append(Phase(last.loss, steps, final_lr, last.options, schedule="constant"))
    patch = run.patch if run.patch is not None else profile.patch
    return TrainConfig(
        task=run.task,
        phases=tuple(phases),
        patch=PAPER_PATCH if patch is None else patch,
        seed=run.seed,
        batch_size=profile.batch_size,
        eval_every=profile.eval_every,
        checkpoint_every=profile.checkpoint_every,
        train_set=data.train.name,
        train_images=profile.train_images,
        val_set=data.val.name,
        val_crops=profile.val_crops,
        val_size=profile.val_size,
        network=run.network,
    )


def run_key(run: RunSpec, profile: Profile, data: RunData) -> str:
    """10 hex digits of the SHA-256 of everything that makes the run's result: the training
    configuration, the evaluation settings and the datasets (names and checksums)."""
    cfg = train_config(run, profile, data)
    key = json.dumps(
        {
            "train": cfg.to_dict(),
            "eval": evaluation_settings(profile, run.task),
            "data": data.to_dict(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def run_dir(
    ws: Workspace | str | os.PathLike,
    run: RunSpec,
    profile: Profile | str,
    source: DataSource | None = None,
) -> Path:
    """``<results>/<source>/runs/<profile>/<task>/<schedule>/seed<k>-<key>`` in the workspace
    ``ws`` (or a results folder, with ``source``, else the data root's source)."""
    ws = ws if isinstance(ws, Workspace) else Workspace.resolve(ws, source=source)
    profile = _profile(profile)
    data = run_data(ws.source, T.get(run.task), profile)
    folder = ws.folder.runs(profile.name)
    return folder / run.task / run.label / f"seed{run.seed}-{run_key(run, profile, data)}"


def is_finished(folder: Path) -> bool:
    """Whether ``folder`` holds a finished run (its ``metrics.json``, written last)."""
    return (folder / "metrics.json").is_file()


def finished_record(
    folder: Path, run: RunSpec | None = None, profile: Profile | None = None
) -> RunRecord | None:
    """The run record of ``folder``, ``None`` if the run is not finished; a damaged ``metrics.json``
    raises :class:`imgloss.results.records.ResultsFileError` (never retrained silently), and so does
    a record of another run (copied or moved there) when ``run`` and ``profile`` say whose folder
    this is."""
    if not is_finished(folder):
        return None
    record = RunRecord.load(folder / "metrics.json")
    if run is not None and profile is not None:
        found = (record.task, record.schedule, record.seed, record.profile)
        expected = (run.task, run.label, run.seed, profile.name)
        if found != expected:
            raise ResultsFileError(
                folder / "metrics.json",
                f"it is the record of {_identity(*found)}, but the folder is that of "
                f"{_identity(*expected)} (copied or moved)",
                "put the file back where it came from, or remove this run folder to retrain it",
            )
    return record


def _identity(task: str, schedule: str, seed: int, profile: str) -> str:
    return f"{task} {schedule} seed {seed} (profile {profile})"


@torch.no_grad()
def evaluate_model(
    model: models.ValidConvNet,
    task_name: str,
    profile: Profile,
    datasets: tuple[str, ...],
    ws: Workspace,
    *,
    crops_dir: Path | None = None,
    seed: int = 0,
) -> tuple[dict, list[dict]]:
    """Run the network (on the workspace's device) on the profile's images of the test sets
    ``datasets`` of the workspace's data root; score them with all nine measures (and the colour
    bias).

    Network outputs are **clipped to [0, 1]** before scoring, as when they are saved as images
    (stated in ``metrics.json``). Returns ``({dataset: MetricTable}, data records)``.
    """
    task = T.get(task_name)
    device = ws.torch_device()
    model.eval()
    results, records = {}, []
    for d_index, dataset in enumerate(datasets):
        images, record = load_images(dataset, ws.root)
        count = profile.test_image_count(task_name)
        if count is not None:
            images = images[:count]
            record = record | {"images_used": len(images)}
        records.append(record)

        def pairs(images=images, dataset=dataset, d_index=d_index):
            for i, (image, img) in enumerate(images):
                clean = centre_crop(T.to_tensor(img), profile.test_crop)
                x, y = task.test_pair(clean, seed=seed, dataset=dataset, image=image)
                out = model.predict(x.to(device)).float().clamp(0, 1).cpu()
                if crops_dir is not None and d_index == 0 and i == 0:
                    for k, box in enumerate(figure_boxes(y, profile)):
                        for kind, t in (("input", x), ("output", out), ("target", y)):
                            name = CropFile(dataset, Path(image).stem, k, kind).name
                            save_png(crops_dir / name, t[box])
                yield image, out, y

        results[dataset] = evaluate_dataset(
            pairs(),
            metrics=METRICS + EXTRA_METRICS,
            total=len(images),
            progress=f"testing on {dataset}" if ws.progress else False,
            batch_size=1,
        )
    model.train()
    return results, records


def run_one(
    run: RunSpec, profile: Profile | str, ws: Workspace | None = None, **where: Any
) -> Path:
    """Train and evaluate ``run`` in the workspace ``ws`` unless it is already finished; return
    its folder (``where``: the workspace's keywords instead,
    :meth:`~imgloss.results.workspace.Workspace.of`).

    The run trains and tests on the workspace's data source, and its folder lies under that
    source's results folder. A switching run first makes sure its parent (the same run without
    the last phase) is finished, then starts from the parent's final weights.
    """
    ws = Workspace.of(ws, **where)
    profile = _profile(profile)
    folder = run_dir(ws, run, profile)
    if finished_record(folder, run, profile) is not None:
        return folder
    ws.torch_device()  # a bad --device fails here, before any folder is made
    ws.register()  # source.json: which data these results are made on
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with _run_lock(folder):  # another process may be training this very run: wait for it
            if finished_record(folder, run, profile) is not None:
                return folder
            remove_stale_temporaries(folder)  # left by a killed write; no writer is here now
            return _train_and_evaluate(run, profile, folder, ws)
    except BaseException:
        _discard_if_empty(folder, ws.results)
        raise


def _discard_if_empty(folder: Path, results: Path) -> None:
    """Remove a run folder that a failed run left with nothing in it (and its empty parents)."""
    try:
        if any(p.name != ".lock" for p in folder.iterdir()):
            return
        (folder / ".lock").unlink(missing_ok=True)
        while folder != results and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    except OSError:  # another process is using it: leave it
        pass


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


def _train_and_evaluate(run: RunSpec, profile: Profile, folder: Path, ws: Workspace) -> Path:
    init = None
    parent = run.parent()
    if parent is not None:
        parent_dir = run_one(parent, profile, ws)
        # the parent's training state where it was trained, else its committed final state
        init = parent_dir / CHECKPOINT
        if not init.is_file():  # the committed final state, checked against its record
            init = parent_dir / FINAL
            entry = getattr(finished_record(parent_dir), "weights", None)
            if entry is not None and init.is_file():
                verify(init, entry.sha256)
    dev = ws.torch_device()
    data = run_data(ws.source, T.get(run.task), profile)
    cfg = train_config(run, profile, data)
    t0 = time.perf_counter()
    trained = train(
        cfg, folder, device=dev, root=ws.root, init_checkpoint=init, progress=ws.progress
    )
    model, summary = trained["model"], trained["summary"]
    half = not is_parent(
        run, profile
    )  # shipped in float16 (imgloss.training.weights): scored as shipped
    if half:
        model.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    test, test_data = evaluate_model(
        model, run.task, profile, tuple(d.name for d in data.test), ws, crops_dir=folder / "crops"
    )
    final = load_checkpoint(folder / CHECKPOINT, torch.device("cpu"))
    save_final(folder / FINAL, final["model"], final["generator"], final["step"], half=half)
    record = RunRecord(
        task=run.task,
        schedule=run.label,
        seed=run.seed,
        profile=profile.name,
        data=data,
        test=test,
        training=summary,
        provenance=provenance(
            dev,
            profile=profile.name,
            profile_settings=profile.__dict__,
            config=cfg.to_dict(),
            source=ws.source.tag,
            train_data=summary["train_data"],
            test_data=test_data,
            wall_s=time.perf_counter() - t0,
        ),
        weights=WeightsEntry.of(folder / FINAL),
    )
    record.save(folder / "metrics.json")  # last: its presence marks the run finished
    return folder


def reevaluate(
    run: RunSpec, profile: Profile | str, ws: Workspace | None = None, **where: Any
) -> Path | None:
    """Score a finished run's saved weights again (e.g. after a measure was added).

    Rewrites ``metrics.json``'s test results and crops; keeps its training record and adds the
    commit that re-evaluated it to the provenance. Returns ``None`` if the run is not finished
    or its weights are not present (:func:`weights_missing` tells which).
    """
    ws = Workspace.of(ws, **where)
    profile = _profile(profile)
    folder = run_dir(ws, run, profile)
    record = finished_record(folder)
    if record is None or weights_file(folder) is None:
        return None
    dev = ws.torch_device()
    model = models.for_task(run.task, run.network).to(dev)
    model.load_state_dict(run_weights(folder, record, dev))
    datasets = tuple(d.name for d in record.data.test)
    record.test, test_data = evaluate_model(
        model, run.task, profile, datasets, ws, crops_dir=folder / "crops"
    )
    record.provenance["test_data"] = test_data
    record.provenance["reevaluated"] = provenance(dev)
    record.save(folder / "metrics.json")
    return folder


def reevaluate_experiment(
    experiment: str,
    profile: Profile | str,
    ws: Workspace,
    *,
    tasks: list[str] | None = None,
    say: Callable[[str], Any] = print,
) -> list[Path]:
    """:func:`reevaluate` every run of ``experiment``, saying (``say``) what happened to each:
    re-evaluated, not finished, or finished without its weights (then how to train it again).
    Returns the folders re-evaluated."""
    from imgloss.experiments.executors import run_args

    profile = _profile(profile)
    done = []
    for run in experiment_runs(experiment, profile, tasks):
        what = f"{run.task} {run.label} seed {run.seed}"
        missing = weights_missing(run, profile, ws)
        if missing is not None:
            train = f"imgloss train {' '.join(run_args(run))} --profile {profile.name}"
            say(
                f"weights not present, skipped: {what} (no model.safetensors in {missing}: runs "
                f"committed by earlier versions kept none; move that folder away and `{train}` "
                "trains it again)"
            )
            continue
        folder = reevaluate(run, profile, ws)
        say(f"{'re-evaluated' if folder else 'not finished, skipped'}: {what}")
        if folder is not None:
            done.append(folder)
    return done


def run_weights(folder: Path, record: RunRecord | None, device: torch.device | str = "cpu") -> dict:
    """The ``state_dict`` of the finished run in ``folder``, its file checked against the
    checksum ``record`` keeps (runs made before checksums were kept are read unchecked)."""
    path = weights_file(folder)
    if path is None:
        raise FileNotFoundError(f"{folder}: no weights (model.safetensors) in this run folder")
    entry = record.weights if record is not None else None
    return load_weights(path, device, checksum=entry.sha256 if entry else None)


def weights_missing(
    run: RunSpec, profile: Profile | str, ws: Workspace | None = None, **where: Any
) -> Path | None:
    """The folder of ``run`` when it is finished but its weights are not there (a run
    committed before runs kept ``model.safetensors``, or a copy without them), else ``None``."""
    folder = run_dir(Workspace.of(ws, **where), run, _profile(profile))
    if finished_record(folder) is not None and weights_file(folder) is None:
        return folder
    return None


def run_experiment(
    experiment: str,
    profile: Profile | str,
    ws: Workspace | None = None,
    *,
    tasks: list[str] | None = None,
    **where: Any,
) -> list[Path]:
    """Run (or reuse) every run of ``experiment`` in the workspace ``ws`` and write its summary
    (``<results>/<source>/<profile>/<experiment>.json``) and the figures' input crops; return
    the run folders (``where``: the workspace's keywords instead,
    :meth:`~imgloss.results.workspace.Workspace.of`)."""
    ws = Workspace.of(ws, **where)
    profile = _profile(profile)
    folders = [run_one(r, profile, ws) for r in experiment_runs(experiment, profile, tasks)]
    # The summary covers every finished run of the experiment, not only ``tasks``: running one
    # task must not drop the others from the summary.
    summary = save_summary(experiment, profile, ws)
    for task in sorted({r.task for r in summary.runs}):  # the figures' input and reference crops
        figure_inputs.ensure(ws, profile, task)
    return folders


def run_experiments(
    experiments: list[str] | tuple[str, ...],
    profile: Profile | str,
    ws: Workspace,
    *,
    tasks: list[str] | None = None,
    reevaluate: bool = False,
    say: Callable[[str], Any] = print,
) -> None:
    """:func:`run_experiment` each of ``experiments`` in this process, saying which summary it
    wrote; with ``reevaluate``, first score each experiment's finished runs again
    (:func:`reevaluate_experiment`), so that its summary uses the new scores."""
    profile = _profile(profile)
    for experiment in experiments:
        if reevaluate:
            reevaluate_experiment(experiment, profile, ws, tasks=tasks, say=say)
        run_experiment(experiment, profile, ws, tasks=tasks)
        say(f"wrote {ws.results}/{ws.source.tag}/{profile.name}/{experiment}.json")


def summarize(
    experiment: str,
    profile: Profile | str,
    ws: Workspace | None = None,
    *,
    tasks: list[str] | None = None,
    **where: Any,
) -> ExperimentSummary:
    """Mean and 95% CI over seeds of every measure, per task, schedule and test set, of the
    experiment's finished runs in the workspace ``ws`` (its results folder and data source;
    ``where``: its keywords instead, e.g. ``results=`` and ``source=``)."""
    ws = Workspace.of(ws, **where)
    profile = _profile(profile)
    base = ws.folder.path
    records = []
    for run in experiment_runs(experiment, profile, tasks):
        folder = run_dir(ws, run, profile)
        record = finished_record(folder, run, profile)
        if record is not None:
            records.append((folder.relative_to(base).as_posix(), record))
    return summarize_runs(
        experiment, profile.name, ws.source.tag, evaluation_settings(profile), records
    )


def save_summary(experiment: str, profile: Profile | str, ws: Workspace) -> ExperimentSummary:
    """:func:`summarize` the experiment's finished runs into
    ``<results>/<source>/<profile>/<experiment>.json``; return the summary."""
    profile = _profile(profile)
    summary = summarize(experiment, profile, ws)
    summary.save(ws.folder.summary(profile.name, experiment))
    return summary


def save_summaries(
    experiments: list[str] | tuple[str, ...],
    profile: Profile | str,
    ws: Workspace,
    *,
    say: Callable[[str], Any] = print,
) -> None:
    """:func:`save_summary` each of ``experiments``, saying how many runs each has finished
    (after runs trained elsewhere: a pool of processes, Slurm, a budgeted batch)."""
    profile = _profile(profile)
    for experiment in experiments:
        summary = save_summary(experiment, profile, ws)
        say(
            f"wrote {ws.results}/{ws.source.tag}/{profile.name}/{experiment}.json "
            f"({len(summary.runs)} runs finished)"
        )
