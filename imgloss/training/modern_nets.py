"""Two networks from after the paper, shaped to train exactly where PaperNet does (issue 34).

Both lose ``margin = 8`` pixels per side, as PaperNet does, so they train on the same 31 x 31
inputs (15 x 15 outputs), on the same patches and against the same centre crops; full images
are reflect-padded by the margin (:meth:`~imgloss.training.models.ValidConvNet.predict`). Both predict a **residual**:
the output is the input's centre plus the network's correction, so a network that has learnt
nothing returns its input (the last layer starts near zero, std 1e-3).

* :class:`ResidualNet` (DnCNN-style, Zhang et al. 2017): 8 valid 3 x 3 convolutions of
  48 channels with PReLUs between them. Its receptive field is 17 x 17, as PaperNet's.
* :class:`UNet` (a small U-Net, Ronneberger et al. 2015, with NAFNet-style widths): two levels
  of 3 x 3 convolutions (24 and 48 channels, 96 at the bottom), average-pool down, bilinear up,
  concatenated skips. Its convolutions are zero-padded ("same") inside, and the output is cut
  by 8 pixels per side, so the borders, where the padding is felt most, never reach the loss.

:func:`cost` gives the parameters and the floating-point operations per output pixel of any of
the networks, counted from the convolutions that actually run (forward hooks).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .models import PRELU_INIT, ValidConvNet, _init_conv

#: Pixels per side every network of this module loses (PaperNet's).
MARGIN = 8


class ResidualNet(ValidConvNet):
    """DnCNN-style: ``depth`` valid 3 x 3 convolutions of ``width`` channels with PReLUs, plus
    the input's centre: ``(N, 3, H, W) -> (N, 3, H - 2 depth, W - 2 depth)``."""

    MARGIN = MARGIN  # at the default depth

    def __init__(self, depth: int = MARGIN, width: int = 48) -> None:
        widths = [3] + [width] * (depth - 1) + [3]
        super().__init__([(widths[i], widths[i + 1], 3) for i in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.margin
        return super().forward(x) + x[..., m:-m, m:-m]


def _block(c_in: int, c_out: int) -> nn.Sequential:
    """Two same-padded 3 x 3 convolutions, each followed by a PReLU."""
    layers: list[nn.Module] = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        conv = nn.Conv2d(a, b, 3, padding=1)
        _init_conv(conv, last=False)
        layers += [conv, nn.PReLU(b, init=PRELU_INIT)]
    return nn.Sequential(*layers)


class UNet(ValidConvNet):
    """A two-level U-Net of ``width``, ``2 width`` and ``4 width`` channels with a residual
    output, cut by :data:`MARGIN` per side: ``(N, 3, H, W) -> (N, 3, H - 16, W - 16)``."""

    MARGIN = MARGIN

    def __init__(self, width: int = 24) -> None:
        nn.Module.__init__(self)
        self.margin = MARGIN
        self.down1, self.down2 = _block(3, width), _block(width, 2 * width)
        self.bottom = _block(2 * width, 4 * width)
        self.up2, self.up1 = _block(6 * width, 2 * width), _block(3 * width, width)
        self.out = nn.Conv2d(width, 3, 1)
        _init_conv(self.out, last=True)

    @staticmethod
    def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        d1 = self.down1(x)
        d2 = self.down2(F.avg_pool2d(d1, 2, ceil_mode=True))
        b = self.bottom(F.avg_pool2d(d2, 2, ceil_mode=True))
        u2 = self.up2(torch.cat([self._up(b, d2), d2], dim=1))
        u1 = self.up1(torch.cat([self._up(u2, d1), d1], dim=1))
        m = self.margin
        return (self.out(u1) + x)[..., m:-m, m:-m]


@dataclass(frozen=True)
class Cost:
    """A network's size: ``parameters`` and ``flops_per_pixel``, the floating-point operations
    (2 per multiply-add of its convolutions) of one forward pass per output pixel."""

    name: str
    parameters: int
    flops_per_pixel: float


def cost(model: ValidConvNet, out_size: int = 64, name: str | None = None) -> Cost:
    """The :class:`Cost` of ``model`` (a network of :mod:`imgloss.training.models` or this
    module), measured on one ``out_size x out_size`` output."""
    flops = 0

    def count(conv: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal flops
        assert isinstance(conv, nn.Conv2d)
        k = conv.kernel_size[0] * conv.kernel_size[1]
        flops += 2 * conv.in_channels // conv.groups * k * output.numel()

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            side = out_size + 2 * int(model.margin)
            model(torch.zeros(1, 3, side, side))
    finally:
        for h in hooks:
            h.remove()
    params = sum(p.numel() for p in model.parameters())
    return Cost(name or type(model).__name__, params, flops / out_size**2)
