"""Triton kernels of the patch-mode losses (paper eqs. 7-10 and 12-14): one program per
image/channel plane of an odd ``H x W`` patch, the plane flattened to ``HW <= BLOCK`` values.

For each sigma ``i`` the five moments at the centre pixel are weighted sums with the patch
Gaussian ``w_i`` (``imgloss.functional.filters.patch_weights``, normalised over the patch):
``mu_x = sum_q w_i(q) x(q)``, ``E[x^2]``, ``E[y^2]``, ``E[xy]`` alike. The value is
``l_TOP prod_i cs_i`` (SSIM for one sigma, the paper's MS-SSIM for five) and, for Mix, the
weighted l1 term ``sum_q w_TOP(q) |x(q) - y(q)|``. The backward pass writes the closed-form
gradient of eqs. 9-10, ``sum_i w_i(q) [dmu_x_i + 2 x(q) dE[x^2]_i + y(q) dE[xy]_i]``, in the
same one pass over the patch.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _patch(x_ptr, y_ptr, HW, BLOCK: tl.constexpr):
    """This program's plane: ``x``, ``y`` (``(BLOCK,)``, zero past ``HW``), offsets, mask."""
    plane = tl.program_id(0).to(tl.int64)
    q = tl.arange(0, BLOCK)
    inside = q < HW
    at = plane * HW + q
    x = tl.load(x_ptr + at, mask=inside, other=0.0)
    y = tl.load(y_ptr + at, mask=inside, other=0.0)
    return plane, x, y, q, inside, at


@triton.jit
def _centre_stats(x, y, wv, C1, C2):
    """``l, cs, b1, b2, mu_x, mu_y`` at the patch centre for the weights ``wv`` (paper eq. 5)."""
    m_x = tl.sum(wv * x, 0)
    m_y = tl.sum(wv * y, 0)
    e_xx = tl.sum(wv * x * x, 0)
    e_yy = tl.sum(wv * y * y, 0)
    e_xy = tl.sum(wv * x * y, 0)
    b1 = m_x * m_x + m_y * m_y + C1
    b2 = (e_xx - m_x * m_x) + (e_yy - m_y * m_y) + C2
    lum = (2 * m_x * m_y + C1) / b1
    cs = (2 * (e_xy - m_x * m_y) + C2) / b2
    return lum, cs, b1, b2, m_x, m_y


@triton.jit
def patch_forward(
    x_ptr,
    y_ptr,
    w_ptr,
    out_ptr,
    HW,
    C1,
    C2,
    S: tl.constexpr,
    TOP: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """``out[plane] = (l_TOP prod_i cs_i, sum_q w_TOP(q) |x(q) - y(q)|)``."""
    plane, x, y, q, inside, _ = _patch(x_ptr, y_ptr, HW, BLOCK)
    value = 1.0
    l1 = 0.0
    for i in tl.static_range(S):
        wv = tl.load(w_ptr + i * HW + q, mask=inside, other=0.0)
        lum, cs, _, _, _, _ = _centre_stats(x, y, wv, C1, C2)
        value = value * cs
        if i == TOP:
            value = value * lum
            l1 = tl.sum(wv * tl.abs(x - y), 0)
    tl.store(out_ptr + plane * 2, value)
    tl.store(out_ptr + plane * 2 + 1, l1)


@triton.jit
def _cs_excluding(x, y, w_ptr, q, inside, HW, C1, C2, skip: tl.constexpr, S: tl.constexpr):
    """``prod_{j != skip} cs_j`` (recomputed: a product, never a division by a ``cs``)."""
    others = 1.0
    for j in tl.static_range(S):
        if j != skip:
            wv = tl.load(w_ptr + j * HW + q, mask=inside, other=0.0)
            _, cs, _, _, _, _ = _centre_stats(x, y, wv, C1, C2)
            others = others * cs
    return others


@triton.jit
def patch_backward(
    x_ptr,
    y_ptr,
    w_ptr,
    gin_ptr,
    gx_ptr,
    gy_ptr,
    HW,
    C1,
    C2,
    S: tl.constexpr,
    TOP: tl.constexpr,
    BLOCK: tl.constexpr,
    NEED_X: tl.constexpr,
    NEED_Y: tl.constexpr,
):
    """Gradient of ``a value + b l1`` (``a, b = gin[plane]``) with respect to ``x`` and ``y``:
    ``df/dl = a prod cs``, ``df/dcs_i = a l prod_{j != i} cs_j``; ``dcs/dmu_x = 2 (mu_x cs -
    mu_y) / b2``, ``dcs/dE[x^2] = -cs / b2``, ``dcs/dE[xy] = 2 / b2``, ``dl/dmu_x = 2 (mu_y -
    mu_x l) / b1``; the l1 term adds ``b w_TOP(q) sign(x(q) - y(q))``."""
    plane, x, y, q, inside, at = _patch(x_ptr, y_ptr, HW, BLOCK)
    a = tl.load(gin_ptr + plane * 2)
    b = tl.load(gin_ptr + plane * 2 + 1)
    wt = tl.load(w_ptr + TOP * HW + q, mask=inside, other=0.0)
    lum, _, b1, _, m_x, m_y = _centre_stats(x, y, wt, C1, C2)
    diff = x - y
    sign = tl.where(diff > 0, 1.0, tl.where(diff < 0, -1.0, 0.0))
    d_l = a * _cs_excluding(x, y, w_ptr, q, inside, HW, C1, C2, -1, S) / b1
    g_x = wt * (b * sign + 2 * d_l * (m_y - m_x * lum))
    g_y = wt * (-b * sign + 2 * d_l * (m_x - m_y * lum))
    for i in tl.static_range(S):
        wv = tl.load(w_ptr + i * HW + q, mask=inside, other=0.0)
        _, cs, _, b2, m_x, m_y = _centre_stats(x, y, wv, C1, C2)
        w_cs = a * lum * _cs_excluding(x, y, w_ptr, q, inside, HW, C1, C2, i, S) / b2
        g_x += wv * w_cs * (2 * (m_x * cs - m_y) - 2 * x * cs + 2 * y)
        g_y += wv * w_cs * (2 * (m_y * cs - m_x) - 2 * y * cs + 2 * x)
    if NEED_X:
        tl.store(gx_ptr + at, g_x, mask=inside)
    if NEED_Y:
        tl.store(gy_ptr + at, g_y, mask=inside)
