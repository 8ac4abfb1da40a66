"""The generalized Anscombe transform and its exact unbiased inverse (imgloss.imaging.vst).

Monte-Carlo checks draw from the task's own simulator (:func:`poisson_gaussian`) with seeded
generators; tolerances come from the Monte-Carlo standard errors.
"""

from __future__ import annotations

import math

import pytest
import torch

from imgloss.imaging.degradations import FOI_A, FOI_B, poisson_gaussian
from imgloss.imaging.vst import (
    gat,
    gat_inverse_algebraic,
    gat_inverse_asymptotic,
    gat_inverse_unbiased,
    gat_moments,
    unbiased_inverse_table,
)

A, B = FOI_A, FOI_B
N_MC = 200_000
# Covers the dark range where the algebraic inverse fails, the middle, and the clipped top.
Y_GRID = [0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0]


def _samples(ys, n, clipped, seed):
    """``(len(ys), n)`` float64 draws of ``z`` for each clean ``y``, from the task's simulator."""
    y = torch.tensor(ys, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    clean = y[None, None, :, None].expand(1, 1, len(ys), n).contiguous()
    if clipped:
        return poisson_gaussian(clean, A, B, generator=gen)[0, 0]
    noise = torch.randn(clean.shape, generator=gen, dtype=torch.float64)
    return (clean + torch.sqrt(A * clean + B) * noise)[0, 0]


@pytest.fixture(scope="module", params=[True, False], ids=["clipped", "unclipped"])
def mc(request):
    clipped = request.param
    f = gat(_samples(Y_GRID, N_MC, clipped, seed=1 + clipped))
    mean, std = f.mean(-1), f.std(-1)
    # Standard error of the sample std from the fourth central moment (the clipped f(z) is far
    # from Gaussian): Var(s^2) ~= (mu4 - s^4) / N, SE(s) ~= sqrt(Var(s^2)) / (2 s).
    mu4 = ((f - mean[:, None]) ** 4).mean(-1)
    se_std = torch.sqrt((mu4 - std**4).clamp_min(0) / N_MC) / (2 * std)
    return clipped, mean, std, se_std


# ---------------------------------------------------------------------------------------------
# forward transform


def test_gat_formula_and_algebraic_inverse():
    z = torch.linspace(-0.02, 1.5, 101, dtype=torch.float64)
    expected = (2 / A) * torch.sqrt(A * z + 3 / 8 * A**2 + B)
    torch.testing.assert_close(gat(z), expected, rtol=1e-14, atol=0)
    # Normalised form of Makitalo & Foi: 2 sqrt(z/a + 3/8 + sigma^2), sigma^2 = b / a^2.
    torch.testing.assert_close(gat(z), 2 * torch.sqrt(z / A + 3 / 8 + B / A**2), rtol=1e-13, atol=0)
    torch.testing.assert_close(gat_inverse_algebraic(gat(z)), z, rtol=0, atol=1e-14)
    # Below the root of the square root the transform is 0.
    assert float(gat(torch.tensor([-1.0]))) == 0.0
    diff = gat_inverse_algebraic(gat(z)) - gat_inverse_asymptotic(gat(z))
    torch.testing.assert_close(diff, torch.full_like(z, -A / 4), rtol=0, atol=1e-14)


def test_stabilised_std_near_one_where_clipping_is_negligible(mc):
    clipped, _, std, _ = mc
    ys = torch.tensor(Y_GRID)
    # The std of a sample std is ~ std / sqrt(2 N) (~0.0016 here); allow a few of those.
    if clipped:
        inside = (ys >= 0.05) & (ys <= 0.8)
        tol = 0.02
    else:
        inside = ys >= 0.02
        tol = 0.06  # 1.053 at y = 0.02, then decreasing towards 1
        assert float((std[ys >= 0.05] - 1).abs().max()) < 0.03
    assert float((std[inside] - 1).abs().max()) < tol, std[inside]


def test_stabilised_std_matches_documented_values(mc):
    clipped, _, std, se = mc
    ys = torch.tensor(Y_GRID, dtype=torch.float64)
    _, exact = gat_moments(ys, clipped=clipped)
    assert float(((std - exact) / se).abs().max()) < 4.5
    if clipped:
        # Clipping puts mass at f(0) and f(1): the stabilised std drops well below one.
        dark, bright = ys <= 0.01, ys >= 0.95
        assert float(std[dark].max()) < 0.8 and float(std[bright].max()) < 0.85
        assert float(std[0]) == pytest.approx(0.479, abs=0.01)
        assert float(std[-1]) == pytest.approx(0.603, abs=0.01)
    else:
        assert float(std[0]) == pytest.approx(1.095, abs=0.01)


# ---------------------------------------------------------------------------------------------
# unbiasedness


def test_unbiased_inverse_of_mc_mean(mc):
    clipped, mean, std, _ = mc
    ys = torch.tensor(Y_GRID, dtype=torch.float64)
    est = gat_inverse_unbiased(mean, clipped=clipped)
    # Propagate the standard error of the mean through the inverse (its local slope).
    slope = (
        gat_inverse_unbiased(mean + 1e-4, clipped=clipped)
        - gat_inverse_unbiased(mean - 1e-4, clipped=clipped)
    ) / 2e-4
    se = slope * std / math.sqrt(N_MC)
    if clipped:
        # At the ends of [0, 1] the inverse clamps; the estimate lies on the admissible side.
        interior = (ys > 0) & (ys < 1)
        assert float(est.min()) >= 0 and float(est.max()) <= 1
    else:
        interior = ys > 0
    z = (est - ys)[interior] / se[interior]
    assert float(z.abs().max()) < 4.5, z
    # The ends (y = 0, and y = 1 when clipped), where the clamp makes the error one-sided:
    # within a few standard errors of the neighbouring grid point.
    for k in torch.nonzero(~interior).flatten().tolist():
        k_near = k + 1 if k == 0 else k - 1
        assert abs(float(est[k] - ys[k])) < 4.5 * float(se[k_near]), (k, est[k])

    # The algebraic inverse is measurably biased, hugely so (relatively) for dark pixels.
    alg = gat_inverse_algebraic(mean)
    bias = alg - ys
    mid = (ys >= 0.1) & (ys <= 0.8)
    assert float((bias[mid] / se[mid]).abs().min()) > 5
    dark = (ys >= 0.001) & (ys <= 0.005)
    rel = (bias[dark] / ys[dark]).abs()
    assert float(rel.min()) > 0.25, rel  # e.g. -145 % / +330 % at y = 0.001
    if clipped:
        # Clipping at 0 raises the mean of dark pixels: the algebraic inverse overshoots there
        # and undershoots the bright ones.
        assert float(bias[1]) == pytest.approx(0.0033, abs=2e-4)
        assert float(bias[-1]) == pytest.approx(-0.029, abs=1e-3)
    else:
        assert float(bias[1]) == pytest.approx(-0.00145, abs=1e-4)


def test_unbiased_inverse_on_a_mosaic_is_unbiased_in_the_mean():
    """Ideal denoiser: mean over many noisy copies of a mosaic, then invert; the error is tiny."""
    gen = torch.Generator().manual_seed(7)
    clean = torch.rand(1, 1, 16, 16, generator=gen, dtype=torch.float64) ** 3  # many dark pixels
    reps = clean.expand(4000, 1, 16, 16).contiguous()
    d = gat(poisson_gaussian(reps, generator=gen)).mean(0, keepdim=True)
    err_unb = (gat_inverse_unbiased(d) - clean).abs().mean()
    err_alg = (gat_inverse_algebraic(d) - clean).abs().mean()
    assert float(err_unb) < 0.4 * float(err_alg)


# ---------------------------------------------------------------------------------------------
# the table


@pytest.mark.parametrize("clipped", [True, False])
def test_table_round_trip_and_monotonicity(clipped):
    y, m = unbiased_inverse_table(clipped=clipped)
    assert y.dtype == m.dtype == torch.float64
    assert float(y[0]) == 0.0 and float(y[-1]) == (1.0 if clipped else 4.0)
    assert bool((m.diff() > 0).all()) and bool((y.diff() > 0).all())
    torch.testing.assert_close(gat_inverse_unbiased(m, clipped=clipped), y, rtol=0, atol=1e-13)
    # Between grid points: the interpolation error at the midpoints.
    ym = (y[1:] + y[:-1]) / 2
    mm, _ = gat_moments(ym, clipped=clipped)
    assert float((gat_inverse_unbiased(mm, clipped=clipped) - ym).abs().max()) < 1e-7
    # The inverse is monotone over and beyond the table.
    d = torch.linspace(0, float(m[-1]) * 1.5, 20001, dtype=torch.float64)
    inv = gat_inverse_unbiased(d, clipped=clipped)
    assert bool((inv.diff() >= 0).all())
    if clipped:
        assert float(inv.min()) == 0.0 and float(inv.max()) == 1.0
    else:
        assert float(inv[0]) == 0.0
        # Above the table: the asymptotic inverse, continuous at the junction.
        top = m[-1:]
        left = gat_inverse_unbiased(top * (1 - 1e-9), clipped=False)
        right = gat_inverse_unbiased(top * (1 + 1e-9), clipped=False)
        assert float((right - left).abs()) < 1e-6
        far = torch.tensor([200.0], dtype=torch.float64)
        assert float(gat_inverse_unbiased(far, clipped=False) - gat_inverse_asymptotic(far)) == (
            pytest.approx(0, abs=1e-7)
        )


def test_table_matches_quadrature_and_is_cached():
    y1, m1 = unbiased_inverse_table()
    y2, m2 = unbiased_inverse_table(FOI_A, FOI_B, clipped=True)
    assert torch.equal(y1, y2) and torch.equal(m1, m2)
    # Unclipped at mid intensity, the classic expansion E f ~= (2/a) sqrt(a y + a^2/8 + b).
    mean, _ = gat_moments(torch.tensor([0.5], dtype=torch.float64), clipped=False)
    approx = (2 / A) * math.sqrt(A * 0.5 + A**2 / 8 + B)
    assert float(mean) == pytest.approx(approx, rel=1e-5)  # next order: ~ m^(-3/2)
    # Other noise parameters get their own table (b = 0: pure Poisson-like variance).
    _, m0 = unbiased_inverse_table(0.01, 0.0, clipped=True)
    assert bool((m0.diff() > 0).all()) and float(m0[0]) == pytest.approx(math.sqrt(1.5), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# shapes, devices, dtypes, inputs


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 5), (2, 1, 4, 6)])
def test_shapes_and_devices(device, shape):
    gen = torch.Generator().manual_seed(3)
    y = torch.rand(shape, generator=gen, dtype=torch.float64).to(device)
    d = gat(y)
    for fn in (gat, gat_inverse_algebraic, gat_inverse_asymptotic, gat_inverse_unbiased):
        out = fn(d)
        assert out.shape == y.shape and out.device == y.device and out.dtype == y.dtype
    assert gat_inverse_unbiased(d, clipped=False).shape == y.shape
    mean, std = gat_moments(y)
    assert mean.shape == y.shape and std.device == y.device
    empty = torch.empty(0, 3, device=device)
    assert gat_inverse_unbiased(gat(empty)).shape == (0, 3)


