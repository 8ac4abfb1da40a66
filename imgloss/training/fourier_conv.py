"""Valid convolutions of small patches computed in the Fourier domain, with matrix products only.

Why: a training step of the paper's network on a CPU spends most of its time in the 64 -> 64
5x5 layer and in the thin 64 -> 3 output layer, for which oneDNN's direct kernels run at 0.2 of
the machine's matmul rate (``benchmarks/README.md``). On a 31 x 31 patch a whole-patch discrete
Fourier transform turns each layer into one small channel-mixing product per frequency, with
about 4x fewer floating-point operations than the direct convolution, and every transform is a
matrix product too, so the whole layer runs in BLAS at close to the machine's matmul rate.

**The math.** For an input ``x`` of ``H x W`` pixels and a ``kh x kw`` kernel ``w``, the valid
cross-correlation (what ``torch.nn.functional.conv2d`` computes) is::

    y[o, p, q] = b[o] + sum_{c, i, j} w[o, c, i, j] x[c, p + i, q + j],
    0 <= p < H - kh + 1,  0 <= q < W - kw + 1.

Its circular counterpart with DFT sizes ``H`` and ``W`` wraps only for ``p > H - kh`` or
``q > W - kw``, so the valid outputs are exact. By the correlation theorem, with ``^`` the 2-D DFT::

    y^[o, u, v] = sum_c x^[c, u, v] conj(w^[o, c, u, v]),

a ``C_in -> C_out`` matrix product per frequency ``(u, v)``. ``x`` is real, so only the
``v <= W // 2`` half of the spectrum is kept (the inverse weights the other bins by 2, as
``irfft`` does). Complex numbers are carried as separate real and imaginary parts, so that every
step is a real matrix product:

1. along ``W`` (real -> complex half spectrum): ``A = F_W x``, ``F_W`` of shape ``(2M, W)``,
   ``M = W // 2 + 1``, rows ``(v, re | im)``;
2. along ``H`` (complex -> complex): ``X_re = C A_re + S A_im``, ``X_im = C A_im - S A_re``,
   with ``C = cos(2 pi u h / H)`` and ``S = sin(2 pi u h / H)``;
3. per frequency: ``P_re = X_re W_re + X_im W_im``, ``P_im = X_im W_re - X_re W_im``
   (``X conj(W)``), batched matrix products of ``(N, C_in) x (C_in, C_out)``;
4. the inverse along ``H`` and then ``W``, evaluated only at the valid output positions.

The weights go through the same transforms on their ``kh x kw`` support once per call.

**Layout.** Activations are kept *spatial-major*, ``(W, H, N, C)``: with that layout each of the
steps above is one plain or batched matrix product on contiguous memory, with no transposes in
between. :func:`to_spatial_major` and :func:`from_spatial_major` convert from and to ``NCHW``.

**Cost.** The transforms are dense DFT matrices, ``O(H^2 W + H W^2)`` per channel, which is cheap
for patches and expensive for whole images; :func:`worthwhile` says when to use this path, and
:class:`FourierConvNet` (:func:`accelerate`) uses it only there (CPU, float32, patches up to
``MAX_SIDE``). Results equal ``torch.nn.functional.conv2d``'s to float32 rounding (relative
differences of a few 1e-6, tested), and gradients come from autograd through the same products.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from imgloss.training.models import ValidConvNet

MAX_SIDE = 64
"""Largest input side for which :func:`worthwhile` chooses the Fourier path. Chosen, not tuned:
the training patches (31 x 31) are far below it and whole test images (hundreds of pixels) far
above, where the dense DFT products (``O(side^3)`` per channel) lose to the direct convolution."""


class Transforms(NamedTuple):
    """The real DFT matrices of one ``(H, W, kh, kw)`` valid correlation (``M = W // 2 + 1``
    frequencies along ``W``, ``U = H`` along ``H``, ``Ho x Wo`` valid outputs). The matrices used
    in batched products are materialised with their batch axis ``M`` (a few kB)."""

    fw: torch.Tensor  # (2M, W): forward along W, rows (v, re | im)
    h_re: torch.Tensor  # (M, U, 2H): X_re = C A_re + S A_im, from A's (re | im) x H rows
    h_im: torch.Tensor  # (M, U, 2H): X_im = C A_im - S A_re
    k_re: torch.Tensor  # (U, 2 kh): h_re restricted to the kernel's support
    k_im: torch.Tensor  # (U, 2 kh)
    i_cos: torch.Tensor  # (M, Ho, U): cos(2 pi u p / H) / H, inverse along H
    i_sin: torch.Tensor  # (M, Ho, U): sin(2 pi u p / H) / H
    iw: torch.Tensor  # (Wo, 2M): inverse along W (Hermitian weights / W), cols (re | im, v)


@functools.lru_cache(maxsize=64)
def transforms(
    h: int, w: int, kh: int, kw: int, dtype: torch.dtype, device: torch.device
) -> Transforms:
    """The DFT matrices for ``h x w`` inputs and ``kh x kw`` kernels (built in float64)."""
    f64 = torch.float64
    ho, wo, m = h - kh + 1, w - kw + 1, w // 2 + 1
    v = torch.arange(m, dtype=f64)
    angle_w = 2 * math.pi * torch.outer(v, torch.arange(w, dtype=f64)) / w  # (M, W)
    fw = torch.stack([torch.cos(angle_w), -torch.sin(angle_w)], 1).reshape(2 * m, w)
    angle_h = 2 * math.pi * torch.outer(torch.arange(h, dtype=f64), torch.arange(h, dtype=f64)) / h
    c, s = torch.cos(angle_h), torch.sin(angle_h)  # (U, H), symmetric
    h_re, h_im = torch.cat([c, s], 1), torch.cat([-s, c], 1)
    support = torch.cat([torch.arange(kh), h + torch.arange(kh)])
    hermitian = torch.full((m,), 2.0, dtype=f64)
    hermitian[0] = 1.0
    if w % 2 == 0:
        hermitian[-1] = 1.0
    angle_q = 2 * math.pi * torch.outer(torch.arange(wo, dtype=f64), v) / w  # (Wo, M)
    iw = torch.cat([torch.cos(angle_q), -torch.sin(angle_q)], 1) * (hermitian / w).repeat(2)

    def batched(t: torch.Tensor) -> torch.Tensor:
        return t.expand(m, *t.shape).contiguous()

    mats = (
        fw,
        batched(h_re),
        batched(h_im),
        h_re[:, support],
        h_im[:, support],
        batched(c[:ho] / h),
        batched(s[:ho] / h),
        iw,
    )
    return Transforms(*(t.to(device=device, dtype=dtype) for t in mats))


def worthwhile(x: torch.Tensor) -> bool:
    """Whether the Fourier path pays for an ``(N, C, H, W)`` input: float32 on the CPU, outside
    autocast, with both sides at most :data:`MAX_SIDE` (the gain at the paper's 31 x 31 patches
    is measured in ``benchmarks/bench_train.py``)."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_autocast_enabled("cpu")
        and max(x.shape[-2:]) <= MAX_SIDE
    )


