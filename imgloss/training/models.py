"""The networks of the paper: the same architecture, initialisation and optimiser for every loss.

* :class:`PaperNet` (Section 4.1, denoising + demosaicking and JPEG): conv ``64 x 9 x 9 x 3``,
  PReLU, conv ``64 x 5 x 5 x 64``, PReLU, conv ``3 x 5 x 5 x 64``.
* :class:`SRCNN` (Section 4.2): Dong et al.'s 9-1-5 network (64 and 32 filters) with PReLU
  instead of ReLU, on RGB, fed with the bilinearly upsampled image.

**Padding.** The paper does not say whether its convolutions are padded. Like SRCNN, which it
follows (and Caffe's default, ``pad: 0``), we use unpadded ("valid") convolutions: no output
pixel depends on made-up values outside the patch, and a training step is ~2.5x cheaper on the
CPU than with zero padding. A valid network shrinks its input by ``2 * margin`` pixels
(``margin`` = 8 for PaperNet, 6 for SRCNN): the paper's 31 x 31 training inputs give 15 x 15
outputs (19 x 19 for SRCNN), and the losses are computed on those outputs against the centre of
the clean patch. On 15 x 15 the Gaussians of sigma >= 5 are broad compared with the patch, which
is what the paper's patch-centre formulation (eq. 7) implies for a valid network. The input size
is a parameter of the trainer (``patch``), so a larger context can be tried.

**Full images** (:meth:`ValidConvNet.predict`): the input is reflect-padded by ``margin`` on
each side, so the output has the input's size; the only border effect is the mirrored context
in the outer ``margin`` pixels.

**Convolution algorithm.** These modules compute every layer with ``torch.nn.functional.conv2d``
(cuDNN / oneDNN). How a CPU computes them faster is not part of the model:
:func:`imgloss.training.fourier_conv.accelerate` wraps a network, sharing its parameters, so that
its wide layers run as matrix products in the Fourier domain on float32 CPU patches (the trainer
applies it on the CPU).

**Initialisation.** He et al. (2015, the PReLU paper) normal init for the convolutions
followed by a PReLU (``a = 0.25``, its initial slope), a small normal init (std 1e-3) for the
output layer, zero biases; one ``torch.manual_seed`` makes every loss start from the same
weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from imgloss.core.errors import InputError

PRELU_INIT = 0.25


def _init_conv(conv: nn.Conv2d, *, last: bool) -> None:
    if last:
        nn.init.normal_(conv.weight, std=1e-3)
    else:
        nn.init.kaiming_normal_(conv.weight, a=PRELU_INIT, nonlinearity="leaky_relu")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class ValidConvNet(nn.Module):
    """Unpadded convolutions with PReLUs between them; ``margin`` pixels are lost per side."""

    convs: Sequence[nn.Conv2d]  # an nn.ModuleList at run time
    acts: Sequence[nn.PReLU]
    margin: int

    def __init__(self, layers: list[tuple[int, int, int]]) -> None:
        super().__init__()
        convs, acts = [], []
        for i, (c_in, c_out, k) in enumerate(layers):
            conv = nn.Conv2d(c_in, c_out, k)
            _init_conv(conv, last=i == len(layers) - 1)
            convs.append(conv)
            if i < len(layers) - 1:
                acts.append(nn.PReLU(c_out, init=PRELU_INIT))
        self.convs = cast(Sequence[nn.Conv2d], nn.ModuleList(convs))
        self.acts = cast(Sequence[nn.PReLU], nn.ModuleList(acts))
        self.margin = sum((k - 1) // 2 for _, _, k in layers)

    def check_input(self, x: torch.Tensor) -> None:
        """An ``(N, 3, H, W)`` input with more than ``2 margin`` pixels per side, or a
        ``ValueError`` saying what is wrong."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"input must be (N, 3, H, W), got {tuple(x.shape)}")
        if min(x.shape[-2:]) <= 2 * self.margin:
            raise ValueError(
                f"input of {x.shape[-2]} x {x.shape[-1]} is too small: this network's valid "
                f"convolutions need more than {2 * self.margin} pixels per side"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W) -> (N, 3, H - 2 margin, W - 2 margin)``: convolution, PReLU, ..."""
        self.check_input(x)
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i < len(self.acts):
                x = self.acts[i](x)
        return x

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Full-image inference: reflect-pad by ``margin``, so the output matches ``x``'s size.

        On the CPU the padded image is given to oneDNN in channels-last layout, which is about
        25% faster there for these full-image convolutions (the same arithmetic up to float32
        rounding); the output is returned in the usual contiguous layout."""
        m = self.margin
        if min(x.shape[-2:]) <= m:
            raise ValueError(f"image must be larger than {m} pixels per side for reflect padding")
        padded = F.pad(x, (m, m, m, m), mode="reflect")
        if padded.device.type == "cpu":
            padded = padded.contiguous(memory_format=torch.channels_last)
        return self(padded).contiguous()


class PaperNet(ValidConvNet):
    """Section 4.1's network: 9x9 (64), PReLU, 5x5 (64), PReLU, 5x5 (3); margin 8."""

    LAYERS = ((3, 64, 9), (64, 64, 5), (64, 3, 5))  # (in, out, kernel) per convolution

    def __init__(self) -> None:
        super().__init__(list(self.LAYERS))


class SRCNN(ValidConvNet):
    """SRCNN 9-1-5 (Dong et al.) with PReLU, on RGB: 9x9 (64), 1x1 (32), 5x5 (3); margin 6."""

    LAYERS = ((3, 64, 9), (64, 32, 1), (32, 3, 5))

    def __init__(self) -> None:
        super().__init__(list(self.LAYERS))


#: The networks by the name a task gives (``imgloss.design.tasks.Task.network``).
NETWORKS: dict[str, type[ValidConvNet]] = {"PaperNet": PaperNet, "SRCNN": SRCNN}
#: Networks from after the paper (:mod:`imgloss.training.modern_nets`), by name: a run may train
#: one of them instead of its task's (``RunSpec.network``).
MODERN = ("ResidualNet", "UNet")


def network_class(task: str, network: str | None = None) -> Callable[[], ValidConvNet]:
    """The class of ``network`` (a name of :data:`NETWORKS` or :data:`MODERN`), or of ``task``'s
    own network when ``network`` is None. An unknown name is an ``InputError`` naming the valid
    ones."""
    if network is None:
        from imgloss.design import tasks

        return NETWORKS[tasks.get(task).network]  # an unknown task: tasks.get names the valid ones
    if network in MODERN:
        from imgloss.training import modern_nets

        return getattr(modern_nets, network)
    if network in NETWORKS:
        return NETWORKS[network]
    raise InputError(f"unknown network {network!r}; choose from {', '.join([*NETWORKS, *MODERN])}")


def for_task(task: str, network: str | None = None) -> ValidConvNet:
    """The network of a run of ``task``: ``network`` by name, or the task's own
    (``imgloss.design.tasks.Task.network``: SRCNN for super-resolution, PaperNet otherwise)."""
    return network_class(task, network)()


def margin_for(task: str, network: str | None = None) -> int:
    """Pixels per side that the network of ``task`` (or ``network``) loses, from its class alone
    (no network is built, so no random generator moves)."""
    cls = network_class(task, network)
    layers = getattr(cls, "LAYERS", None)
    return sum((k - 1) // 2 for _, _, k in layers) if layers else int(getattr(cls, "MARGIN", 0))
