"""The trainer: one network, one task, a loss schedule; readable top to bottom.

A run trains :func:`imgloss.training.models.for_task` on random patches of the training set with
Adam and a per-phase cosine learning-rate schedule. Only the loss differs between the runs of an
experiment: the architecture, the initialisation (``seed``), the optimiser, the schedule and the
sequence of training batches (drawn from a generator seeded with ``seed``) are identical.

**Optimiser.** Adam (``betas = (0.9, 0.999)``). Adam's update is invariant to a constant
rescaling of the loss, which matters here: ``l2`` is ~1e-3 while ``1 - SSIM`` is ~1e-1, so plain
SGD would need a learning rate per loss, and any choice would favour one of them. Each phase
decays its learning rate from ``lr`` to ``lr * min_lr_ratio`` along a cosine; Adam's moments are
reset when the loss changes (the old second moments are on another scale).

**Loss schedule** (Section 5.1): ``phases`` is a sequence of ``Phase(loss, steps, lr)``; a switching
run is the phases of a finished run plus a new one, and starts from that run's final checkpoint (see
:mod:`imgloss.experiments.runner`, whose profiles start the new phase at a tenth of the first
phase's ``lr``: a continuation, not a restart).

**Robustness.** Checkpoints (weights, optimiser, step, random-generator state, curves) are
written atomically every ``checkpoint_every`` steps; a run killed at any point resumes from its
last checkpoint to the same result as an uninterrupted run (tested by killing a real process).
A non-finite loss stops the run before the optimiser step, with the step and the loss named in
:class:`NonFiniteLossError` (checked every ``check_every`` steps, 1 by default; each check
waits for the device), and a checkpoint is never written with non-finite weights, so the last
checkpoint stays the last good state.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from imgloss import losses
from imgloss.core.errors import InputError, UserError
from imgloss.core.provenance import atomic_write, write_json
from imgloss.data import load_images
from imgloss.data.source import resolve
from imgloss.design import tasks as T
from imgloss.design.experiments import loss_label, schedule_label
from imgloss.losses import DataRangeWarning
from imgloss.metrics import evaluate_batch
from imgloss.training import fourier_conv, models, weights
from imgloss.training.precision import Precision
from imgloss.training.precision import choose as choose_precision
from imgloss.training.sampling import PatchSampler


class NonFiniteLossError(UserError, RuntimeError):
    """The training loss became NaN or infinite (the message names the step and the loss)."""


class CheckpointError(InputError):
    """A checkpoint cannot be used: damaged, not imgloss's, or from another run (the message
    names the file and what to do)."""


#: A phase's learning-rate schedules (``Phase.schedule``).
SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class Phase:
    """``steps`` optimiser steps with loss ``loss`` (a name for :func:`imgloss.losses.get`,
    always in the paper's patch mode) and a cosine schedule starting at ``lr``."""

    loss: str
    steps: int
    lr: float = 1e-3
    options: tuple[tuple[str, Any], ...] = ()  # extra loss options, e.g. (("alpha", 0.5),)
    # "cosine" (from lr down to min_lr_ratio x lr) or "constant" (lr throughout: the
    # convergence probe's continuation at the previous phase's final learning rate)
    schedule: str = "cosine"

    def label(self) -> str:
        """The loss's label, as in a schedule's label (``mix_alpha0.5``)."""
        return loss_label(self.loss, self.options)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run's result (its output folder is derived from it)."""

    task: str
    phases: tuple[Phase, ...]
    seed: int = 0
    batch_size: int = 64
    patch: int = 31  # input patch side (the paper's 31 x 31); the loss sees the network output
    eval_every: int = 100
    checkpoint_every: int = 100
    min_lr_ratio: float = 0.01
    train_set: str | None = None  # None: the data source's (BSDS_train, or embedded_train)
    train_images: int | None = None  # use only the first N training images
    val_set: str | None = None  # None: the data source's first test set of the task
    val_crops: int = 8  # fixed validation crops for the curves
    val_size: int = 96
    # bfloat16 autocast for the network; None: where native (CUDA, a CPU with bf16 dot products;
    # imgloss.training.precision.choose), float32 elsewhere. The loss and Adam stay float32.
    amp: bool | None = None
    compile: bool = False
    deterministic: bool = True  # cuDNN deterministic algorithms on CUDA
    check_every: int = 1  # steps between NaN checks of the loss (each is a device sync)
    # The network by name (imgloss.training.models.network_class); None: the task's own.
    network: str | None = None

    def __post_init__(self) -> None:
        T.get(self.task)
        if not self.phases:
            raise InputError("phases must hold at least one Phase")
        for p in self.phases:
            if not isinstance(p, Phase):
                raise TypeError(f"phases must be Phase objects, got {p!r}")
            try:  # an unknown loss or option, or an option's bad value (--alpha): the user's
                losses.get(p.loss, window="patch", **dict(p.options))
            except (ValueError, TypeError) as err:
                raise InputError(str(err)) from err
            if not (isinstance(p.steps, int) and p.steps >= 1):
                raise InputError(f"phase {p.label()}: steps must be a positive integer")
            if not (math.isfinite(p.lr) and p.lr > 0):
                raise InputError(f"phase {p.label()}: lr must be a positive number, got {p.lr}")
            if p.schedule not in SCHEDULES:
                raise InputError(
                    f"phase {p.label()}: schedule must be one of {', '.join(SCHEDULES)}, "
                    f"got {p.schedule!r}"
                )
        for name in ("batch_size", "eval_every", "checkpoint_every", "val_crops", "check_every"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        margin = models.margin_for(self.task, self.network)  # builds no network: no RNG moves
        out = self.patch - 2 * margin
        if out < 1 or out % 2 == 0:
            raise InputError(
                f"patch={self.patch} gives a {out} x {out} network output for task {self.task} "
                f"(margin {margin}); the patch-mode losses need an odd positive output size, so "
                f"patch must be odd and larger than {2 * margin}"
            )
        if self.val_size <= 2 * margin:
            raise InputError(f"val_size must exceed {2 * margin}, got {self.val_size}")

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.phases)

    def schedule_label(self) -> str:
        return schedule_label(*(p.label() for p in self.phases))

    def to_dict(self) -> dict:
        """The configuration as plain data (hashed into the run key). A phase's ``schedule`` is
        left out when it is the default cosine, so that keys made before it existed hold."""
        d = asdict(self)
        d["phases"] = [asdict(p) | {"options": dict(p.options)} for p in self.phases]
        for phase in d["phases"]:
            if phase["schedule"] == "cosine":
                del phase["schedule"]
        if d["network"] is None:  # the task's own network: keys made before the field hold
            del d["network"]
        return d


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given (``cpu``, ``cuda``, ``cuda:N`` or ``mps``, and available here), else
    CUDA when available, else the CPU. An :class:`~imgloss.core.errors.InputError` (a
    ``ValueError``) says what is wrong and what to pass."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    given = device
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise InputError(f"device {str(given)!r} is not one of cpu, cuda, cuda:N, mps (--device)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(
            "device='cuda' was requested but no CUDA device is available (this torch is "
            f"{torch.__version__}): use --device cpu"
        )
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise InputError(
            f"no CUDA device {device.index}: this machine has {torch.cuda.device_count()}"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError("device='mps' was requested but MPS is not available: use --device cpu")
    return device


def _to_chw(img, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(img.copy()).permute(2, 0, 1).contiguous().to(device)


def _as_float(t: torch.Tensor) -> torch.Tensor:
    return t.float() / 255 if t.dtype == torch.uint8 else t.float()


@dataclass
class TrainingData:
    """The training patches of a task, resident on the device.

    demosaic: clean patches are mosaicked, made noisy and demosaicked per batch (fresh noise);
    jpeg, sr: whole images are corrupted once, then co-located patches are cut.
    """

    task: T.Task
    sampler: PatchSampler
    generator: torch.Generator
    record: dict = field(default_factory=dict)

    @classmethod
    def build(cls, cfg: TrainConfig, device: torch.device, root=None) -> TrainingData:
        task = T.get(cfg.task)
        name = cfg.train_set or resolve(root).train_set(task)
        images, record = load_images(name, root)
        if cfg.train_images is not None:
            images = images[: cfg.train_images]
            record = record | {"images_used": len(images)}
        images = [(n, a) for n, a in images if min(a.shape[:2]) >= cfg.patch]
        generator = torch.Generator(device=device).manual_seed(cfg.seed)
        clean = [_to_chw(a, device) for _, a in images]  # uint8, 1/4 of the memory of float
        inputs = None
        if not task.fresh_corruption:  # corrupted once per image; patches cut from both
            clean = [task.prepare(c[None])[0] for c in clean]
            inputs = []
            for c in clean:
                x = task.corrupt(_as_float(c)[None])[0]
                inputs.append((x * 255).round().to(torch.uint8) if task.exact_8bit_input else x)
        margin = models.margin_for(cfg.task, cfg.network)
        sampler = PatchSampler(
            clean, inputs, in_size=cfg.patch, out_size=cfg.patch - 2 * margin, generator=generator
        )
        return cls(task, sampler, generator, record)

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.sampler.sample(size)
        x, y = _as_float(x), _as_float(y)
        if self.task.fresh_corruption:
            x = self.task.corrupt(x, generator=self.generator)
        return x, y


def validation_crops(
    cfg: TrainConfig, device: torch.device, root=None
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Fixed ``(inputs, targets)`` crops of the validation set for the training curves.

    Crops are taken at fixed positions from the corrupted *full* test images (so the network
    sees the real context, no padding): inputs ``(K, 3, S + 2m, S + 2m)``, targets
    ``(K, 3, S, S)``.
    """
    task = T.get(cfg.task)
    name = cfg.val_set or resolve(root).test_sets(task)[0]
    images, record = load_images(name, root)
    m, s = models.margin_for(cfg.task, cfg.network), cfg.val_size
    xs, ys = [], []
    for k in range(cfg.val_crops):
        image, img = images[k % len(images)]
        clean = T.to_tensor(img)
        x, y = task.test_pair(clean, seed=0, dataset=name, image=image)
        h, w = y.shape[-2:]
        if min(h, w) < s + 2 * m:
            raise ValueError(f"validation image {image} of {name} is smaller than {s + 2 * m} px")
        # Spread the crops over the image: a different fixed position per repeat.
        rep = k // len(images)
        top = m + (rep * 37) % (h - s - 2 * m + 1)
        left = m + (rep * 53 + (w - s - 2 * m) // 2) % (w - s - 2 * m + 1)
        xs.append(x[..., top - m : top + s + m, left - m : left + s + m])
        ys.append(y[..., top : top + s, left : left + s])
    return torch.cat(xs).to(device), torch.cat(ys).to(device), record


def _cosine_lr(phase: Phase, step_in_phase: int, min_ratio: float) -> float:
    """The learning rate of a phase's step: cosine from ``lr`` to ``min_ratio * lr`` (or
    ``lr`` throughout for a ``constant`` phase)."""
    if phase.schedule == "constant":
        return phase.lr
    t = step_in_phase / max(1, phase.steps - 1)
    return phase.lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def _locate(phases: Sequence[Phase], step: int) -> tuple[int, int]:
    """``(phase index, step within the phase)`` of global ``step``."""
    for i, p in enumerate(phases):
        if step < p.steps:
            return i, step
        step -= p.steps
    raise IndexError(step)


def _channels_last(device: torch.device, bfloat16: bool) -> bool:
    """Whether training runs in the channels-last layout: on CUDA, and on a CPU under bfloat16
    autocast, where oneDNN's direct kernels take a paper-profile step (batch 512) about 26%
    faster in it (``benchmarks/results/train-cpu-bf16.md``); float32 on the CPU keeps NCHW for
    the Fourier path (:mod:`imgloss.training.fourier_conv`)."""
    return device.type == "cuda" or (device.type == "cpu" and bfloat16)


def _autocast(device: torch.device, enabled: bool):
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


@torch.no_grad()
def _validate(model, val_x, val_y, amp: bool) -> dict[str, float]:
    model.eval()
    with _autocast(val_x.device, amp):
        out = model(val_x)
    model.train()
    if not torch.isfinite(out).all():
        raise NonFiniteLossError("the network's validation output is not finite (NaN/Inf)")
    with warnings.catch_warnings():
        # A network early in training may well output values beyond [0, 1]: expected here, so no
        # DataRangeWarning (the test-set evaluation clips the outputs to [0, 1]).
        warnings.simplefilter("ignore", DataRangeWarning)
        values = evaluate_batch(out.float(), val_y, metrics=["l2", "psnr", "ssim"])
    return {f"val_{k}": float(v.double().mean()) for k, v in values.items()}


CHECKPOINT = "checkpoint.pt"
CURVES = "curves.json"


def load_checkpoint(path: str | os.PathLike, device: torch.device) -> dict:
    """A training state written by :func:`save_checkpoint`, loaded as tensors and plain data only
    (``weights_only``: a crafted file cannot run code). A damaged or foreign file raises
    :class:`CheckpointError` naming it; nothing is retrained silently."""
    import pickle

    if Path(path).name == weights.FINAL:  # a finished run's committed final state
        try:
            return weights.final_state(Path(path).parent, device)
        except weights.WeightsError as err:
            raise CheckpointError(str(err)) from None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"{path}: not a usable imgloss checkpoint ({reason[:200]}); delete it to train the "
            "run from the start"
        ) from None
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(
            f"{path}: not an imgloss checkpoint (no model state); delete it to train the run "
            "from the start"
        )
    return state


def save_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` atomically; refuses non-finite weights (a NaN never reaches disk)."""
    for name, t in state["model"].items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise NonFiniteLossError(f"refusing to checkpoint non-finite weights ({name})")
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def train(
    cfg: TrainConfig,
    out_dir: str | os.PathLike,
    *,
    device: str | torch.device | None = None,
    root: str | os.PathLike | None = None,
    init_checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict:
    """Train (or resume) the run ``cfg`` in ``out_dir``; return ``{"model", "summary"}``.

    ``out_dir/checkpoint.pt`` is resumed when present. Otherwise, ``init_checkpoint`` (the final
    checkpoint of a run whose phases are a prefix of ``cfg.phases``) is the starting state.
    Writes ``checkpoint.pt`` and ``curves.json``; the final weights are in the checkpoint.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = _Run.start(cfg, out, pick_device(device), root)
    run.resume(out / CHECKPOINT if (out / CHECKPOINT).is_file() else init_checkpoint)
    bar = tqdm(
        total=cfg.total_steps,
        initial=run.step,
        unit="step",
        disable=not progress,
        desc=f"{cfg.task} {cfg.schedule_label()} s{cfg.seed}",
        dynamic_ncols=True,
    )
    try:
        while run.step < cfg.total_steps:
            run.train_step()
            bar.update(1)
            if run.due(cfg.eval_every):
                record = run.evaluate()
                bar.set_postfix(
                    loss=f"{record['train_loss']:.4g}", psnr=f"{record['val_psnr']:.2f}"
                )
            if run.due(cfg.checkpoint_every):
                run.save()
    finally:
        bar.close()
    summary = run.summary()
    if progress:
        last = summary["final"]
        print(
            f"[{cfg.task} {cfg.schedule_label()} seed {cfg.seed}] {cfg.total_steps} steps in "
            f"{summary['wall_s']:.0f} s; val PSNR {last.get('val_psnr', float('nan')):.2f} dB, "
            f"SSIM {last.get('val_ssim', float('nan')):.4f}"
        )
    return {"model": run.model, "summary": summary}


@dataclass
class _Run:
    """The state of a run in training: the network, its optimiser, the data, the step, the
    curves and the mean training loss since the last evaluation (checkpointed, so that a run
    resumed between two evaluations gives the same curves as an uninterrupted one)."""

    cfg: TrainConfig
    out: Path
    dev: torch.device
    precision: Precision
    model: models.ValidConvNet
    fast: torch.nn.Module  # the model, with the Fourier path on the CPU (fourier_conv.accelerate)
    forward: Any  # ``fast``, or its torch.compile'd version
    data: TrainingData
    validation: tuple[torch.Tensor, torch.Tensor, dict]
    optimizer: torch.optim.Optimizer
    loss_fns: list
    step: int = 0
    curves: list = field(default_factory=list)
    running: torch.Tensor = field(default_factory=lambda: torch.zeros((), dtype=torch.float64))
    running_n: int = 0
    t0: float = 0.0
    lr: float = 0.0
    resumed_from: int | None = None  # the step this call resumed the run from

    @classmethod
    def start(cls, cfg: TrainConfig, out: Path, dev: torch.device, root) -> _Run:
        """The network at its seeded initialisation, the data, and a fresh optimiser."""
        precision = choose_precision(dev.type, cfg.amp)
        if dev.type == "cuda":
            torch.backends.cudnn.deterministic = cfg.deterministic
            torch.backends.cudnn.benchmark = not cfg.deterministic
        torch.manual_seed(cfg.seed)
        model = models.for_task(cfg.task, cfg.network).to(dev)
        if _channels_last(dev, precision.bfloat16):
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        fast = fourier_conv.accelerate(model) if dev.type == "cpu" else model
        data = TrainingData.build(cfg, dev, root)
        validation = validation_crops(cfg, dev, root)
        # Inputs are not checked for NaN inside the loss (a device sync per call); the loss is.
        loss_fns = [
            losses.get(p.loss, window="patch", check_finite=False, **dict(p.options))
            for p in cfg.phases
        ]
        return cls(
            cfg,
            out,
            dev,
            precision,
            model,
            fast,
            torch.compile(fast) if cfg.compile else fast,
            data,
            validation,
            torch.optim.Adam(model.parameters(), lr=cfg.phases[0].lr),
            loss_fns,
            running=torch.zeros((), device=dev, dtype=torch.float64),
            t0=time.perf_counter(),
        )

    def resume(self, start_from: str | os.PathLike | None) -> None:
        """Continue from a checkpoint: this run's own, or the final one of its parent run."""
        if start_from is None:
            return
        state = load_checkpoint(start_from, self.dev)
        try:
            self.model.load_state_dict(state["model"])
            self.data.generator.set_state(state["generator"].cpu())
            self.step, self.curves, elapsed = state["step"], state["curves"], state["elapsed"]
        except (KeyError, RuntimeError, TypeError) as err:
            raise CheckpointError(
                f"{start_from}: a checkpoint of another network or another imgloss ({err}); "
                "delete it to train the run from the start"
            ) from None
        if self.step > self.cfg.total_steps:
            raise ValueError(
                f"{start_from} is at step {self.step}, beyond this run's {self.cfg.total_steps}"
            )
        self.t0 = time.perf_counter() - elapsed
        if Path(start_from) == self.out / CHECKPOINT:  # older checkpoints: no running loss
            total, n = state.get("running", (0.0, 0))
            self.running.fill_(total)
            self.running_n, self.resumed_from = int(n), self.step
        finished = self.step >= self.cfg.total_steps  # trained; interrupted before its tests
        at_boundary = finished or _locate(self.cfg.phases, self.step)[1] == 0
        has_optimizer = state.get("optimizer") is not None
        if not finished and has_optimizer and not at_boundary:
            self.optimizer.load_state_dict(state["optimizer"])

    def train_step(self) -> None:
        """One Adam step on a fresh batch, with the phase's loss and learning rate."""
        phase_index, in_phase = _locate(self.cfg.phases, self.step)
        phase = self.cfg.phases[phase_index]
        if in_phase == 0 and self.step > 0:  # a new loss: fresh moments
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=phase.lr)
        self.lr = _cosine_lr(phase, in_phase, self.cfg.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr
        x, y = self.data.batch(self.cfg.batch_size)
        if _channels_last(self.dev, self.amp):
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(self.dev, self.amp):
            prediction = self.forward(x)
        loss = self.loss_fns[phase_index](prediction.float(), y)
        if self.step % self.cfg.check_every == 0 and not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"loss {phase.label()} became {loss.item()} at step {self.step} of run "
                f"{self.cfg.task} seed {self.cfg.seed}; the last checkpoint in {self.out} is the "
                "last good state"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.running += loss.detach()
        self.running_n += 1
        self.step += 1

    @property
    def amp(self) -> bool:
        """Whether the network runs under bfloat16 autocast (:mod:`imgloss.training.precision`)."""
        return self.precision.bfloat16

    def due(self, every: int) -> bool:
        """Whether the step just taken is a multiple of ``every`` or the last one."""
        return self.step % every == 0 or self.step == self.cfg.total_steps

    def evaluate(self) -> dict:
        """Score the validation crops; append the record to the curves and write them."""
        phase_index = _locate(self.cfg.phases, self.step - 1)[0]
        phase = self.cfg.phases[phase_index]
        val_x, val_y, _ = self.validation
        try:
            validation = _validate(self.forward, val_x, val_y, self.amp)
        except NonFiniteLossError as err:
            raise NonFiniteLossError(
                f"{err} after step {self.step} ({phase.label()}); the last checkpoint in "
                f"{self.out} is the last good state"
            ) from None
        record = {
            "step": self.step,
            "phase": phase_index,
            "loss": phase.label(),
            "lr": self.lr,
            "train_loss": float(self.running) / self.running_n,
            **validation,
            "time_s": time.perf_counter() - self.t0,
        }
        self.running.zero_()
        self.running_n = 0
        self.curves.append(record)
        write_json(self.out / CURVES, {"config": self.cfg.to_dict(), "curves": self.curves})
        return record

    def save(self) -> None:
        """Write the checkpoint (atomically): everything :meth:`resume` needs."""
        save_checkpoint(
            self.out / CHECKPOINT,
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "generator": self.data.generator.get_state(),
                "step": self.step,
                "curves": self.curves,
                "elapsed": time.perf_counter() - self.t0,
                "running": (float(self.running), self.running_n),
                "config": self.cfg.to_dict(),
            },
        )

    def summary(self) -> dict:
        """What the run's record keeps of its training."""
        cfg = self.cfg
        with _autocast(self.dev, self.amp):  # the path forward() took for this run's patches
            patch = torch.empty(1, 3, cfg.patch, cfg.patch, device=self.dev)
            fourier = getattr(self.fast, "uses_fourier", lambda _: False)(patch)
        return {
            "steps": cfg.total_steps,
            "patches": cfg.total_steps * cfg.batch_size,
            "wall_s": time.perf_counter() - self.t0,
            "final": self.curves[-1] if self.curves else {},
            "device": str(self.dev),
            "amp_bfloat16": self.amp,
            "precision": self.precision.record(),
            # how the convolutions of the training step were computed (models.ValidConvNet)
            "conv_algorithm": "fourier" if fourier else "direct",
            "memory_format": "channels_last" if _channels_last(self.dev, self.amp) else "nchw",
            "train_data": self.data.record,
            "resumed_from_step": self.resumed_from,
            "val_data": self.validation[2] | {"crops": cfg.val_crops, "size": cfg.val_size},
        }
