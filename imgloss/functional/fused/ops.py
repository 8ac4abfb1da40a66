"""The fused losses' autograd functions: Triton launches for the forward and the backward pass.

Imported only through :mod:`imgloss.functional.fused` (which catches a missing Triton). Tile sizes
are the constants below, chosen for correctness and modest register use, not yet tuned on a
GPU (issue 35, item 3).
"""

from __future__ import annotations

import contextlib
import functools

import torch
import triton

from ..filters import gaussian_1d, patch_weights
from ..stats import first_order_only, patch_lcs, patch_weighted_sum
from . import patch_kernels, sliding_kernels

#: Output tile of one sliding program (``TILE x TILE`` pixels of one plane) and the chunk of
#: input rows/columns of each banded product (``tl.dot`` needs at least 16).
TILE = 32
CHUNK = 32
#: Warps per sliding program (the backward holds ``S_PAD x TILE x TILE`` cs values).
SLIDING_WARPS = 8
#: Patch mode keeps a whole plane in one program: patches up to this many pixels (64 x 64).
MAX_PATCH_PIXELS = 4096

#: A window: ``(sigma, radius)`` of a truncated 1-D Gaussian (``gaussian_1d``).
Window = tuple[float, int]


@functools.lru_cache(maxsize=64)
def window_table(
    windows: tuple[Window, ...], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(S, K)`` float32 taps (zero-padded rows) and ``(S, 2)`` int32 ``(R - r_i, k_i)``."""
    kmax = max(2 * r + 1 for _, r in windows)
    top_radius = max(r for _, r in windows)
    taps = torch.zeros(len(windows), kmax, dtype=torch.float32)
    for i, (sigma, radius) in enumerate(windows):
        taps[i, : 2 * radius + 1] = gaussian_1d(sigma, radius).to(torch.float32)
    meta = torch.tensor([[top_radius - r, 2 * r + 1] for _, r in windows], dtype=torch.int32)
    return taps.to(device), meta.to(device)


def _on(x: torch.Tensor) -> contextlib.AbstractContextManager:
    """Launch on ``x``'s GPU (Triton launches on the current CUDA device)."""
    return torch.cuda.device(x.device) if x.is_cuda else contextlib.nullcontext()


def _sliding_geometry(x: torch.Tensor, windows: tuple[Window, ...]) -> dict:
    n, c, hh, ww = x.shape
    radius = max(r for _, r in windows)
    h, w = hh - 2 * radius, ww - 2 * radius
    tiles_w = triton.cdiv(w, TILE)
    return {
        "planes": n * c,
        "H": hh,
        "W": ww,
        "h": h,
        "w": w,
        "tiles_w": tiles_w,
        "tiles": triton.cdiv(h, TILE) * tiles_w,
    }


class SlidingMeans(torch.autograd.Function):
    """``(x, y) -> (mean_p l_TOP(p) P(p), mean_p P(p))``, each ``(N, C)``, ``P = prod_i cs_i``
    over the valid region of the largest window, for ``x, y`` of shape ``(N, C, H, W)``
    (float32). One window: SSIM's and cs's means (eqs. 5-6); the paper's five sigmas: the
    Gaussian MS-SSIM (eq. 11 with unit exponents). One kernel launch each way
    (:mod:`.sliding_kernels`)."""

    @staticmethod
    def forward(ctx, x, y, windows: tuple[Window, ...], top: int, c1: float, c2: float):
        x, y = x.contiguous(), y.contiguous()
        geo = _sliding_geometry(x, windows)
        taps, meta = window_table(windows, x.device)
        sums = x.new_empty((geo["planes"], geo["tiles"], 2))
        with _on(x):
            sliding_kernels.sliding_forward[(geo["tiles"], geo["planes"])](
                x,
                y,
                taps,
                meta,
                sums,
                geo["H"],
                geo["W"],
                geo["h"],
                geo["w"],
                geo["tiles_w"],
                geo["tiles"],
                c1,
                c2,
                S=len(windows),
                TOP=top,
                KMAX=taps.shape[1],
                BH=TILE,
                BW=TILE,
                RC=CHUNK,
                CC=CHUNK,
                num_warps=SLIDING_WARPS,
            )
        means = sums.sum(dim=1) / (geo["h"] * geo["w"])
        ctx.save_for_backward(x, y)
        ctx.setup = (windows, top, c1, c2, geo)
        shape = x.shape[:2]
        return means[:, 0].reshape(shape), means[:, 1].reshape(shape)

    @staticmethod
    @first_order_only
    def backward(ctx, grad_map, grad_cs):
        x, y = ctx.saved_tensors
        windows, top, c1, c2, geo = ctx.setup
        need_x, need_y = ctx.needs_input_grad[:2]
        gin = torch.stack([_or_zeros(grad_map, x), _or_zeros(grad_cs, x)], dim=-1)
        gin = (gin.reshape(-1, 2) / (geo["h"] * geo["w"])).to(torch.float32).contiguous()
        grads = [torch.zeros_like(x) if need else x.new_empty(1) for need in (need_x, need_y)]
        taps, meta = window_table(windows, x.device)
        with _on(x):
            sliding_kernels.sliding_backward[(geo["tiles"], geo["planes"])](
                x,
                y,
                taps,
                meta,
                gin,
                grads[0],
                grads[1],
                geo["H"],
                geo["W"],
                geo["h"],
                geo["w"],
                geo["tiles_w"],
                c1,
                c2,
                S=len(windows),
                S_PAD=triton.next_power_of_2(len(windows)),
                TOP=top,
                KMAX=taps.shape[1],
                NEED_X=need_x,
                NEED_Y=need_y,
                BH=TILE,
                BW=TILE,
                RC=CHUNK,
                CC=CHUNK,
                num_warps=SLIDING_WARPS,
            )
        return (grads[0] if need_x else None, grads[1] if need_y else None, None, None, None, None)


def _or_zeros(grad: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    """An incoming gradient of an ``(N, C)`` output, zeros where autograd passes None."""
    return grad if grad is not None else x.new_zeros(x.shape[:2])


class PatchValues(torch.autograd.Function):
    """``(x, y) -> (l_TOP prod_i cs_i, sum_q w_TOP(q) |x(q) - y(q)|)``, each ``(N, C)``, at
    the centre of odd ``(N, C, H, W)`` float32 patches with ``H W <= MAX_PATCH_PIXELS``
    (eqs. 7, 12 and Mix's l1 term of eq. 14). One kernel launch each way
    (:mod:`.patch_kernels`). Under ``create_graph=True`` the backward differentiates the eager
    formula instead (:func:`_patch_eager`), so that patch mode stays exact to any order."""

    @staticmethod
    def forward(ctx, x, y, sigmas: tuple[float, ...], top: int, c1: float, c2: float):
        ctx.inputs = (x, y)  # for a second derivative (see backward)
        x, y = x.contiguous(), y.contiguous()
        n, c, h, w = x.shape
        weights = patch_weights(sigmas, h, w, dtype=torch.float32, device=x.device)
        out = x.new_empty((n * c, 2))
        block = triton.next_power_of_2(h * w)
        with _on(x):
            patch_kernels.patch_forward[(n * c,)](
                x,
                y,
                weights,
                out,
                h * w,
                c1,
                c2,
                S=len(sigmas),
                TOP=top,
                BLOCK=block,
                num_warps=_patch_warps(block),
            )
        ctx.save_for_backward(x, y, weights)
        ctx.setup = (sigmas, top, c1, c2, block)
        return out[:, 0].reshape(n, c), out[:, 1].reshape(n, c)

    @staticmethod
    def backward(ctx, grad_value, grad_l1):
        if torch.is_grad_enabled():
            return _patch_double_backward(ctx, grad_value, grad_l1)
        x, y, weights = ctx.saved_tensors
        _, top, c1, c2, block = ctx.setup
        need_x, need_y = ctx.needs_input_grad[:2]
        gin = torch.stack([_or_zeros(grad_value, x), _or_zeros(grad_l1, x)], dim=-1)
        gin = gin.reshape(-1, 2).to(torch.float32).contiguous()
        grads = [torch.empty_like(x) if need else x.new_empty(1) for need in (need_x, need_y)]
        n, c, h, w = x.shape
        with _on(x):
            patch_kernels.patch_backward[(n * c,)](
                x,
                y,
                weights,
                gin,
                grads[0],
                grads[1],
                h * w,
                c1,
                c2,
                S=weights.shape[0],
                TOP=top,
                BLOCK=block,
                NEED_X=need_x,
                NEED_Y=need_y,
                num_warps=_patch_warps(block),
            )
        return (grads[0] if need_x else None, grads[1] if need_y else None, None, None, None, None)


def _patch_warps(block: int) -> int:
    """Warps of a patch program: one per 256 pixels of its (power-of-two) block, 4 to 16."""
    return max(4, min(16, block // 256))


def _patch_eager(x, y, sigmas: tuple[float, ...], top: int, c1: float, c2: float):
    """The eager formula of :class:`PatchValues` (one matrix product, autograd to any order)."""
    l, cs = patch_lcs(x, y, sigmas, c1, c2)
    return l[..., top] * cs.prod(dim=-1), patch_weighted_sum((x - y).abs(), sigmas[top])


def _patch_double_backward(ctx, grad_value, grad_l1):
    """:class:`PatchValues`' gradient as a differentiable graph (``create_graph=True``)."""
    sigmas, top, c1, c2, _ = ctx.setup
    inputs = [t for t, need in zip(ctx.inputs, ctx.needs_input_grad[:2]) if need]
    outputs = _patch_eager(*ctx.inputs, sigmas, top, c1, c2)
    pairs = [(o, g) for o, g in zip(outputs, (grad_value, grad_l1)) if g is not None]
    found = iter(
        torch.autograd.grad(
            [o for o, _ in pairs],
            inputs,
            [g for _, g in pairs],
            create_graph=True,
            allow_unused=True,
            materialize_grads=True,
        )
    )
    grads = [next(found) if need else None for need in ctx.needs_input_grad[:2]]
    return (*grads, None, None, None, None)
