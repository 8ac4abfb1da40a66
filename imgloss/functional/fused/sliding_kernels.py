"""Triton kernels of the sliding-window SSIM statistics (one or several Gaussian windows).

One program handles one ``BH x BW`` tile of the output map of one image/channel plane. The
output map is the valid region of the largest window (radius ``R``): output pixel ``o`` is
centred on input pixel ``o + R``, and window ``i`` (radius ``r_i``, ``k_i = 2 r_i + 1`` taps
``g_i``) reads input rows ``o + off_i + t`` for ``t < k_i``, with ``off_i = R - r_i``.

Separable filtering as two banded matrix products per moment map ``M`` (one of ``x``, ``y``,
``x^2 + y^2``, ``xy``), over chunks of ``RC`` input rows and ``CC`` input columns::

    Hm[u, w]  = sum_c M[u, c] g_i(c - w - off_i)          (horizontal pass)
    mom[o, w] = sum_u g_i(u - o - off_i) Hm[u, w]         (vertical pass)

so that the moments ``mu_x, mu_y, E[x^2 + y^2], E[xy]`` of every window never leave the
program. The backward pass applies the adjoint ("full") filter the same way, transposed, and
adds its share of the gradient to the input pixels with atomics (neighbouring tiles overlap by
the window's halo), so each direction of a loss is one kernel launch.

The products use ``input_precision="ieee"``: TF32 ruins the variances ``E[x^2] - mu^2``
(``DEVELOPERS.md``, "TF32").
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def band(lo, hi, g_ptr, off, k):
    """``g[hi - lo - off]`` where ``0 <= hi - lo - off < k``, else 0 (``lo``, ``hi`` broadcast)."""
    t = hi - lo - off
    inside = (t >= 0) & (t < k)
    return tl.load(g_ptr + tl.where(inside, t, 0), mask=inside, other=0.0)


@triton.jit
def _load_pair(x_ptr, y_ptr, u, c, H, W):
    """``x`` and ``y`` on rows ``u`` (``(RC,)``) and columns ``c`` (``(CC,)``), zero outside."""
    inside = (u[:, None] < H) & (c[None, :] < W)
    at = u[:, None] * W + c[None, :]
    x = tl.load(x_ptr + at, mask=inside, other=0.0)
    y = tl.load(y_ptr + at, mask=inside, other=0.0)
    return x, y, inside, at


@triton.jit
def _zeros4(ROWS: tl.constexpr, COLS: tl.constexpr):
    """Four float32 ``(ROWS, COLS)`` accumulators, one per moment map."""
    z = tl.zeros((ROWS, COLS), tl.float32)
    return z, z, z, z


@triton.jit
def window_moments(
    x_ptr,
    y_ptr,
    g_ptr,
    off,
    k,
    H,
    W,
    o0,
    w0,
    BH: tl.constexpr,
    BW: tl.constexpr,
    RC: tl.constexpr,
    CC: tl.constexpr,
):
    """The four filtered moment maps ``mu_x, mu_y, E[x^2 + y^2], E[xy]``, each ``(BH, BW)``,
    of the tile at output ``(o0, w0)`` for the window ``g`` (``k`` taps, offset ``off``)."""
    rows = o0 + tl.arange(0, BH)
    cols = w0 + tl.arange(0, BW)
    m_x, m_y, m_s, m_xy = _zeros4(BH, BW)
    for jr in range(tl.cdiv(BH + k - 1, RC)):
        u = o0 + off + jr * RC + tl.arange(0, RC)
        h_x, h_y, h_s, h_xy = _zeros4(RC, BW)
        for jc in range(tl.cdiv(BW + k - 1, CC)):
            c = w0 + off + jc * CC + tl.arange(0, CC)
            x, y, _, _ = _load_pair(x_ptr, y_ptr, u, c, H, W)
            bh = band(cols[None, :], c[:, None], g_ptr, off, k)  # (CC, BW)
            h_x = tl.dot(x, bh, h_x, input_precision="ieee")
            h_y = tl.dot(y, bh, h_y, input_precision="ieee")
            h_s = tl.dot(x * x + y * y, bh, h_s, input_precision="ieee")
            h_xy = tl.dot(x * y, bh, h_xy, input_precision="ieee")
        bv = band(rows[:, None], u[None, :], g_ptr, off, k)  # (BH, RC)
        m_x = tl.dot(bv, h_x, m_x, input_precision="ieee")
        m_y = tl.dot(bv, h_y, m_y, input_precision="ieee")
        m_s = tl.dot(bv, h_s, m_s, input_precision="ieee")
        m_xy = tl.dot(bv, h_xy, m_xy, input_precision="ieee")
    return m_x, m_y, m_s, m_xy


@triton.jit
def contrast_structure(m_x, m_y, m_s, m_xy, C2):
    """``cs = (2 sigma_xy + C2) / b2`` and ``b2 = sigma_x^2 + sigma_y^2 + C2`` (paper eq. 5)."""
    b2 = (m_s - (m_x * m_x + m_y * m_y)) + C2
    cs = (2 * (m_xy - m_x * m_y) + C2) / b2
    return cs, b2


@triton.jit
def luminance(m_x, m_y, C1):
    """``l = (2 mu_x mu_y + C1) / b1`` and ``b1 = mu_x^2 + mu_y^2 + C1`` (paper eq. 5)."""
    b1 = m_x * m_x + m_y * m_y + C1
    return (2 * m_x * m_y + C1) / b1, b1


@triton.jit
def _window(meta_ptr, g_ptr, i, KMAX: tl.constexpr):
    """Window ``i``'s taps (a row of the ``(S, KMAX)`` table), its offset and its size."""
    return g_ptr + i * KMAX, tl.load(meta_ptr + 2 * i), tl.load(meta_ptr + 2 * i + 1)