def to_spatial_major(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W) -> (W, H, N, C)``, contiguous."""
    return x.permute(3, 2, 0, 1).contiguous()


def from_spatial_major(x: torch.Tensor) -> torch.Tensor:
    """``(W, H, N, C) -> (N, C, H, W)``, contiguous."""
    return x.permute(2, 3, 1, 0).contiguous()


def kernel_spectrum(weight: torch.Tensor, t: Transforms) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight`` ``(C_out, C_in, kh, kw)`` -> its DFT ``(W_re, W_im)``, each ``(M U, C_in, C_out)``
    (steps 1-2 on the ``kh x kw`` support; differentiable through autograd)."""
    c_out, c_in, kh, kw = weight.shape
    m = t.fw.shape[0] // 2
    kernel = weight.permute(3, 2, 1, 0).reshape(kw, kh * c_in * c_out)  # (j, [i, c, o])
    a_w = (t.fw[:, :kw] @ kernel).reshape(m, 2 * kh, c_in * c_out)
    w_re = (t.k_re @ a_w).reshape(-1, c_in, c_out)
    w_im = (t.k_im @ a_w).reshape(-1, c_in, c_out)
    return w_re, w_im


class _SpectralCorrelation(torch.autograd.Function):
    """Steps 1-4 for the input, with a hand-written backward (the adjoint of each real matrix
    product) so that accumulations happen inside the products (``baddbmm``) rather than as
    separate passes over memory. ``bias`` is added at the zero frequency: ``P_re[0] += H W b``."""

    @staticmethod
    def forward(ctx, x, w_re, w_im, bias, t: Transforms):
        w_in, h_in, n, c_in = x.shape
        c_out = w_re.shape[-1]
        m, ho, wo = t.h_re.shape[0], t.i_cos.shape[1], t.iw.shape[0]
        a = (t.fw @ x.reshape(w_in, h_in * n * c_in)).view(m, 2 * h_in, n * c_in)
        x_re = torch.bmm(t.h_re, a).view(-1, n, c_in)
        x_im = torch.bmm(t.h_im, a).view(-1, n, c_in)
        p_re = torch.bmm(x_re, w_re).baddbmm_(x_im, w_im)
        p_im = torch.bmm(x_im, w_re).baddbmm_(x_re, w_im, alpha=-1)
        if bias is not None:
            p_re[0].add_(bias, alpha=h_in * w_in)
        p_re, p_im = p_re.view(m, h_in, n * c_out), p_im.view(m, h_in, n * c_out)
        y1 = x.new_empty(2, m, ho, n * c_out)
        torch.bmm(t.i_cos, p_re, out=y1[0])
        y1[0].baddbmm_(t.i_sin, p_im, alpha=-1)
        torch.bmm(t.i_sin, p_re, out=y1[1])
        y1[1].baddbmm_(t.i_cos, p_im)
        y = (t.iw @ y1.view(2 * m, ho * n * c_out)).view(wo, ho, n, c_out)
        ctx.save_for_backward(x_re, x_im, w_re, w_im)
        ctx.t, ctx.shape, ctx.has_bias = t, x.shape, bias is not None
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y):
        x_re, x_im, w_re, w_im = ctx.saved_tensors
        t: Transforms = ctx.t
        w_in, h_in, n, c_in = ctx.shape
        m, ho, wo = t.h_re.shape[0], t.i_cos.shape[1], t.iw.shape[0]
        c_out = w_re.shape[-1]
        g1 = (t.iw.T @ grad_y.reshape(wo, ho * n * c_out)).view(2, m, ho, n * c_out)
        gp_re = torch.bmm(t.i_cos.mT, g1[0]).baddbmm_(t.i_sin.mT, g1[1])
        gp_im = torch.bmm(t.i_cos.mT, g1[1]).baddbmm_(t.i_sin.mT, g1[0], alpha=-1)
        gp_re, gp_im = gp_re.view(-1, n, c_out), gp_im.view(-1, n, c_out)
        grad_x = grad_w_re = grad_w_im = grad_bias = None
        if ctx.needs_input_grad[0]:
            gx_re = torch.bmm(gp_re, w_re.mT).baddbmm_(gp_im, w_im.mT, alpha=-1)
            gx_im = torch.bmm(gp_re, w_im.mT).baddbmm_(gp_im, w_re.mT)
            ga = torch.bmm(t.h_re.mT, gx_re.view(m, h_in, n * c_in))
            ga.baddbmm_(t.h_im.mT, gx_im.view(m, h_in, n * c_in))
            grad_x = (t.fw.T @ ga.view(2 * m, h_in * n * c_in)).view(w_in, h_in, n, c_in)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            grad_w_re = torch.bmm(x_re.mT, gp_re).baddbmm_(x_im.mT, gp_im)
            grad_w_im = torch.bmm(x_im.mT, gp_re).baddbmm_(x_re.mT, gp_im, alpha=-1)
        if ctx.has_bias and ctx.needs_input_grad[3]:
            grad_bias = gp_re[0].sum(0) * (h_in * w_in)
        return grad_x, grad_w_re, grad_w_im, grad_bias, None


