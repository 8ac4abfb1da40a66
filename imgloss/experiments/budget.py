"""A time budget for a batch of runs: start only what the measured throughput says will finish.

``imgloss run EXPERIMENT --budget 2h`` trains the experiment's unfinished runs one after
another, and before each it asks :func:`run_seconds` how long the run will take. A run that
would end past the budget is not started; the command then reports what is left. The estimate
comes from the finished runs of the same profile on the same kind of device and precision
(:func:`measured`): seconds per training patch, and the evaluation time of a run. Before the
first run of a profile has finished there is no record, so the throughput is measured by a few
training steps of the profile's first run (:func:`timed_steps`) and the evaluation is estimated
at :data:`EVAL_SHARE` of the training time, a rough share that the first finished run replaces.
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
    """How fast runs of a profile went on one kind of device: ``seconds_per_patch`` of
    training, ``eval_s`` per run, from ``runs`` finished runs (0: a timed probe of steps)."""

    seconds_per_patch: float
    eval_s: float
    runs: int
    device: str
    precision: str

    def describe(self) -> str:
        source = f"{self.runs} finished runs" if self.runs else "a few timed steps"
        return (
            f"{1 / self.seconds_per_patch:,.0f} patches/s and {self.eval_s / 60:.1f} min of "
            f"evaluation per run on {self.device} ({self.precision}), from {source}"
        )


def measured(runs_folder: Path, device_type: str, network: str) -> Throughput | None:
    """The throughput of the finished runs under ``runs_folder`` (one profile on one data
    source) that trained on ``device_type`` with the network in ``network`` precision."""
    per_patch, evals = [], []
    for path in sorted(Path(runs_folder).glob("*/*/*/metrics.json")):
        try:
            record = json.loads(path.read_text())
            training, wall = record["training"], float(record["provenance"]["wall_s"])
            precision = training.get("precision", {}).get("network", "float32")
            if training["device"].split(":")[0] != device_type or precision != network:
                continue
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
        network,
    )


def timed_steps(cfg, device, steps: int = 6) -> float:
    """Seconds per training patch of ``cfg`` (an :class:`imgloss.training.trainer.TrainConfig`),
    timed over ``steps`` steps after one warm-up step, in a scratch folder."""
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
        elapsed = train(probe, tmp, device=device, progress=False)["summary"]["wall_s"]
    return elapsed / ((steps + 1) * cfg.batch_size)


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