@triton.jit
def _tile(n_tiles_w, BH: tl.constexpr, BW: tl.constexpr):
    """This program's plane, tile index and the tile's first output row and column."""
    plane = tl.program_id(1)
    tile = tl.program_id(0)
    return plane, tile, (tile // n_tiles_w) * BH, (tile % n_tiles_w) * BW


@triton.jit
def sliding_forward(
    x_ptr,
    y_ptr,
    g_ptr,
    meta_ptr,
    sums_ptr,
    H,
    W,
    h,
    w,
    n_tiles_w,
    n_tiles,
    C1,
    C2,
    S: tl.constexpr,
    TOP: tl.constexpr,
    KMAX: tl.constexpr,
    BH: tl.constexpr,
    BW: tl.constexpr,
    RC: tl.constexpr,
    CC: tl.constexpr,
):
    """Per tile: ``sum_p l_TOP(p) P(p)`` and ``sum_p P(p)``, ``P = prod_i cs_i``, over the
    tile's valid outputs, written to ``sums[plane, tile, 0:2]`` (SSIM, eq. 5-6, for ``S = 1``;
    the paper's Gaussian MS-SSIM, eq. 11 with unit exponents, for the five sigmas)."""
    plane, tile, o0, w0 = _tile(n_tiles_w, BH, BW)
    base = plane.to(tl.int64) * H * W
    prod = tl.full((BH, BW), 1.0, tl.float32)
    lum = tl.zeros((BH, BW), tl.float32)
    for i in tl.static_range(S):
        gi, off, k = _window(meta_ptr, g_ptr, i, KMAX)
        m_x, m_y, m_s, m_xy = window_moments(
            x_ptr + base, y_ptr + base, gi, off, k, H, W, o0, w0, BH, BW, RC, CC
        )
        cs, _ = contrast_structure(m_x, m_y, m_s, m_xy, C2)
        prod = prod * cs
        if i == TOP:
            lum, _ = luminance(m_x, m_y, C1)
    rows = o0 + tl.arange(0, BH)
    cols = w0 + tl.arange(0, BW)
    valid = (rows[:, None] < h) & (cols[None, :] < w)
    out = sums_ptr + (plane.to(tl.int64) * n_tiles + tile) * 2
    tl.store(out, tl.sum(tl.sum(tl.where(valid, lum * prod, 0.0), 1), 0))
    tl.store(out + 1, tl.sum(tl.sum(tl.where(valid, prod, 0.0), 1), 0))


@triton.jit
def _others(cs_all, which, skip: tl.constexpr, S: tl.constexpr, BH: tl.constexpr, BW: tl.constexpr):
    """``prod_{j != skip} cs_j`` from the stacked ``(S_PAD, BH, BW)`` maps (each factor picked
    by an exact masked sum: a product, never a division by a ``cs`` that may be 0)."""
    others = tl.full((BH, BW), 1.0, tl.float32)
    for j in tl.static_range(S):
        if j != skip:
            others = others * tl.sum(tl.where(which == j, cs_all, 0.0), 0)
    return others


@triton.jit
def _scatter(
    x_ptr,
    y_ptr,
    gx_ptr,
    gy_ptr,
    g_ptr,
    off,
    k,
    H,
    W,
    o0,
    w0,
    d_x,
    d_y,
    d_s,
    d_xy,
    NEED_X: tl.constexpr,
    NEED_Y: tl.constexpr,
    BH: tl.constexpr,
    BW: tl.constexpr,
    RC: tl.constexpr,
    CC: tl.constexpr,
):
    """Add ``G^T d_x + 2 x G^T d_s + y G^T d_xy`` to ``grad_x`` (and the mirror to ``grad_y``)
    on the input pixels of one window around the tile; ``G^T`` is the adjoint filter and the
    ``d_*`` are the ``(BH, BW)`` derivative maps of the tile (``d/dmu``, ``d/dE[x^2 + y^2]``,
    ``d/dE[xy]``)."""
    rows = o0 + tl.arange(0, BH)
    cols = w0 + tl.arange(0, BW)
    for jr in range(tl.cdiv(BH + k - 1, RC)):
        u = o0 + off + jr * RC + tl.arange(0, RC)
        bvt = band(rows[None, :], u[:, None], g_ptr, off, k)  # (RC, BH)
        v_s = tl.dot(bvt, d_s, input_precision="ieee")
        v_xy = tl.dot(bvt, d_xy, input_precision="ieee")
        v_x = tl.dot(bvt, d_x, input_precision="ieee")
        v_y = tl.dot(bvt, d_y, input_precision="ieee")
        for jc in range(tl.cdiv(BW + k - 1, CC)):
            c = w0 + off + jc * CC + tl.arange(0, CC)
            bht = band(cols[:, None], c[None, :], g_ptr, off, k)  # (BW, CC)
            t_s = tl.dot(v_s, bht, input_precision="ieee")
            t_xy = tl.dot(v_xy, bht, input_precision="ieee")
            x, y, inside, at = _load_pair(x_ptr, y_ptr, u, c, H, W)
            if NEED_X:
                g = tl.dot(v_x, bht, input_precision="ieee") + 2 * x * t_s + y * t_xy
                tl.atomic_add(gx_ptr + at, g, mask=inside, sem="relaxed")
            if NEED_Y:
                g = tl.dot(v_y, bht, input_precision="ieee") + 2 * y * t_s + x * t_xy
                tl.atomic_add(gy_ptr + at, g, mask=inside, sem="relaxed")


@triton.jit
def sliding_backward(
    x_ptr,
    y_ptr,
    g_ptr,
    meta_ptr,
    gin_ptr,
    gx_ptr,
    gy_ptr,
    H,
    W,
    h,
    w,
    n_tiles_w,
    C1,
    C2,
    S: tl.constexpr,
    S_PAD: tl.constexpr,
    TOP: tl.constexpr,
    KMAX: tl.constexpr,
    NEED_X: tl.constexpr,
    NEED_Y: tl.constexpr,
    BH: tl.constexpr,
    BW: tl.constexpr,
    RC: tl.constexpr,
    CC: tl.constexpr,
):
    """Gradient of ``f = a sum_p l_TOP P + b sum_p P`` (``a, b = gin[plane]``) added into
    ``grad_x``/``grad_y`` (zeroed by the caller). With ``O_i = prod_{j != i} cs_j`` (a product,
    never a division by a ``cs`` that may be 0): ``df/dl = a P``, ``df/dcs_i = (a l + b) O_i``,
    and by eq. 5, ``dcs/dmu_x = 2 (mu_x cs - mu_y) / b2``, ``dcs/dE[x^2 + y^2] = -cs / b2``,
    ``dcs/dE[xy] = 2 / b2``, ``dl/dmu_x = 2 (mu_y - mu_x l) / b1``. The gradient at ``q`` is
    ``sum_i G_i^T[d_mu_x + 2 x(q) d_s + y(q) d_xy]`` (eqs. 9-10 at every pixel)."""
    plane, _, o0, w0 = _tile(n_tiles_w, BH, BW)
    base = plane.to(tl.int64) * H * W
    rows = o0 + tl.arange(0, BH)
    cols = w0 + tl.arange(0, BW)
    valid = (rows[:, None] < h) & (cols[None, :] < w)
    which = tl.arange(0, S_PAD)[:, None, None]
    cs_all = tl.full((S_PAD, BH, BW), 1.0, tl.float32)
    prod = tl.full((BH, BW), 1.0, tl.float32)
    lum = tl.zeros((BH, BW), tl.float32)
    b1 = tl.full((BH, BW), 1.0, tl.float32)
    for i in tl.static_range(S):
        gi, off, k = _window(meta_ptr, g_ptr, i, KMAX)
        m_x, m_y, m_s, m_xy = window_moments(
            x_ptr + base, y_ptr + base, gi, off, k, H, W, o0, w0, BH, BW, RC, CC
        )
        cs, _ = contrast_structure(m_x, m_y, m_s, m_xy, C2)
        cs_all = tl.where(which == i, cs[None, :, :], cs_all)
        prod = prod * cs
        if i == TOP:
            lum, b1 = luminance(m_x, m_y, C1)
    a = tl.load(gin_ptr + plane * 2)
    b = tl.load(gin_ptr + plane * 2 + 1)
    d_l = tl.where(valid, a * prod, 0.0) / b1
    d_cs = tl.where(valid, a * lum + b, 0.0)
    for i in tl.static_range(S):
        gi, off, k = _window(meta_ptr, g_ptr, i, KMAX)
        m_x, m_y, m_s, m_xy = window_moments(
            x_ptr + base, y_ptr + base, gi, off, k, H, W, o0, w0, BH, BW, RC, CC
        )
        cs, b2 = contrast_structure(m_x, m_y, m_s, m_xy, C2)
        w_cs = d_cs * _others(cs_all, which, i, S, BH, BW) / b2
        d_x = 2 * w_cs * (m_x * cs - m_y)
        d_y = 2 * w_cs * (m_y * cs - m_x)
        if i == TOP:
            d_x += 2 * d_l * (m_y - m_x * lum)
            d_y += 2 * d_l * (m_x - m_y * lum)
        _scatter(
            x_ptr + base,
            y_ptr + base,
            gx_ptr + base,
            gy_ptr + base,
            gi,
            off,
            k,
            H,
            W,
            o0,
            w0,
            d_x,
            d_y,
            -w_cs * cs,
            2 * w_cs,
            NEED_X,
            NEED_Y,
            BH,
            BW,
            RC,
            CC,
        )
