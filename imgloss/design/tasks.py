"""The paper's three tasks: how a clean image becomes the network's input, and what to test on.

=========  ========================================  ==============  ========================
task       network input (paper section)             Table 1 column  test sets (ours)
=========  ========================================  ==============  ========================
demosaic   RGGB mosaic + clipped Poisson-Gaussian    Noisy           Kodak24, McMaster
           noise, bilinear demosaicking (4.1)
sr         x3 antialiased-bicubic downsampling,      Bilinear        Set5, Set14, BSD100,
           bilinear upsampling back (4.2)                            Urban100
jpeg       JPEG quality 25, 4:2:0 (4.3)              Original JPEG   LIVE1, Classic5, Kodak24
=========  ========================================  ==============  ========================

The paper tests on 40 held-out MIT-Adobe FiveK images (999 x 666); those are not redistributable
as a fixed public test set, so we use the standard public benchmarks of each task (see
``imgloss.data``). The super-resolution factor is not stated in the paper: we assume SRCNN's x3
(``SR_SCALE``), configurable.

Test inputs are corrupted reproducibly: the noise of an image is drawn on the CPU from a seed
derived from (seed, task, dataset, image name), so every device and every order of evaluation
sees the same noisy input.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import torch

from imgloss.core.errors import InputError
from imgloss.imaging import degradations as D

SR_SCALE = 3
JPEG_QUALITY = 25


@dataclass(frozen=True)
class Task:
    """A task and everything that differs between tasks; no code outside this module asks
    which task it has."""

    name: str
    title: str
    baseline: str  # Table 1's name of the non-network column
    test_sets: tuple[str, ...]
    train_set: str = "BSDS_train"
    network: str = "PaperNet"  # the class in imgloss.training.models (Section 4.1; SRCNN for 4.2)
    scale: int | None = None  # ground truth cropped to a multiple of this (super-resolution)
    # True: a training input is corrupted anew for every batch (random noise); False: each
    # training image is corrupted once and patches are cut from it (deterministic corruptions).
    fresh_corruption: bool = False
    exact_8bit_input: bool = False  # the input is an 8-bit image (JPEG): kept as uint8 in memory
    noisy_input: bool = False  # the input's noise follows a model (its PSNR is analysed)
    bm3d_column: bool = False  # Table 1 has a BM3D column for this task

    def prepare(self, clean: torch.Tensor) -> torch.Tensor:
        """The ground truth the network is judged against (SR: cropped to a multiple of x3)."""
        return D.modcrop(clean, self.scale) if self.scale else clean

    def corrupt(
        self, clean: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The network input for a prepared clean batch ``(N, 3, H, W)`` in ``[0, 1]``."""
        if self.name == "demosaic":
            noisy = D.poisson_gaussian(D.bayer_mosaic(clean), generator=generator)
            return D.bilinear_demosaic(noisy)
        if self.name == "jpeg":
            return D.jpeg(clean, JPEG_QUALITY)
        return D.bilinear_upscale_input(clean, self.scale or SR_SCALE)

    def test_pair(
        self, clean: torch.Tensor, *, seed: int, dataset: str, image: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(network input, ground truth)`` for one test image, seeded per image on the CPU."""
        target = self.prepare(clean)
        generator = torch.Generator().manual_seed(image_seed(seed, self.name, dataset, image))
        corrupted = self.corrupt(target.cpu(), generator=generator).to(clean.device)
        return corrupted, target


TASKS: dict[str, Task] = {
    "demosaic": Task(
        "demosaic",
        "Joint denoising + demosaicking",
        "Noisy",
        ("Kodak24", "McMaster"),
        fresh_corruption=True,
        noisy_input=True,
        bm3d_column=True,
    ),
    "sr": Task(
        "sr",
        "Super-resolution (x3)",
        "Bilinear",
        ("Set5", "Set14", "BSD100", "Urban100"),
        network="SRCNN",
        scale=SR_SCALE,
    ),
    "jpeg": Task(
        "jpeg",
        "JPEG artifact removal (q = 25)",
        "Original JPEG",
        ("LIVE1", "Classic5", "Kodak24"),
        exact_8bit_input=True,
    ),
}


def get(name: str) -> Task:
    if name not in TASKS:
        raise InputError(f"unknown task {name!r}; choose from {', '.join(TASKS)}")
    return TASKS[name]


def image_seed(seed: int, *parts: str) -> int:
    """A stable 63-bit seed from ``seed`` and names (independent of order and process)."""
    h = zlib.crc32("/".join(parts).encode())
    return (int(seed) * 1_000_003 + h) % (2**63 - 1)


def to_tensor(image, device: torch.device | str = "cpu", dtype=torch.float32) -> torch.Tensor:
    """``H x W x 3`` uint8 or uint16 array -> ``(1, 3, H, W)`` float tensor in ``[0, 1]``: the
    samples over the white level of their bit depth (255 or 65535)."""
    white = np.iinfo(image.dtype).max if np.issubdtype(image.dtype, np.integer) else 255
    t = torch.from_numpy(image.copy()).permute(2, 0, 1).unsqueeze(0)
    return t.to(device=device, dtype=dtype) / white