def fourier_conv2d(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """Valid cross-correlation of spatial-major ``x`` ``(W, H, N, C_in)`` with ``weight``
    ``(C_out, C_in, kh, kw)`` (+ ``bias`` ``(C_out,)``): ``(W - kw + 1, H - kh + 1, N, C_out)``.

    Equals ``conv2d`` on the ``NCHW`` views to float32 rounding; differentiable once in all
    inputs (no double backward).
    """
    if x.dim() != 4 or weight.dim() != 4:
        raise ValueError(
            f"x must be (W, H, N, C_in) and weight (C_out, C_in, kh, kw), got {tuple(x.shape)} "
            f"and {tuple(weight.shape)}"
        )
    w_in, h_in, _, c_in = x.shape
    c_out, c_w, kh, kw = weight.shape
    if c_w != c_in:
        raise ValueError(f"weight has {c_w} input channels but x has {c_in} (its last axis)")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dtype != x.dtype or t.device != x.device):
            raise ValueError(
                f"{name} must have x's dtype and device ({x.dtype}, {x.device}), got "
                f"{t.dtype} on {t.device}"
            )
    if kh > h_in or kw > w_in:
        raise ValueError(f"kernel {kh} x {kw} is larger than the input {h_in} x {w_in}")
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {tuple(bias.shape)}")
    dft = transforms(h_in, w_in, kh, kw, x.dtype, x.device)
    w_re, w_im = kernel_spectrum(weight, dft)
    return _SpectralCorrelation.apply(x.contiguous(), w_re, w_im, bias, dft)


