"""SSIM statistics shared by SSIM, MS-SSIM and Mix: patch mode and sliding mode.

Notation (paper eqs. 4-5): for Gaussian-weighted means ``mu_x, mu_y``, variances
``sigma_x^2 = E[x^2] - mu_x^2``, ``sigma_y^2`` and covariance ``sigma_xy = E[xy] - mu_x mu_y``,

    l  = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)
    cs = (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2),      SSIM = l * cs,

with ``C1 = (k1 L)^2`` and ``C2 = (k2 L)^2`` for the data range ``L`` (population, not sample,
covariance, as in Wang et al. 2004 and the authors' Caffe layers).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator

import torch

from .filters import filter_full, filter_valid, patch_weights, valid_mean_weights


@contextlib.contextmanager
def full_precision(device: torch.device) -> Iterator[None]:
    """Disable autocast so that the statistics stay in float32/float64."""
    ctx: contextlib.AbstractContextManager
    try:
        ctx = torch.autocast(device_type=device.type, enabled=False)
    except RuntimeError:  # device type without autocast support
        ctx = contextlib.nullcontext()
    with ctx:
        yield


@contextlib.contextmanager
def _ieee_float32_matmul(device: torch.device) -> Iterator[None]:
    """Full float32 matmuls on CUDA, also where TF32 is switched on globally
    (``torch.set_float32_matmul_precision("high")``, common in training scripts): TF32's 10-bit
    mantissa ruins the variances ``E[x^2] - mu^2`` (measured: 3e-4 absolute error of
    ``1 - MS-SSIM`` on 31 x 31 patches, and diverging MS-SSIM/Mix training)."""
    if device.type != "cuda" or torch.compiler.is_compiling():
        yield
        return
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


#: Why a hand-written backward refuses ``create_graph=True``, and what to use instead.
SECOND_ORDER_MESSAGE = (
    "second derivatives (create_graph=True, e.g. a gradient penalty) of the sliding SSIM, "
    "MS-SSIM and Mix losses are not available: their first derivative is hand-written and would "
    "differentiate as zero. Use window='patch' (exact to any order), or for a sliding SSIM "
    "imgloss.losses.ssim_map(prediction, target, ...).mean(), which autograd differentiates twice"
)


def first_order_only(backward: Callable) -> Callable:
    """Decorate an ``autograd.Function.backward`` that is not itself differentiable: under
    ``create_graph=True`` (grad mode on inside the backward pass) it raises a ``RuntimeError``
    naming the alternatives, instead of returning gradients that a second derivative would
    silently treat as constants (``once_differentiable`` only errs when an incoming gradient
    requires grad, which a gradient penalty's does not)."""

    @functools.wraps(backward)
    def checked(ctx, *grads):
        if torch.is_grad_enabled():
            raise RuntimeError(SECOND_ORDER_MESSAGE)
        return backward(ctx, *grads)

    return checked


class _ExactMatmul(torch.autograd.Function):
    """``a @ b`` with TF32 disabled in the forward and in the backward pass."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        with _ieee_float32_matmul(a.device):
            return a @ b

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        a, b = ctx.saved_tensors
        with _ieee_float32_matmul(grad.device):
            ga = grad @ b.mT if ctx.needs_input_grad[0] else None
            gb = a.mT @ grad if ctx.needs_input_grad[1] else None
        return ga, gb


def exact_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` in full float32 precision on CUDA (plain ``@`` elsewhere and when compiling)."""
    if a.device.type != "cuda" or torch.compiler.is_compiling():
        return a @ b
    return _ExactMatmul.apply(a, b)


def identical_planes(
    x: torch.Tensor, y: torch.Tensor, abs_diff: torch.Tensor | None = None
) -> torch.Tensor:
    """``(N, C)`` bool: the planes (image, channel) where ``x`` and ``y`` are exactly equal.

    SSIM of identical images is 1 in exact arithmetic, but the moments of ``x`` and of ``y`` may
    be rounded differently (a BLAS matrix-vector product does not treat every row alike:
    measured 1.0000056 for two constant 0.3 patches), so the SSIM functions set those planes to
    exactly 1 with :func:`one_where_identical`. The gradient there is zero, as it should be (an
    identical pair is SSIM's maximum). Computed as ``max |x - y| == 0`` (``x - y`` is exactly 0
    only where ``x == y``; NaN never counts as equal), one subtraction and one reduction without
    autograd: measured 3-4% of a patch-mode SSIM/MS-SSIM training step (31 x 31 patches, one
    CPU thread), less for Mix, which passes its ``abs_diff = |x - y|`` in.
    """
    with torch.no_grad():
        d = torch.sub(x, y).abs_() if abs_diff is None else abs_diff.detach()
        return d.flatten(2).amax(dim=-1) == 0


def one_where_identical(values: torch.Tensor, identical: torch.Tensor) -> torch.Tensor:
    """``values`` (``(N, C, ...)``) with the planes of :func:`identical_planes` set to 1."""
    mask = identical.reshape(*identical.shape, *([1] * (values.dim() - identical.dim())))
    return torch.where(mask, torch.ones((), dtype=values.dtype, device=values.device), values)


def luminance_contrast_structure(
    mu_x: torch.Tensor,
    mu_y: torch.Tensor,
    e_xx: torch.Tensor,
    e_yy: torch.Tensor,
    e_xy: torch.Tensor,
    c1: float,
    c2: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(l, cs)`` of paper eq. 5 from the five Gaussian-weighted moments."""
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    l = (2 * mu_xy + c1) / (mu_xx + mu_yy + c1)
    cs = (2 * (e_xy - mu_xy) + c2) / ((e_xx - mu_xx) + (e_yy - mu_yy) + c2)
    return l, cs


# --------------------------------------------------------------------------------------
# Patch mode (paper eqs. 7 and 12): statistics at the centre pixel only.
# --------------------------------------------------------------------------------------


def patch_lcs(
    x: torch.Tensor, y: torch.Tensor, sigmas: tuple[float, ...], c1: float, c2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``l(p~)`` and ``cs(p~)`` at the centre pixel of odd ``H x W`` patches, for each sigma.

    The Gaussian of each sigma spans the whole patch (paper eq. 7); the five moments are
    weighted sums, computed for all sigmas at once as one matrix product
    ``(5 N C, H W) @ (H W, S)``.

    Args:
        x, y: ``(N, C, H, W)`` with odd ``H`` and ``W``.

    Returns:
        ``(l, cs)``, each ``(N, C, S)`` with ``S = len(sigmas)``.
    """
    n, c, h, w = x.shape
    weights = patch_weights(sigmas, h, w, dtype=x.dtype, device=x.device)  # (S, HW)
    stacked = torch.stack((x, y, x * x, y * y, x * y)).reshape(5 * n * c, h * w)
    moments = exact_matmul(stacked, weights.T)
    mu_x, mu_y, e_xx, e_yy, e_xy = moments.reshape(5, n, c, len(sigmas)).unbind(0)
    return luminance_contrast_structure(mu_x, mu_y, e_xx, e_yy, e_xy, c1, c2)


def patch_weighted_sum(v: torch.Tensor, sigma: float) -> torch.Tensor:
    """``sum_q G_sigma(q - p~) v(q)`` over each odd patch: ``(N, C, H, W) -> (N, C)``."""
    n, c, h, w = v.shape
    weights = patch_weights((sigma,), h, w, dtype=v.dtype, device=v.device)
    return exact_matmul(v.reshape(n * c, h * w), weights.T).reshape(n, c)


def sliding_filtered_mean(v: torch.Tensor, sigma: float, radius: int) -> torch.Tensor:
    """Mean of the Gaussian-filtered ``v`` over its valid region: ``(N, C, H, W) -> (N, C)``.

    Equal to ``filter_valid(v, gaussian_1d(sigma, radius)).mean(dim=(2, 3))``, computed as
    ``a^T V b`` with the weights of :func:`valid_mean_weights` (two matrix-vector products, no
    filtering; autograd differentiates it).
    """
    n, c, hh, ww = v.shape
    a = valid_mean_weights(sigma, radius, hh, dtype=v.dtype, device=v.device)
    b = valid_mean_weights(sigma, radius, ww, dtype=v.dtype, device=v.device)
    rows = exact_matmul(v.reshape(n * c * hh, ww), b[:, None]).reshape(n * c, hh)
    return exact_matmul(rows, a[:, None]).reshape(n, c)


# --------------------------------------------------------------------------------------
# Sliding mode: SSIM maps over the valid region, averaged.
# --------------------------------------------------------------------------------------


def stack_for_filtering(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Stack ``K`` NCHW tensors of one shape into a single channels-last ``(1, K N C, H, W)``.

    The Gaussian filter is depthwise (every channel of every image filtered alone), so batch
    and channels can be merged: one wide channels-last image lets the CPU convolution vectorise
    across ``K N C`` channels, measurably faster than ``(K N, C, H, W)`` or ``(N, K C, H, W)``.
    :func:`unstack` gives the ``K`` tensors back as ``(N, C, h, w)`` views.
    """
    n, c, h, w = tensors[0].shape
    if not channels_last_is_faster(tensors[0].device):
        return torch.cat([t.reshape(1, n * c, h, w) for t in tensors], dim=1)
    hwk = torch.stack([t.reshape(n * c, h, w).permute(1, 2, 0) for t in tensors], dim=2)
    return hwk.reshape(1, h, w, len(tensors) * n * c).permute(0, 3, 1, 2)


def channels_last_is_faster(device: torch.device) -> bool:
    """Memory layout of the filtered stack: channels-last on CPU, NCHW on GPUs.

    Measured (``benchmarks/``): on a CPU, channels-last depthwise convolution is several times
    faster; on an H200, cuDNN's NCHW depthwise kernels are the faster ones.
    """
    return device.type == "cpu"


def unstack(stacked: torch.Tensor, count: int, n: int, c: int) -> list[torch.Tensor]:
    """Inverse of :func:`stack_for_filtering` (views, no copy): ``count`` tensors ``(N, C, h,
    w)``."""
    h, w = stacked.shape[-2:]
    return [block.reshape(n, c, h, w) for block in stacked.chunk(count, dim=1)]


def sliding_moments(x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor) -> list[torch.Tensor]:
    """Filtered moments ``mu_x, mu_y, E[x^2], E[y^2], E[xy]`` stacked on the batch axis.

    Returns five ``(N, C, H - k + 1, W - k + 1)`` views of one filtered buffer.
    """
    stacked = filter_valid(stack_for_filtering([x, y, x * x, y * y, x * y]), kernel)
    return unstack(stacked, 5, *x.shape[:2])


def sliding_lcs_maps(
    x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor, c1: float, c2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``l`` and ``cs`` maps over the valid region, ``(N, C, H-k+1, W-k+1)`` each (autograd)."""
    mu_x, mu_y, e_xx, e_yy, e_xy = sliding_moments(x, y, kernel)
    return luminance_contrast_structure(mu_x, mu_y, e_xx, e_yy, e_xy, c1, c2)


def mu_derivative_map(
    out: torch.Tensor,
    mu_mine: torch.Tensor,
    mu_other: torch.Tensor,
    cs: torch.Tensor,
    w_cs: torch.Tensor,
    l: torch.Tensor | None = None,
    w_l: torch.Tensor | None = None,
) -> torch.Tensor:
    """``-1/2`` times the derivative of ``f`` with respect to ``mu_mine`` (``mu_x`` or ``mu_y``),
    written into ``out``: ``(mu_other - mu_mine cs) w_cs - (mu_other - mu_mine l) w_l``, where
    ``w_cs = (df/dcs) / b2`` and ``w_l = (df/dl) / b1`` (the ``l`` term only when given), from
    ``dcs/dmu_x = 2 (mu_x cs - mu_y) / b2`` and ``dl/dmu_x = 2 (mu_y - mu_x l) / b1``. The sign
    lets one ``addcmul`` start each term."""
    torch.addcmul(mu_other, mu_mine, cs, value=-1, out=out).mul_(w_cs)
    if l is not None and w_l is not None:
        out.addcmul_(torch.addcmul(mu_other, mu_mine, l, value=-1), w_l, value=-1)
    return out


def moment_gradient(
    out: torch.Tensor,
    mine: torch.Tensor,
    other: torch.Tensor,
    t_mu: torch.Tensor,
    t_sq: torch.Tensor,
    t_xy: torch.Tensor,
    scale: float = 1.0,
) -> None:
    """The gradient with respect to ``mine`` (``x`` or ``y``), times ``scale``, written into
    ``out``, from the adjoint-filtered derivative maps of the sliding statistics: ``t_mu`` of
    :func:`mu_derivative_map` (overwritten), ``t_sq`` of ``-d/dE[x^2 + y^2]`` and ``t_xy`` of
    ``d/dE[xy] / 2``. The gradient ``T_mu + 2 mine T_sq + other T_xy`` is then ``-2 (t_mu +
    mine t_sq - other t_xy)``."""
    part = t_mu.addcmul_(other, t_xy, value=-1).addcmul_(mine, t_sq)
    torch.mul(part, -2 * scale, out=out)


#: Chunking of :class:`SlidingSSIMMeans` on the CPU: the planes of one chunk hold about this many
#: pixels (8 planes of 256 x 256), and never fewer than ``SSIM_MIN_CHUNK_PLANES`` planes (the
#: channels-last filter vectorises over the planes: 8 float32 lanes with AVX2); the timings
#: behind it are in ``benchmarks/README.md``, "Chunking the sliding filters".
SSIM_CHUNK_PIXELS = 8 * 256 * 256
SSIM_MIN_CHUNK_PLANES = 8


def plane_chunks(planes: int, step: int, device: torch.device) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` ranges of ``step`` planes on the CPU; one range on other devices."""
    if device.type != "cpu":
        step = planes
    return [(i, min(i + step, planes)) for i in range(0, planes, step)]


def maps_buffer(count: int, planes: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """``(count, planes, h, w)``: ``count`` maps of ``planes`` planes, channels-last on the CPU
    (the depthwise filter vectorises over the planes, and every map is one contiguous block)."""
    layout = (
        torch.channels_last if channels_last_is_faster(like.device) else torch.contiguous_format
    )
    return torch.empty(
        (count, planes, h, w), dtype=like.dtype, device=like.device, memory_format=layout
    )


def _ssim_chunks(planes: int, plane_pixels: int, device: torch.device) -> list[tuple[int, int]]:
    step = max(SSIM_MIN_CHUNK_PLANES, SSIM_CHUNK_PIXELS // plane_pixels)
    return plane_chunks(planes, step, device)


class SlidingSSIMMeans(torch.autograd.Function):
    """Means of the SSIM map and of the cs map, with the closed-form backward.

    Forward: ``(x, y) -> (mean_p SSIM(p), mean_p cs(p))``, each ``(N, C)``, for ``x, y`` of
    shape ``(N, C, H, W)`` and a 1-D window of ``k`` taps (maps over the ``(H - k + 1) x
    (W - k + 1)`` valid region). Per chunk of image/channel planes, the four moment maps
    ``x, y, x^2 + y^2, xy`` are filtered (``cs`` needs ``E[x^2]`` and ``E[y^2]`` only through
    their sum), and ``l``, ``cs`` and their sums follow in place.

    Backward: the gradient of ``sum_p f(p)`` with respect to ``x(q)``, for ``f`` built from the
    moments, is ``sum_p G(p - q) [df/dmu_x + 2 x(q) df/dE[x^2 + y^2] + y(q) df/dE[xy]](p)``.
    This generalises paper eqs. 9-10 (which evaluate ``f`` at one pixel) to every pixel: three
    moment-derivative maps (four when ``y`` needs a gradient too) are filtered once with the
    adjoint ("full") Gaussian filter, instead of differentiating through the filters and a
    dozen element-wise operations. It is exact, and checked against autograd and by
    ``torch.autograd.gradcheck`` in the tests.

    Speed (CPU): chunks of planes (``SSIM_CHUNK_PIXELS``) keep the rows of the vertical pass and
    the element-wise arithmetic in the caches; every map of a chunk is one channels-last block,
    so the arithmetic runs on contiguous memory, in place, on few buffers (allocating fresh
    image-sized tensors costs more than the arithmetic itself). GPUs get one chunk, NCHW.
    """

    @staticmethod
    def forward(ctx, x, y, kernel, c1: float, c2: float):
        n, c, hh, ww = x.shape
        xp, yp = x.reshape(n * c, hh, ww), y.reshape(n * c, hh, ww)
        ssim_sum, cs_sum = x.new_empty(n * c), x.new_empty(n * c)
        saved = []
        for a, b in _ssim_chunks(n * c, hh * ww, x.device):
            moments = maps_buffer(4, b - a, hh, ww, x)
            xs, ys = moments[0].copy_(xp[a:b]), moments[1].copy_(yp[a:b])
            torch.mul(xs, xs, out=moments[2]).addcmul_(ys, ys)
            torch.mul(xs, ys, out=moments[3])
            filtered = filter_valid(moments, kernel)
            mu_x, mu_y, e_s, e_xy = filtered.unbind(0)
            b1 = torch.mul(mu_x, mu_x).addcmul_(mu_y, mu_y)  # mu_x^2 + mu_y^2
            # slot 2: sigma_x^2 + sigma_y^2 + C2, rounded like the numerator 2 (E[xy] - mu_x mu_y)
            # + C2: for equal moments (x == y) both are 2 fl(E - m) + C2 exactly, so cs is
            # exactly 1 (adding C1 to b1 before the subtraction broke that: 0.99999994)
            b2 = e_s.sub_(b1).add_(c2)
            b1.add_(c1)  # mu_x^2 + mu_y^2 + C1
            cov = torch.mul(mu_x, mu_y)
            l = torch.mul(cov, 2).add_(c1).div_(b1)
            cs = e_xy.sub_(cov).mul_(2).add_(c2).div_(b2)  # slot 3
            cs_sum[a:b] = cs.sum(dim=(1, 2))
            ssim_sum[a:b] = torch.mul(l, cs, out=cov).sum(dim=(1, 2))
            saved += [moments[:2], filtered, l, b1]
        ctx.shape = x.shape
        ctx.save_for_backward(kernel, *saved)
        npix = (hh - kernel.numel() + 1) * (ww - kernel.numel() + 1)
        return (ssim_sum / npix).reshape(n, c), (cs_sum / npix).reshape(n, c)

    @staticmethod
    @first_order_only
    def backward(ctx, grad_ssim, grad_cs):
        need_x, need_y = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not (need_x or need_y):
            return None, None, None, None, None
        kernel, *saved = ctx.saved_tensors
        n, c, hh, ww = ctx.shape
        h, w = hh - kernel.numel() + 1, ww - kernel.numel() + 1
        g_s = (grad_ssim / (h * w)).reshape(n * c, 1, 1)
        g_c = (grad_cs / (h * w)).reshape(n * c, 1, 1)
        grads = [kernel.new_empty((n * c, hh, ww)) if need else None for need in (need_x, need_y)]
        sides = [(0, 1)] if need_x else []
        if need_y:
            sides.append((1, 0))
        for j, (a, b) in enumerate(_ssim_chunks(n * c, hh * ww, kernel.device)):
            xy, filtered, l, b1 = saved[4 * j : 4 * j + 4]
            mu, b2, cs = filtered[:2], filtered[2], filtered[3]
            # d SSIM = cs dl + l dcs, with dcs/dE[x^2 + y^2] = -cs / b2 and dcs/dE[xy] = 2 / b2;
            # the maps: -1/2 d/dmu of each side (mu_derivative_map), -d/dE[x^2 + y^2] and
            # d/dE[xy] / 2 (the factors are undone once, by moment_gradient)
            d = maps_buffer(len(sides) + 2, b - a, h, w, l)
            w_l = torch.mul(cs, g_s[a:b]).div_(b1)
            w_cs = torch.mul(l, g_s[a:b], out=d[-1]).add_(g_c[a:b]).div_(b2)  # d/dE[xy] / 2
            for k, (mine, other) in enumerate(sides):
                mu_derivative_map(d[k], mu[mine], mu[other], cs, w_cs, l, w_l)
            torch.mul(w_cs, cs, out=d[-2])
            spread = filter_full(d, kernel)
            t_sq, t_xy = spread[-2], spread[-1]
            for k, (mine, other) in enumerate(sides):
                moment_gradient(grads[mine][a:b], xy[mine], xy[other], spread[k], t_sq, t_xy)
        shape = (n, c, hh, ww)
        grad_x, grad_y = (g.reshape(shape) if g is not None else None for g in grads)
        return grad_x, grad_y, None, None, None
