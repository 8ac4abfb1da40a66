"""MS-SSIM, the measure under the MS-SSIM loss (paper Section 3.3, eqs. 11-13), in two variants.

``variant="gaussian"`` — the paper's fast approximation (Section 3.3, last paragraph). Instead
of a dyadic pyramid, the full-resolution input is filtered with ``M = 5`` Gaussians,
``sigma_G^i in {0.5, 1, 2, 4, 8}``; with all exponents equal to one (eq. 11),

    MS-SSIM(p) = l_M(p) * prod_{i=1..M} cs_i(p),            l_M from the largest sigma.

In ``window="patch"`` mode it is evaluated at the centre pixel of each odd patch (eq. 12),
exactly as the authors' Caffe layer; in ``window="sliding"`` mode at every pixel where the
largest truncated window fits, then averaged. The product of the ``cs_i`` may be negative: no
clamping, no NaN (exponents are one).

``variant="pyramid"`` — standard MS-SSIM of Wang, Simoncelli & Bovik (2003): 5 scales of a
dyadic pyramid (2 x 2 average, then keep every other pixel), an 11-tap sigma 1.5 window per
scale, the exponents ``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``,

    MS-SSIM = prod_{j<M} mean(cs_j)^{w_j} * mean(SSIM_M)^{w_M},

per channel, then averaged. Negative means are clamped to zero before the fractional power (as
pytorch-msssim does; a negative base would be NaN). For even sizes this equals pytorch-msssim's
``ms_ssim``; for odd sizes the last row/column is averaged with itself (MATLAB's
``imfilter(..., 'symmetric')`` rule of Wang's code) where pytorch-msssim zero-pads the first.
Sliding mode only; the smallest side must be at least ``(win_size - 1) * 2^(M-1) + 1`` (161 for
five scales); pass fewer ``weights`` for fewer scales.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from . import fused
from .common import check_fits, constants, reduce, sliding_kernel
from .filters import filter_full, filter_valid, gaussian_1d, gaussian_radius
from .options import PAPER_SIGMAS, WANG_WEIGHTS, MSSSIMOptions
from .ssim import sliding_ssim_means
from .stats import (
    first_order_only,
    full_precision,
    identical_planes,
    luminance_contrast_structure,
    maps_buffer,
    moment_gradient,
    mu_derivative_map,
    one_where_identical,
    patch_lcs,
    plane_chunks,
    stack_for_filtering,
    unstack,
)
from .validation import check_odd_patch, to_compute_dtype

__all__ = ["PAPER_SIGMAS", "WANG_WEIGHTS", "ms_ssim", "ms_ssim_with"]


class _ClampedPower(torch.autograd.Function):
    """``max(v, 0) ** w`` with a finite gradient everywhere.

    The true derivative ``w v^(w-1)`` is infinite at ``v = 0`` for ``w < 1``; it is evaluated
    at ``max(v, eps)`` (eps = 1e-6), which only matters for a nearly zero mean cs of a whole
    image, and is zero where ``v <= 0`` (the value is clamped there).
    """

    @staticmethod
    def forward(ctx, v, w: float):
        ctx.save_for_backward(v)
        ctx.w = w
        return v.clamp(min=0) ** w

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        slope = ctx.w * v.clamp(min=1e-6) ** (ctx.w - 1)
        return torch.where(v > 0, grad * slope, torch.zeros_like(grad)), None


def gaussian_sliding_maps(
    x: torch.Tensor,
    y: torch.Tensor,
    sigmas: tuple[float, ...],
    c1: float,
    c2: float,
    extra: torch.Tensor | None = None,
    *,
    method: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-pixel ``l_M prod_i cs_i`` on the valid region of the largest window.

    Each sigma uses its own truncated window (radius ``int(3.5 sigma + 0.5)``); maps are cropped
    to the valid region of the largest window so that they are aligned. ``extra`` (``(N, C, H,
    W)``), if given, is filtered with the largest Gaussian on the same region (Mix's l1 term).

    ``method``: ``"fast"`` (:class:`_GaussianSlidingMaps`: closed-form backward, four moment
    maps, filtered in cache-sized chunks), ``"direct"`` (:func:`_gaussian_sliding_maps_direct`:
    five moment maps as one wide image, differentiated by autograd) or ``"auto"``: the fast path
    on the CPU, where it is about 6x faster at 16x3x256x256 (``benchmarks/README.md``), the
    direct one elsewhere (GPUs not measured yet) and while ``torch.compile`` traces. Both give
    the same values and gradients up to rounding (``tests/functional/test_fast_gaussian.py``).
    """
    if method == "auto":  # torch.compile traces (and fuses) the plain operations of "direct"
        fast = x.device.type == "cpu" and not torch.compiler.is_compiling()
        method = "fast" if fast else "direct"
    if method == "direct":
        return _gaussian_sliding_maps_direct(x, y, sigmas, c1, c2, extra)
    if method != "fast":
        raise ValueError(f"method must be 'auto', 'fast' or 'direct', got {method!r}")
    maps, extra_f = _GaussianSlidingMaps.apply(x, y, extra, tuple(sigmas), c1, c2)
    return maps, (extra_f if extra is not None else None)