# ------------------------------------------------------------------------- the network layer
#: How a FourierConvNet chooses the Fourier path, where it pays (``auto``), never or always.
ALGORITHMS = ("auto", "direct", "fourier")


def fourier_layers(net: ValidConvNet) -> tuple[bool, ...]:
    """Which convolutions of a valid network (``net.convs``) run on the Fourier path: the
    ``k x k`` layers with at least 64 input channels (measured: faster than oneDNN's direct
    kernels for PaperNet's two last layers, slower for the first layer's 3 channels and SRCNN's
    32-channel last layer); a 1 x 1 layer stays in the layout of the layer before it (it is a
    matrix product either way)."""
    wanted: list[bool] = []
    for i, conv in enumerate(net.convs):
        k = conv.kernel_size[0]
        wanted.append((k > 1 and conv.in_channels >= 64) or (k == 1 and i > 0 and wanted[i - 1]))
    return tuple(wanted)


class FourierConvNet(nn.Module):
    """A :class:`imgloss.training.models.ValidConvNet` whose wide layers run on the Fourier path
    where it pays: the same function and the same parameters (shared, not copied), computed
    differently.

    ``algorithm``: ``"auto"`` (the Fourier path for inputs :func:`worthwhile` accepts),
    ``"fourier"`` (always) or ``"direct"`` (never). Its state dict is the wrapped network's
    under ``net.``; save ``wrapper.net`` to keep the plain network's keys.
    """

    net: ValidConvNet

    def __init__(self, net: ValidConvNet, algorithm: str = "auto") -> None:
        super().__init__()
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        self.net, self.algorithm = net, algorithm
        self.fourier_layers = fourier_layers(net)

    @property
    def margin(self) -> int:
        return self.net.margin

    def uses_fourier(self, x: torch.Tensor) -> bool:
        """Whether :meth:`forward` takes the Fourier path for the ``(N, 3, H, W)`` input ``x``."""
        if not any(self.fourier_layers) or self.algorithm == "direct":
            return False
        return self.algorithm == "fourier" or worthwhile(x)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Whole images: the wrapped network's own (direct) inference."""
        return self.net.predict(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The wrapped network's function; on the Fourier path the activations stay
        spatial-major, ``(W, H, N, C)``, between the Fourier layers."""
        if not self.uses_fourier(x):
            return self.net(x)
        self.net.check_input(x)
        convs, acts = self.net.convs, self.net.acts
        spatial = False  # the first layer (3 input channels) is never a Fourier layer
        for i, conv in enumerate(convs):
            if not spatial:
                x = conv(x)
            elif conv.kernel_size == (1, 1):
                x = F.linear(x, conv.weight.flatten(1), conv.bias)
            else:
                x = fourier_conv2d(x, conv.weight, conv.bias)
            # Change layout before the PReLU, for the next layer: PReLU is cheaper on
            # (W H N, C) rows than on NCHW planes.
            if i + 1 < len(convs) and self.fourier_layers[i + 1] != spatial:
                x, spatial = (from_spatial_major if spatial else to_spatial_major)(x), not spatial
            if i < len(acts):
                act = acts[i]
                x = (
                    F.prelu(x.reshape(-1, x.shape[-1]), act.weight).view(x.shape)
                    if spatial
                    else act(x)
                )
        return from_spatial_major(x) if spatial else x


def accelerate(net: ValidConvNet, algorithm: str = "auto") -> torch.nn.Module:
    """``net`` computed with the Fourier path where it pays (:class:`FourierConvNet`), or
    ``net`` itself when none of its layers would use it (SRCNN), when ``algorithm="direct"``, or
    when ``net`` is not a plain chain of convolutions and PReLUs (its own ``forward``: a residual
    network or a U-Net, which the wrapper would not reproduce)."""
    from imgloss.training.models import ValidConvNet

    if type(net).forward is not ValidConvNet.forward:
        return net
    wrapped = FourierConvNet(net, algorithm)
    return wrapped if any(wrapped.fourier_layers) and algorithm != "direct" else net