@pytest.mark.parametrize("clipped", [True, False])
def test_float32_matches_float64(clipped):
    d64 = torch.linspace(3.0, 60.0, 5001, dtype=torch.float64)
    y64 = gat_inverse_unbiased(d64, clipped=clipped)
    y32 = gat_inverse_unbiased(d64.float(), clipped=clipped)
    assert y32.dtype == torch.float32
    # float32 rounding of d (~2e-6 at D = 30) times the slope dy/dD (<= a D / 2), plus rounding.
    torch.testing.assert_close(y32.double(), y64, rtol=2e-6, atol=1e-6)
    z = torch.linspace(0, 1, 101, dtype=torch.float64)
    torch.testing.assert_close(gat(z.float()).double(), gat(z), rtol=1e-6, atol=0)
    half = gat_inverse_unbiased(d64.to(torch.bfloat16), clipped=clipped)
    assert half.dtype == torch.bfloat16


def test_bad_inputs():
    z = torch.rand(4)
    with pytest.raises(TypeError, match="z must be a torch.Tensor"):
        gat([0.1, 0.2])
    with pytest.raises(TypeError, match="z must be a floating-point"):
        gat(torch.ones(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="z must be finite"):
        gat(torch.tensor([0.1, float("nan")]))
    with pytest.raises(ValueError, match="d must be finite"):
        gat_inverse_unbiased(torch.tensor([float("inf")]))
    with pytest.raises(TypeError, match="d must be a torch.Tensor"):
        gat_inverse_algebraic(3.0)
    with pytest.raises(ValueError, match="a .* must be positive"):
        gat(z, a=0.0)
    with pytest.raises(ValueError, match="a .* must be positive"):
        gat_inverse_unbiased(z, a=-1e-3)
    with pytest.raises(ValueError, match="b .* must be non-negative"):
        gat_inverse_unbiased(z, b=-1e-4)
    with pytest.raises(ValueError, match="a must be finite"):
        gat(z, a=float("inf"))
    with pytest.raises(ValueError, match="b must be finite"):
        gat(z, b=float("nan"))
    with pytest.raises(TypeError, match="b must be a real number"):
        gat(z, b="0.1")
    with pytest.raises(TypeError, match="a must be a real number"):
        gat(z, a=True)
    with pytest.raises(ValueError, match="y must satisfy"):
        gat_moments(torch.tensor([-0.5], dtype=torch.float64))