def _gaussian_sliding_maps_direct(
    x: torch.Tensor,
    y: torch.Tensor,
    sigmas: tuple[float, ...],
    c1: float,
    c2: float,
    extra: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`gaussian_sliding_maps` by direct separable filtering (the reference path)."""
    n, c = x.shape[:2]
    radii = [gaussian_radius(s) for s in sigmas]
    r_max = max(radii)
    top = sigmas.index(max(sigmas))
    stack = stack_for_filtering([x, y, x * x, y * y, x * y])
    product = l_top = extra_f = None
    for i, (sigma, radius) in enumerate(zip(sigmas, radii)):
        kernel = gaussian_1d(sigma, radius, dtype=x.dtype, device=x.device)
        filtered = filter_valid(stack, kernel)
        crop = r_max - radius
        if crop:
            filtered = filtered[..., crop:-crop, crop:-crop]
        mu_x, mu_y, e_xx, e_yy, e_xy = unstack(filtered, 5, n, c)
        l, cs = luminance_contrast_structure(mu_x, mu_y, e_xx, e_yy, e_xy, c1, c2)
        product = cs if product is None else product * cs
        if i == top:  # the largest window: no crop; Mix's l1 term shares its region
            l_top = l
            if extra is not None:
                extra_f = unstack(filter_valid(stack_for_filtering([extra]), kernel), 1, n, c)[0]
    assert product is not None and l_top is not None
    return l_top * product, extra_f


#: Image/channel planes filtered together by :class:`_GaussianSlidingMaps` on the CPU: small
#: chunks keep the rows of the 57-tap vertical pass in the caches while the channels-last
#: depthwise filter still vectorises over the planes (the chunk sizes measured are in
#: ``benchmarks/README.md``, "Chunking the sliding filters"). GPUs get everything in one chunk.
_CPU_CHUNK_PLANES = 8


class _Geometry:
    """The windows of the sliding Gaussian MS-SSIM on ``(N, C, H, W)`` inputs: each sigma's 1-D
    kernel and radius, the largest window (``top``, the one ``l_M`` uses), the order in which
    the chunk functions visit the sigmas and the maps' size ``(H - 2 r, W - 2 r)`` for the
    largest radius ``r``. ``order``: the largest window, then the others from the smallest; the
    forward visits them in this order and the gradient in reverse, so that it starts with the
    statistics still in the caches and each window's spread fits in the previous one's
    (measured 2-4% faster than the gradient in forward order)."""

    def __init__(self, sigmas: tuple[float, ...], shape: torch.Size, kernels: list) -> None:
        self.sigmas, self.kernels = sigmas, kernels
        self.radii = [gaussian_radius(s) for s in sigmas]
        self.r = max(self.radii)
        self.top = sigmas.index(max(sigmas))
        others = sorted(
            (i for i in range(len(sigmas)) if i != self.top), key=self.radii.__getitem__
        )
        self.order = [self.top, *others]
        n, c, hh, ww = shape
        self.planes, self.input_size = n * c, (hh, ww)
        self.size = (hh - 2 * self.r, ww - 2 * self.r)

    @staticmethod
    def kernels_for(sigmas: tuple[float, ...], like: torch.Tensor) -> list[torch.Tensor]:
        return [
            gaussian_1d(s, gaussian_radius(s), dtype=like.dtype, device=like.device) for s in sigmas
        ]


@dataclasses.dataclass
class _ChunkStats:
    """What the forward of one chunk of ``P`` planes leaves for its gradient (maps ``(P, h, w)``).

    ``sigma[i]``: ``mu_x, mu_y, b2, cs`` of sigma ``i`` as one ``(4, P, h, w)`` tensor, with
    ``b2 = sigma_x^2 + sigma_y^2 + C2``; ``l_top`` and ``b1 = mu_x^2 + mu_y^2 + C1`` of the
    largest window; ``prefix``: ``l_M`` times the ``cs`` of the sigmas in ``_Geometry.order``,
    one factor more at each step, so that ``prefix[-1]`` is the map ``l_M prod_i cs_i``;
    ``xy``: the chunk's ``x`` and ``y`` (``(P, H, W)``); ``extra``: Mix's filtered ``|x - y|``
    or None."""

    sigma: list[torch.Tensor]
    l_top: torch.Tensor
    b1: torch.Tensor
    prefix: list[torch.Tensor]
    xy: tuple[torch.Tensor, torch.Tensor] | None
    extra: torch.Tensor | None


def _chunk_maps(geo: _Geometry, xs, ys, es, c1: float, c2: float) -> _ChunkStats:
    """Forward of one chunk of planes ``xs, ys`` (``(P, H, W)``; ``es`` Mix's ``|x - y|`` or
    None): the :class:`_ChunkStats`, whose ``prefix[-1]`` is the map ``l_M prod_i cs_i``.

    The constants ride along with the moments: the filtered maps are ``x, y, x^2 + y^2 + C2``
    and ``2 xy + C2`` (the normalised window keeps a constant), so that ``b2`` and ``2
    sigma_xy + C2`` take two fused passes each. On a CPU every pass over a map is memory
    traffic, which bounds the arithmetic."""
    hh, ww = geo.input_size
    stack = maps_buffer(4 if es is None else 5, xs.shape[0], hh, ww, xs)
    xs, ys = stack[0].copy_(xs), stack[1].copy_(ys)  # one layout for the arithmetic
    c1_, c2_ = xs.new_tensor(c1), xs.new_tensor(c2)
    torch.addcmul(c2_, xs, xs, out=stack[2]).addcmul_(ys, ys)
    torch.addcmul(c2_, xs, ys, value=2, out=stack[3])
    if es is not None:  # filtered with the largest window only
        stack[4].copy_(es)
    sigma: list = [None] * len(geo.sigmas)
    prefix: list[torch.Tensor] = []
    extra = l_top = b1 = None
    for i in geo.order:
        crop = geo.r - geo.radii[i]  # only the outputs on the largest window's valid region
        source = stack if i == geo.top else stack[:4, :, crop : hh - crop, crop : ww - crop]
        f = filter_valid(source, geo.kernels[i])
        if i == geo.top and es is not None:
            extra, f = f[4], f[:4]
        mu_x, mu_y, e_s, e_xy = f.unbind(0)
        # slot 2: b2 = sigma_x^2 + sigma_y^2 + C2; slot 3: cs = (2 sigma_xy + C2) / b2
        b2 = e_s.addcmul_(mu_x, mu_x, value=-1).addcmul_(mu_y, mu_y, value=-1)
        cs = e_xy.addcmul_(mu_x, mu_y, value=-2).div_(b2)
        if i == geo.top:
            b1 = torch.addcmul(c1_, mu_x, mu_x).addcmul_(mu_y, mu_y)
            l_top = torch.addcmul(c1_, mu_x, mu_y, value=2).div_(b1)
            prefix.append(l_top)
        prefix.append(prefix[-1] * cs)
        sigma[i] = f
    assert l_top is not None and b1 is not None
    return _ChunkStats(sigma, l_top, b1, prefix, (xs, ys), extra)


def _chunk_grads(geo: _Geometry, st: _ChunkStats, g, scale: float, out: list, g_extra) -> None:
    """Backward of one chunk: writes into ``out`` (``[grad_x, grad_y, grad_es]`` slices, each
    ``(P, H, W)`` or None where not wanted) the gradients of ``scale sum_p g(p) map(p)`` (``g``
    of shape ``(P, h, w)``, or None for ones) with respect to ``x`` and ``y`` (``st.xy``), and
    of ``sum_p g_extra(p) extra(p)`` with respect to Mix's ``es``.

    As :class:`SlidingSSIMMeans`, the gradient with respect to ``x(q)`` is ``T_mu + 2 x T_sq +
    y T_xy``, with ``T_k = sum_i G_i^T D_k^i`` the adjoint ("full") filtering of the derivative
    maps of sigma ``i`` (``d/dmu_x``, ``d/dE[x^2 + y^2]``, ``d/dE[xy]``). The factor of ``cs_i``
    is ``prefix[k] suffix[k + 1]`` (position ``k`` of ``geo.order``), never a division by a
    ``cs`` that may be 0. The maps are filtered as ``-1/2 d/dmu`` (:func:`mu_derivative_map`),
    ``-d/dE[x^2 + y^2]`` and ``1/2 d/dE[xy]``, and :func:`moment_gradient` undoes the factors,
    as in :class:`SlidingSSIMMeans`."""
    h, w = geo.size
    assert st.xy is not None
    xy = st.xy
    planes = xy[0].shape[0]
    sides = [(m, 1 - m) for m in (0, 1) if out[m] is not None]
    if not sides:
        ge = maps_buffer(1, planes, h, w, xy[0])
        ge[0].copy_(g_extra)
        out[2].copy_(filter_full(ge, geo.kernels[geo.top])[0])
        return
    cs = [st.sigma[i][3] for i in geo.order]
    count = len(cs)
    # suffix[k] = g prod_{j >= k} cs_j (None: one)
    suffix: list = [g] * (count + 1)
    for k in range(count - 1, 0, -1):
        suffix[k] = cs[k] if suffix[k + 1] is None else suffix[k + 1] * cs[k]
    w_l = _times(cs[0], suffix[1]).div_(st.b1)  # d/dl_M / b1
    acc = others = None  # the spreads of the largest window, and of the others summed
    for k in reversed(range(count)):  # the other windows from the largest, then the top
        i = geo.order[k]
        mu_x, mu_y, b2, cs_i = st.sigma[i].unbind(0)
        mu = (mu_x, mu_y)
        # maps: [the gradient of the filtered extra (largest window only)], -d/dmu / 2 of each
        # side, -d/dE[x^2 + y^2], d/dE[xy] / 2
        with_e = g_extra is not None and i == geo.top
        d = maps_buffer(len(sides) + 2 + with_e, planes, h, w, xy[0])
        if with_e:
            d[0].copy_(g_extra)
        w_cs = _times(st.prefix[k], suffix[k + 1], out=d[-1]).div_(b2)  # (d/dcs_i) / b2
        l_term = (st.l_top, w_l) if i == geo.top else (None, None)
        for j, (mine, other) in enumerate(sides, start=int(with_e)):
            mu_derivative_map(d[j], mu[mine], mu[other], cs_i, w_cs, *l_term)
        torch.mul(w_cs, cs_i, out=d[-2])
        spread = filter_full(d, geo.kernels[i])
        if with_e:
            out[2].copy_(spread[0])
            spread = spread[1:]
        if i == geo.top:
            acc = spread  # exactly H x W
        elif others is None:
            others = spread
        else:
            _add_centred(others, spread)
    assert acc is not None
    if others is not None:
        _add_centred(acc, others)
    t_sq, t_xy = acc[-2], acc[-1]
    for j, (mine, other) in enumerate(sides):
        moment_gradient(out[mine], xy[mine], xy[other], acc[j], t_sq, t_xy, scale)


def _add_centred(big: torch.Tensor, small: torch.Tensor) -> None:
    """``big += small`` on the centred region of ``big``'s last two axes that ``small`` covers."""
    top, left = ((b - s) // 2 for b, s in zip(big.shape[-2:], small.shape[-2:]))
    big[..., top : top + small.shape[-2], left : left + small.shape[-1]] += small


def _times(a: torch.Tensor, b: torch.Tensor | None, out: torch.Tensor | None = None):
    """``a b`` as a new tensor (or into ``out``), with ``b = None`` standing for one."""
    if b is None:
        return a.clone() if out is None else out.copy_(a)
    return torch.mul(a, b) if out is None else torch.mul(a, b, out=out)


def _planes(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1, *t.shape[-2:])


class _GaussianSlidingMaps(torch.autograd.Function):
    """The sliding-mode Gaussian MS-SSIM map ``l_M prod_i cs_i`` (and Mix's filtered
    ``|x - y|``) with a closed-form backward, computed in chunks of planes.

    Forward (:func:`_chunk_maps`): per chunk of image/channel planes, the four moment maps
    ``x, y, x^2 + y^2 + C2, 2 xy + C2`` (``cs`` needs ``E[x^2]`` and ``E[y^2]`` only through
    their sum, ``l`` not at all) are filtered with each sigma's truncated window
    (:func:`filter_valid`, the taps of the direct path) and cropped to the valid region of the
    largest window; ``cs_i``, ``l_M`` and their product follow in place. Backward:
    :func:`_chunk_grads`. Three maps per sigma are filtered when only ``x`` needs a gradient
    (a prediction against a fixed target), where autograd differentiated five convolutions and
    the arithmetic.

    Chunks keep the filtered rows in the caches (``_CPU_CHUNK_PLANES``). The result equals the
    direct path (:func:`_gaussian_sliding_maps_direct`) up to rounding
    (``tests/functional/test_fast_gaussian.py``).

    Outputs: ``(N, C, H - 2 r, W - 2 r)`` maps (``r``: the largest radius) and the filtered
    ``extra`` (an empty tensor when ``extra`` is None).
    """

    @staticmethod
    def forward(ctx, x, y, extra, sigmas, c1: float, c2: float):
        geo = _Geometry(sigmas, x.shape, _Geometry.kernels_for(sigmas, x))
        xp, yp = _planes(x), _planes(y)
        ep = _planes(extra) if extra is not None else None
        out = x.new_empty((geo.planes, *geo.size))
        extra_f = x.new_empty((geo.planes, *geo.size) if extra is not None else (0,))
        ctx.chunks = []
        for a, b in plane_chunks(geo.planes, _CPU_CHUNK_PLANES, x.device):
            st = _chunk_maps(geo, xp[a:b], yp[a:b], ep[a:b] if ep is not None else None, c1, c2)
            out[a:b] = st.prefix[-1]
            if st.extra is not None:
                extra_f[a:b] = st.extra
            st.xy = st.extra = None  # the backward takes x and y (saved below) as they are
            ctx.chunks.append(((a, b), st))
        ctx.geo = geo
        ctx.save_for_backward(x, y)
        shape = (*x.shape[:2], *geo.size)
        return out.reshape(shape), (extra_f.reshape(shape) if extra is not None else extra_f)

    @staticmethod
    @first_order_only
    def backward(ctx, grad_map, grad_extra):
        x, y = ctx.saved_tensors
        geo = ctx.geo
        xp, yp, gp = _planes(x), _planes(y), _planes(grad_map)
        gep = _planes(grad_extra) if ctx.needs_input_grad[2] else None
        grads = [
            x.new_empty((geo.planes, *geo.input_size)) if need else None
            for need in ctx.needs_input_grad[:3]
        ]
        for (a, b), st in ctx.chunks:
            st = dataclasses.replace(st, xy=(xp[a:b], yp[a:b]))
            out = [g[a:b] if g is not None else None for g in grads]
            _chunk_grads(geo, st, gp[a:b], 1.0, out, gep[a:b] if gep is not None else None)
        return (*(g.reshape(x.shape) if g is not None else None for g in grads), None, None, None)


class _GaussianSlidingMeans(torch.autograd.Function):
    """Per-plane means of the map of :class:`_GaussianSlidingMaps`, ``(N, C)``, for the losses.

    The gradient of a mean is the gradient of ``sum_p map(p) / (h w)`` scaled by the plane's
    incoming gradient, so it is computed in the forward pass, chunk by chunk, while the chunk's
    statistics are still in the caches (:func:`_chunk_grads` with ``g`` one and ``scale = 1 /
    (h w)``), and only the gradient maps are kept; the backward pass scales them. ``want_grad``
    (from the caller: grad mode on and an input that requires grad) skips that work when nobody
    asks for it.
    """

    @staticmethod
    def forward(ctx, x, y, sigmas, c1: float, c2: float, want_grad: bool):
        geo = _Geometry(sigmas, x.shape, _Geometry.kernels_for(sigmas, x))
        need = [want_grad and ctx.needs_input_grad[0], want_grad and ctx.needs_input_grad[1]]
        xp, yp = _planes(x), _planes(y)
        means = x.new_empty(geo.planes)
        grads = [x.new_empty((geo.planes, *geo.input_size)) if n else None for n in need]
        scale = 1.0 / (geo.size[0] * geo.size[1])  # of the mean
        for a, b in plane_chunks(geo.planes, _CPU_CHUNK_PLANES, x.device):
            st = _chunk_maps(geo, xp[a:b], yp[a:b], None, c1, c2)
            means[a:b] = st.prefix[-1].mean(dim=(1, 2))
            if any(need):
                out = [g[a:b] if g is not None else None for g in grads] + [None]
                _chunk_grads(geo, st, None, scale, out, None)
        ctx.save_for_backward(*(g if g is not None else x.new_empty(0) for g in grads))
        return means.reshape(x.shape[:2])

    @staticmethod
    @first_order_only
    def backward(ctx, grad_means):
        # the output requires grad only where want_grad was true, so the gradients were computed
        scale = grad_means.reshape(-1, 1, 1)
        grads = [
            (grad * scale).reshape(grad_means.shape + grad.shape[-2:]) if need else None
            for need, grad in zip(ctx.needs_input_grad[:2], ctx.saved_tensors)
        ]
        return grads[0], grads[1], None, None, None, None


def gaussian_sliding_means(
    x: torch.Tensor, y: torch.Tensor, sigmas: tuple[float, ...], c1: float, c2: float
) -> torch.Tensor:
    """``(N, C)`` means of :func:`gaussian_sliding_maps`'s map over its valid region.

    Fused (:func:`imgloss.functional.fused.sliding_means`, one kernel each way) where
    :func:`imgloss.functional.fused.use_fused`; else on the CPU, :class:`_GaussianSlidingMeans` (the
    gradient computed with the values, chunk by chunk); elsewhere, and while ``torch.compile``
    traces (it fuses the plain operations of the direct path instead), the mean of
    :func:`gaussian_sliding_maps`'s map.
    """
    if fused.use_fused(x):
        windows = tuple((s, gaussian_radius(s)) for s in sigmas)
        return fused.sliding_means(x, y, windows, sigmas.index(max(sigmas)), c1, c2)[0]
    if x.device.type != "cpu" or torch.compiler.is_compiling():
        return gaussian_sliding_maps(x, y, sigmas, c1, c2)[0].mean(dim=(2, 3))
    want = torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
    return _GaussianSlidingMeans.apply(x, y, tuple(sigmas), c1, c2, want)


def patch_ms_ssim(
    x: torch.Tensor, y: torch.Tensor, sigmas: tuple[float, ...], c1: float, c2: float
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(N, C)`` Gaussian MS-SSIM at the centre of odd patches (eq. 12) and, on the fused path,
    Mix's weighted l1 term ``sum_q G_top(q) |x(q) - y(q)|`` (None on the eager path, one matrix
    product: :func:`patch_lcs`)."""
    top = sigmas.index(max(sigmas))
    done = fused.patch_values(x, y, sigmas, top, c1, c2) if fused.use_fused(x) else None
    if done is not None:
        return done
    l, cs = patch_lcs(x, y, sigmas, c1, c2)
    return l[..., top] * cs.prod(dim=-1), None


def _pyramid(
    x: torch.Tensor,
    y: torch.Tensor,
    weights: tuple[float, ...],
    sigma: float,
    win_size: int | None,
    c1: float,
    c2: float,
) -> torch.Tensor:
    """Wang et al. 2003 MS-SSIM per image and channel: ``(N, C)``."""
    kernel, size = sliding_kernel(sigma, win_size, x)
    levels = len(weights)
    min_side = (size - 1) * 2 ** (levels - 1) + 1
    h, w = x.shape[-2:]
    if min(h, w) < min_side:
        raise ValueError(
            f"image of H x W = {h} x {w} is too small for {levels}-scale pyramid MS-SSIM with a "
            f"{size}-tap window: the smaller side must be at least {min_side} pixels "
            f"((win_size - 1) * 2^(scales - 1) + 1); pass fewer weights for fewer scales, or use "
            f"variant='gaussian'"
        )
    value = None
    for j, weight in enumerate(weights):
        if j:
            x = F.avg_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)
            y = F.avg_pool2d(y, kernel_size=2, stride=2, ceil_mode=True)
        ssim_mean, cs_mean = sliding_ssim_means(x, y, sigma, kernel, c1, c2)
        term = _ClampedPower.apply(ssim_mean if j == levels - 1 else cs_mean, weight)
        value = term if value is None else value * term
    assert value is not None
    return value


def ms_ssim(prediction: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """Multi-scale SSIM (paper eqs. 11-12), per channel, averaged.

    Args:
        prediction, target: ``(N, C, H, W)`` floating-point tensors.
        **options: the fields of :class:`~imgloss.functional.options.MSSSIMOptions`:
            ``variant`` (``"gaussian"``, the paper's approximation with ``sigmas``, luminance from
            the largest; or ``"pyramid"``, Wang et al. 2003 with ``weights`` and the per-scale
            ``sigma``/``win_size``, sliding only), ``window`` (``"sliding"`` or ``"patch"``: the
            centre pixel of odd patches, eq. 12), and ``data_range``, ``k1``, ``k2``,
            ``reduction``, ``check_finite`` as for :func:`imgloss.functional.ssim`.

    Returns:
        MS-SSIM; exactly 1.0 for an identical image/channel plane (constant ones included).
    """
    return ms_ssim_with(prediction, target, MSSSIMOptions(**options))


def ms_ssim_with(prediction: torch.Tensor, target: torch.Tensor, o: MSSSIMOptions) -> torch.Tensor:
    """:func:`ms_ssim` with its options already validated (the loss modules call this)."""
    o.check_inputs(prediction, target)
    c1, c2 = constants(o.data_range, o.k1, o.k2)
    x, y = to_compute_dtype(prediction, target)
    identical = identical_planes(x, y)
    sigmas = o.sigmas
    with full_precision(x.device):
        if o.variant == "pyramid":
            values = _pyramid(x, y, o.weights, o.sigma, o.win_size, c1, c2)
        elif o.window == "patch":
            check_odd_patch(x)
            values = patch_ms_ssim(x, y, sigmas, c1, c2)[0]
        else:
            size = 2 * gaussian_radius(max(sigmas)) + 1
            check_fits(x, size, f"MS-SSIM with sigma up to {max(sigmas)} ({size}-tap window)")
            values = gaussian_sliding_means(x, y, sigmas, c1, c2)
        values = one_where_identical(values, identical)
    return reduce(values, o.reduction)
