"""Random training patches from images kept resident on the training device.

On a GPU, all training images of a task are packed once into one flat ``(3, total_pixels)``
buffer in device memory, and a batch of patches is cut with a single gather: no Python loop over
patches and no host-to-device copies during training. On a CPU, slicing each patch and stacking
is faster than the gather (measured: ~6x for 47 x 47 patches of BSDS images, whose random
pixel gather is memory-bound), so the CPU path does that with the same random draws.

Every valid patch position of every image is equally likely (images are drawn in proportion to
their number of positions). ``align`` restricts the top-left corners to multiples of ``align``
(e.g. 8 for patches aligned with the JPEG block grid); the default, 1, draws every offset, so
JPEG patches are misaligned with the 8 x 8 grid, the configuration the paper found best (4.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def _check_image(name: str, t: torch.Tensor) -> None:
    if not isinstance(t, torch.Tensor) or t.dim() != 3 or t.shape[0] != 3:
        raise ValueError(f"{name} must be (3, H, W) tensors, got {getattr(t, 'shape', type(t))}")


class PatchSampler:
    """Co-located random patches of clean images (and, optionally, of precomputed inputs).

    Args:
        clean: ``(3, H_i, W_i)`` ground-truth images, all on one device.
        inputs: optional precomputed network inputs, one per clean image and of the same size
            (JPEG, super-resolution); ``None`` when the input is made per batch (demosaicking).
        in_size: side of the input patch.
        out_size: side of the target patch, centred in the input patch (``in_size - out_size``
            must be even: the margin the network's unpadded convolutions consume).
        align: top-left corners are multiples of ``align``.
        generator: the random source (on the images' device) for reproducible draws.
        method: ``"gather"`` (one gather from a packed buffer: GPUs), ``"slice"`` (slice and
            stack: CPUs) or ``"auto"`` (by device). Both give identical patches for the same
            draws.

    :meth:`sample` returns ``(inputs, targets)``: ``(B, 3, in_size, in_size)`` patches of
    ``inputs`` (or of ``clean`` when there are none) and ``(B, 3, out_size, out_size)`` of
    ``clean``.
    """

    def __init__(
        self,
        clean: Sequence[torch.Tensor],
        inputs: Sequence[torch.Tensor] | None = None,
        *,
        in_size: int,
        out_size: int,
        align: int = 1,
        generator: torch.Generator | None = None,
        method: str = "auto",
    ) -> None:
        if not clean:
            raise ValueError("clean must hold at least one image")
        for t in clean:
            _check_image("clean", t)
        if inputs is not None:
            if len(inputs) != len(clean):
                raise ValueError(
                    f"inputs must pair with clean: got {len(inputs)} inputs for {len(clean)} images"
                )
            for t, c in zip(inputs, clean, strict=True):
                _check_image("inputs", t)
                if t.shape != c.shape:
                    raise ValueError(
                        f"each input must match its clean image's shape, got {tuple(t.shape)} "
                        f"for {tuple(c.shape)}"
                    )
        if not (isinstance(in_size, int) and in_size >= 1):
            raise ValueError(f"in_size must be a positive integer, got {in_size!r}")
        if not (isinstance(out_size, int) and 1 <= out_size <= in_size):
            raise ValueError(f"out_size must be an integer in [1, in_size], got {out_size!r}")
        if (in_size - out_size) % 2:
            raise ValueError(
                f"in_size - out_size must be even (a symmetric margin), got {in_size} and {out_size}"
            )
        if not (isinstance(align, int) and align >= 1):
            raise ValueError(f"align must be a positive integer, got {align!r}")
        small = [tuple(t.shape[1:]) for t in clean if min(t.shape[1:]) < in_size]
        if small:
            raise ValueError(
                f"every image must be at least {in_size} x {in_size} to cut patches; too small: "
                f"{small[:5]}"
            )
        self.in_size, self.out_size, self.align = in_size, out_size, align
        self.generator = generator
        self.device = clean[0].device
        heights = torch.tensor([t.shape[1] for t in clean], device=self.device)
        widths = torch.tensor([t.shape[2] for t in clean], device=self.device)
        sizes = heights * widths
        self._offsets = torch.cumsum(sizes, 0) - sizes
        self._heights, self._widths = heights, widths
        # Number of admissible corners per axis, and the draw weights (one per position).
        self._ny = (heights - in_size) // align + 1
        self._nx = (widths - in_size) // align + 1
        self._weights = (self._ny * self._nx).double()
        if method not in ("auto", "gather", "slice"):
            raise ValueError(f"method must be 'auto', 'gather' or 'slice', got {method!r}")
        self._gpu = self.device.type != "cpu" if method == "auto" else method == "gather"
        # GPU: one flat (3, pixels) tensor per kind; CPU: the list of (3, H, W) images
        self._clean: Any
        self._inputs: Any
        if self._gpu:
            self._clean = torch.cat([t.reshape(3, -1) for t in clean], dim=1)
            self._inputs = (
                None if inputs is None else torch.cat([t.reshape(3, -1) for t in inputs], dim=1)
            )
        else:
            self._clean, self._inputs = list(clean), None if inputs is None else list(inputs)
        r = torch.arange(in_size, device=self.device)
        self._dy, self._dx = r.view(1, in_size, 1), r.view(1, 1, in_size)

    @property
    def positions(self) -> int:
        """The number of distinct patch positions."""
        return int(self._weights.sum())

    def _gather(self, buffer: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        b = index.shape[0]
        flat = buffer.index_select(1, index.reshape(-1))
        return flat.view(3, b, self.in_size, self.in_size).permute(1, 0, 2, 3).contiguous()

    def sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``batch`` patches: ``(inputs (B, 3, in, in), targets (B, 3, out, out))``."""
        if not (isinstance(batch, int) and batch >= 1):
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        g = self.generator
        img = torch.multinomial(self._weights, batch, replacement=True, generator=g)
        u = torch.rand(2, batch, device=self.device, generator=g, dtype=torch.float64)
        y0 = (u[0] * self._ny[img]).long().clamp_max(self._ny[img] - 1) * self.align
        x0 = (u[1] * self._nx[img]).long().clamp_max(self._nx[img] - 1) * self.align
        if self._gpu:
            base = (self._offsets[img] + y0 * self._widths[img] + x0).view(-1, 1, 1)
            index = base + self._dy * self._widths[img].view(-1, 1, 1) + self._dx
            clean = self._gather(self._clean, index)
            inputs = clean if self._inputs is None else self._gather(self._inputs, index)
        else:
            corners = list(zip(img.tolist(), y0.tolist(), x0.tolist(), strict=True))
            clean = self._slice(self._clean, corners)
            inputs = clean if self._inputs is None else self._slice(self._inputs, corners)
        m = (self.in_size - self.out_size) // 2
        target = clean[..., m : m + self.out_size, m : m + self.out_size]
        return inputs, target.contiguous()

    def _slice(
        self, images: list[torch.Tensor], corners: list[tuple[int, int, int]]
    ) -> torch.Tensor:
        p = self.in_size
        return torch.stack([images[i][:, y : y + p, x : x + p] for i, y, x in corners])
