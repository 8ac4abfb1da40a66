"""A finished run's final state as one safetensors file: its weights and its data generator.

``model.safetensors`` in a run folder holds the network's ``state_dict`` (tensors ``model.<name>``)
and the state of the generator that drew its training patches (``generator``, bytes), with the
step and the weights' precision in the file's metadata. It is small, safe to load (no pickle)
and committed with the run's record (which keeps its SHA-256, checked on every load), so that on
a fresh clone

* the book and the sweeps can run the trained networks (:func:`load_weights`), and
* a run that continues a finished one (a switching run, the convergence probe's extension) starts
  from exactly the state the parent's ``checkpoint.pt`` held at its end (:func:`final_state`):
  the same weights and the same stream of patches. Adam's moments are not kept: every new phase
  starts with fresh moments anyway (:mod:`imgloss.training.trainer`).

**Precision.** A run that another run of the design continues from
(:func:`imgloss.design.experiments.is_parent`: the single-loss runs that the switching runs extend,
the convergence probe's base runs) keeps float32 weights (about 0.5 MB for PaperNet), so that its
children start exactly where it ended. Every other run ships its weights in float16 (about 0.25 MB),
and is scored with those rounded weights (:mod:`imgloss.experiments.runner`), so that its record and
its shipped network agree exactly; :func:`load_weights` returns float32 tensors, and
:func:`final_state` refuses to continue from half precision. Runs made before float16 weights keep
float32 ones.

``checkpoint.pt`` and ``model.pt`` (older runs) stay where they were made and are never committed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from imgloss.core.errors import InputError
from imgloss.core.provenance import atomic_write

#: The file name of a run's final state.
FINAL = "model.safetensors"


class WeightsError(InputError):
    """A weights file that is damaged or not one of ours (the message names it and the fix)."""


def save_final(
    path: str | os.PathLike, model: dict, generator: torch.Tensor, step: int, *, half: bool = False
) -> None:
    """Write weights ``model`` (a ``state_dict``; its floating tensors in float16 if ``half``)
    and the generator state atomically."""
    from safetensors.torch import save_file

    dtype = torch.float16 if half else torch.float32
    tensors = {
        f"model.{k}": (v.to(dtype) if v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in model.items()
    }
    tensors["generator"] = generator.detach().cpu().contiguous()
    metadata = {
        "format": "imgloss-final-state",
        "step": str(int(step)),
        "precision": "float16" if half else "float32",
    }
    atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def _read(path: Path, device: torch.device | str) -> tuple[dict, dict]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise WeightsError(
            f"{path}: not a readable safetensors file ({str(err)[:200]}); delete it and train "
            "the run again, or restore it with `git checkout -- <file>`"
        ) from None
    if meta.get("format") != "imgloss-final-state":
        raise WeightsError(f"{path}: not an imgloss final state (no format metadata)")
    return tensors, meta


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, hex: the checksum a run record keeps of its weights."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify(path: str | os.PathLike, expected: str) -> None:
    """Raise :class:`WeightsError` unless ``path``'s SHA-256 is ``expected``."""
    found = sha256(path)
    if found != expected:
        raise WeightsError(
            f"{path}: SHA-256 {found[:12]}... does not match its run record's {expected[:12]}... "
            "(damaged or replaced); restore it with `git checkout -- <file>` or train the run again"
        )


def load_weights(
    path: str | os.PathLike, device: torch.device | str = "cpu", *, checksum: str | None = None
) -> dict:
    """The network's ``state_dict`` from ``model.safetensors`` (or an older ``model.pt``, read
    with torch's weights-only loader), checked against ``checksum`` (SHA-256) when given."""
    path = Path(path)
    if checksum is not None:
        verify(path, checksum)
    if path.suffix == ".pt":
        return torch.load(path, map_location=device, weights_only=True)
    tensors, _ = _read(path, device)
    return {
        k.removeprefix("model."): v.float() if v.dtype == torch.float16 else v
        for k, v in tensors.items()
        if k.startswith("model.")
    }


def weights_file(folder: str | os.PathLike) -> Path | None:
    """A run folder's weights file: ``model.safetensors``, else ``model.pt``, else ``None``."""
    for name in (FINAL, "model.pt"):
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def final_state(folder: str | os.PathLike, device: torch.device | str) -> dict:
    """A training state (as :func:`imgloss.training.trainer.load_checkpoint` returns it) rebuilt
    from the finished run in ``folder``: weights, generator and step from ``model.safetensors``, the
    curves from ``curves.json``, no optimizer (the next phase starts fresh moments)."""
    path = Path(folder) / FINAL
    tensors, meta = _read(path, device)
    if meta.get("precision", "float32") != "float32":
        raise WeightsError(
            f"{path}: {meta['precision']} weights, shipped to run the network; a run cannot "
            "continue exactly from them: train that run again (its checkpoint.pt is exact)"
        )
    try:
        curves = json.loads((Path(folder) / "curves.json").read_text())["curves"]
    except (OSError, ValueError, KeyError) as err:
        raise WeightsError(f"{Path(folder) / 'curves.json'}: unreadable ({err})") from None
    return {
        "model": {k.removeprefix("model."): v for k, v in tensors.items() if k != "generator"},
        "generator": tensors["generator"],
        "step": int(meta["step"]),
        "curves": curves,
        "elapsed": float(curves[-1]["time_s"]) if curves else 0.0,
        "optimizer": None,
    }
