"""The arithmetic of the network during training: bfloat16 autocast where the hardware runs it
natively, float32 elsewhere.

Only the network's convolutions run in bfloat16 (``torch.autocast``); the loss and its SSIM
statistics, the validation measures and Adam stay in float32 (the trainer casts the network's
output back before the loss). Reduced precision *inside* the SSIM statistics once made MS-SSIM
and Mix diverge (``benchmarks/results/paper-h200-tf32-bug``), so they never see it.

On a CPU, bfloat16 pays off only with native bfloat16 dot products (x86 ``avx512_bf16`` or
``amx_bf16``, Arm's ``bf16``): there a PaperNet training step runs faster
(``benchmarks/results/train-cpu-bf16*.md``, by ``benchmarks/bench_train.py``), and
``benchmarks/bf16_accuracy.py`` compares its test PSNR with float32's. Without them oneDNN emulates
bfloat16 and is slower than float32, so the trainer falls back to float32. Which path ran is
recorded in every run's training record (:meth:`Precision.record`).

The choice is not part of a run's key (like the device, it is provenance): ``imgloss run
--precision float32`` (the environment variable :data:`ENV`, which worker processes and Slurm
jobs inherit) makes new runs match results that were made in float32, such as the committed
``quick`` runs.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from imgloss.core.errors import InputError

#: The environment variable that overrides the automatic choice, set to ``auto``,
#: ``bfloat16`` or ``float32`` (``imgloss run/train --precision``).
ENV = "IMGLOSS_PRECISION"
PRECISIONS = ("auto", "bfloat16", "float32")

#: The CPU feature flags (``/proc/cpuinfo``) that mean native bfloat16 dot products.
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")


@dataclass(frozen=True)
class Precision:
    """Whether the network's convolutions are autocast to bfloat16, and why."""

    bfloat16: bool
    reason: str

    def record(self) -> dict:
        """The run record's entry: ``{"network": "bfloat16-autocast", "reason": ...}``."""
        network = "bfloat16-autocast" if self.bfloat16 else "float32"
        return {"network": network, "loss_and_optimizer": "float32", "reason": self.reason}


@functools.cache
def cpu_bf16_flags(cpuinfo: str = "/proc/cpuinfo") -> tuple[str, ...]:
    """The flags of :data:`NATIVE_BF16_FLAGS` this CPU has (empty where unknown: not Linux)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return ()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86, Arm
            have = set(value.split())
            return tuple(f for f in NATIVE_BF16_FLAGS if f in have)
    return ()


def choose(
    device_type: str, requested: bool | None, flags: tuple[str, ...] | None = None
) -> Precision:
    """The precision of a run on a ``device_type`` device (``"cuda"``, ``"cpu"``, ...).

    ``requested`` is ``TrainConfig.amp`` (:mod:`imgloss.training.trainer`): ``True`` or ``False`` is
    obeyed; ``None`` follows :data:`ENV` when it is set to ``bfloat16`` or ``float32``, else picks
    bfloat16 on CUDA and on a CPU with native bfloat16 (``flags``, default this machine's
    :func:`cpu_bf16_flags`), float32 elsewhere. A bad :data:`ENV` raises ``ValueError``."""
    if requested is not None:
        what = "bfloat16 autocast" if requested else "float32"
        return Precision(bool(requested), f"{what} requested by the configuration (amp)")
    override = requested_by_environment()
    if override is not None:
        what = "bfloat16 autocast" if override else "float32"
        return Precision(override, f"{what} requested by {ENV} (--precision)")
    if device_type == "cuda":
        return Precision(True, "CUDA: bfloat16 autocast by default")
    if device_type == "cpu":
        have = cpu_bf16_flags() if flags is None else flags
        if have:
            return Precision(True, f"CPU with native bfloat16 ({', '.join(have)})")
        return Precision(False, f"CPU without native bfloat16 ({platform.machine()}): float32")
    return Precision(False, f"{device_type}: float32")


def requested_by_environment() -> bool | None:
    """:data:`ENV` as ``True`` (bfloat16), ``False`` (float32) or ``None`` (unset or auto)."""
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in PRECISIONS:
        raise InputError(
            f"{ENV}={value!r}: expected one of {', '.join(PRECISIONS)} (--precision); "
            f"unset it for the automatic choice"
        )
    return None if value == "auto" else value == "bfloat16"
