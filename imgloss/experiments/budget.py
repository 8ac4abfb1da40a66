"""A time budget for a batch of runs: start only what the measured throughput says will finish.

``imgloss run EXPERIMENT --budget 2h`` trains the experiment's unfinished runs one after
another, and before each it asks :func:`run_seconds` how long the run will take. A run that
would end past the budget is not started; the command then reports what is left. The estimate
comes from the finished runs of the same profile, on the same kind of device and precision, of
the same network architecture (:func:`measured`: PaperNet, SRCNN, ResidualNet and UNet cost
differently per patch, so one's throughput is never used for another): seconds per training
patch, and the evaluation time of a run. Before the first run of an architecture has finished
there is no record, so its throughput is measured by a few training steps of its first pending
run (:func:`timed_steps`) and the evaluation is estimated at :data:`EVAL_SHARE` of the training
time, a rough share that the first finished run replaces. ``imgloss run EXPERIMENT --estimate``
turns the unfinished runs into time with the same throughputs before any starts
(:func:`imgloss.experiments.campaign.forecast`).
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imgloss.core.errors import InputError
from imgloss.design import tasks as T

#: Before any run of the profile has finished, the evaluation's estimated share of the training
#: time (measured at the quick profile: scoring 24 Kodak24 images took about as long as its
#: 400 short steps; at the longer profiles it is a small share).
EVAL_SHARE = 0.1

_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600}


def parse_budget(text: str) -> float:
    """Seconds of a budget written ``90m``, ``2h``, ``1.5h``, ``45min`` or ``600s``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)\s*", str(text))
    if not match or float(match[1]) <= 0:
        raise InputError(
            f"--budget: expected a positive duration such as 90m, 2h or 600s, got {text!r}"
        )
    return float(match[1]) * _UNITS[match[2]]


@dataclass(frozen=True)
class Throughput:
    """How fast runs of one network ``architecture`` of a profile went on one kind of device:
    ``seconds_per_patch`` of training and ``eval_s`` per run, from ``runs`` finished runs, or
    (``runs`` 0) from ``steps`` timed training steps."""

    seconds_per_patch: float
    eval_s: float
    runs: int
    device: str
    precision: str
    architecture: str | None = None
    steps: int = 0

    @property
    def source(self) -> str:
        """Where the numbers come from, e.g. ``"3 finished runs"`` or ``"7 timed steps"``."""
        if self.runs:
            return f"{self.runs} finished run{'s' * (self.runs != 1)}"
        return f"{self.steps or 'a few'} timed steps"

    @property
    def rate(self) -> str:
        """``"216 patches/s and 54 s of evaluation per run"``."""
        return (
            f"{1 / self.seconds_per_patch:,.0f} patches/s and {duration(self.eval_s)} of "
            "evaluation per run"
        )

    def describe(self) -> str:
        """``"UNet: 216 patches/s and 54 s of evaluation per run on cpu (float32), from 3
        finished runs"``."""
        name = f"{self.architecture}: " if self.architecture else ""
        return f"{name}{self.rate} on {self.device} ({self.precision}), from {self.source}"


def measured(
    runs_folder: Path, device_type: str, precision: str, architecture: str | None = None
) -> Throughput | None:
    """The throughput of the finished runs under ``runs_folder`` (one profile on one data
    source) that trained on ``device_type`` with the network in ``precision``
    (``"float32"``, ``"bfloat16-autocast"``; records older than the precision entry count as
    float32 unless ``amp_bfloat16`` says otherwise) and of the network ``architecture``;
    ``None`` where no such run has finished.

    ``architecture`` is a network's name (``"PaperNet"``, ``"SRCNN"``, ``"ResidualNet"``,
    ``"UNet"``): the runs whose record names it in ``provenance.config.network``, and the runs
    without that entry whose task's own network it is (``imgloss.design.tasks.Task.network``:
    a run key holds ``network`` only for another network than the task's). ``None``: the runs of
    their task's own network, whatever the task. Runs that continued from a parent (more than
    one phase: their training record may count the parent's time and patches, their wall time
    does not) and runs that resumed an interrupted training (``resumed_from_step``) are left
    out.
    """
    per_patch, evals = [], []
    for path in sorted(Path(runs_folder).glob("*/*/*/metrics.json")):
        try:
            record = json.loads(path.read_text())
            training, wall = record["training"], float(record["provenance"]["wall_s"])
            if training["device"].split(":")[0] != device_type:
                continue
            if _precision(training) != precision or not _is_architecture(record, architecture):
                continue
            if len(record["provenance"].get("config", {}).get("phases", ())) > 1:
                continue  # a child: its training record may count its parent's time
            if training.get("resumed_from_step") is None and float(training["wall_s"]) > 0:
                per_patch.append(float(training["wall_s"]) / int(training["patches"]))
                evals.append(max(0.0, wall - float(training["wall_s"])))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # a damaged record is reported by the readers, not here
    if not per_patch:
        return None
    return Throughput(
        statistics.median(per_patch),
        statistics.median(evals),
        len(per_patch),
        device_type,
        precision,
        architecture,
    )


def _precision(training: dict) -> str:
    """The network's precision in a run record's training entry."""
    default = "bfloat16-autocast" if training.get("amp_bfloat16") else "float32"
    return str((training.get("precision") or {}).get("network", default))


def _is_architecture(record: dict, architecture: str | None) -> bool:
    """Whether the run of ``record`` trained the network ``architecture`` (see
    :func:`measured`)."""
    network = record["provenance"].get("config", {}).get("network")
    if architecture is None or network is not None:
        return network == architecture
    return T.get(record["run"]["task"]).network == architecture


#: How many training steps :func:`timed_steps` times (one warm-up step included).
TIMED_STEPS = 7


def timed_steps(cfg, device, steps: int = TIMED_STEPS - 1, root=None) -> float:
    """Seconds per training patch of ``cfg`` (an :class:`imgloss.training.trainer.TrainConfig`),
    timed over ``steps`` steps after one warm-up step (the load of the data not counted), in a
    scratch folder; registered datasets are read from the data root ``root`` (``None``:
    ``$IMGLOSS_DATA_ROOT``)."""
    from dataclasses import replace

    from imgloss.training.trainer import Phase, train

    phase = cfg.phases[0]
    probe = replace(
        cfg,
        phases=(Phase(phase.loss, steps + 1, phase.lr, phase.options),),
        eval_every=10**9,
        checkpoint_every=10**9,
    )
    with tempfile.TemporaryDirectory() as tmp:  # wall_s: from the first step (data loaded)
        done = train(probe, tmp, device=device, root=root, progress=False)["summary"]["wall_s"]
    return done / ((steps + 1) * cfg.batch_size)


def duration(seconds: float) -> str:
    """Seconds for people: ``"40 s"``, ``"41 min"``, ``"3.1 h (186 min)"``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = f"{seconds / 60:.0f} min"
    return minutes if seconds < 5400 else f"{seconds / 3600:.1f} h ({minutes})"


def run_seconds(patches: int, evaluations: int, throughput: Throughput) -> float:
    """The estimated wall time of training ``patches`` patches and ``evaluations`` test-set
    evaluations (a run and any unfinished parents)."""
    return patches * throughput.seconds_per_patch + evaluations * throughput.eval_s


@dataclass
class Budget:
    """A batch's clock: ``seconds`` in all, counted from its creation."""

    seconds: float
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.start = self.clock()

    @property
    def left(self) -> float:
        return self.seconds - (self.clock() - self.start)

    def fits(self, estimate_s: float) -> bool:
        return estimate_s <= self.left
