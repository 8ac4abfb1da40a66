"""The fast path of sliding-mode Gaussian MS-SSIM and Mix equals direct filtering.

``gaussian_sliding_maps(..., method="fast")`` (the CPU default: chunks of planes, four moment
maps, closed-form backward) against ``method="direct"`` (the five moments as one wide image,
differentiated by autograd): values and gradients, float32 and float64, odd, non-square and
just-large-enough images, several chunk sizes, and ``gradcheck``.
"""

from __future__ import annotations

import pytest
import torch

import imgloss.functional.msssim as M
import imgloss.losses as L
import imgloss.losses.mix as mix_module
from imgloss.functional.filters import gaussian_radius

PAPER = (0.5, 1.0, 2.0, 4.0, 8.0)
C1, C2 = 1e-4, 9e-4
# (N, C, H, W): square, odd, non-square, exactly the 57-tap window of sigma 8, one pixel more
SHAPES = [(2, 3, 64, 64), (1, 2, 67, 75), (3, 1, 81, 60), (2, 2, 57, 57), (1, 3, 58, 57)]
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}


def _pair(shape, dtype=torch.float32, seed=0, noise=0.1):
    gen = torch.Generator().manual_seed(seed)
    y = torch.rand(shape, generator=gen, dtype=torch.float64)
    x = (y + noise * torch.randn(shape, generator=gen, dtype=torch.float64)).clamp(0, 1)
    return x.to(dtype), y.to(dtype)


def _run(x, y, method, sigmas=PAPER, with_extra=True, grads=None):
    """Maps, filtered |x - y| and the gradients of a random weighting of both."""
    xx = x.clone().requires_grad_(True)
    yy = y.clone().requires_grad_(True)
    extra = (xx - yy).abs() if with_extra else None
    maps, ext = M.gaussian_sliding_maps(xx, yy, sigmas, C1, C2, extra=extra, method=method)
    if grads is None:
        gen = torch.Generator().manual_seed(1)
        grads = [torch.randn(maps.shape, generator=gen, dtype=maps.dtype) for _ in range(2)]
    total = (maps * grads[0]).sum()
    if with_extra:
        total = total + (ext * grads[1]).sum()
    total.backward()
    return maps.detach(), (ext.detach() if with_extra else None), xx.grad, yy.grad, grads


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def _rel_norm(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


@pytest.fixture(params=[M._CPU_CHUNK_PLANES, 4, 1], ids=["chunk-default", "chunk4", "chunk1"])
def chunk(request, monkeypatch):
    """Planes per chunk: the default (here all planes in one), uneven chunks, one plane each."""
    monkeypatch.setattr(M, "_CPU_CHUNK_PLANES", request.param)
    return request.param


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
def test_maps_and_gradients_equal_direct_filtering(shape, dtype, chunk):
    x, y = _pair(shape, dtype)
    d_maps, d_ext, d_gx, d_gy, grads = _run(x, y, "direct")
    f_maps, f_ext, f_gx, f_gy, _ = _run(x, y, "fast", grads=grads)
    tol = TOL[dtype]
    r = gaussian_radius(8.0)
    assert f_maps.shape == d_maps.shape == (*shape[:2], shape[2] - 2 * r, shape[3] - 2 * r)
    assert f_maps.dtype == f_ext.dtype == f_gx.dtype == dtype
    assert (f_maps - d_maps).abs().max().item() < tol
    assert (f_ext - d_ext).abs().max().item() < tol
    for fast, direct in ((f_gx, d_gx), (f_gy, d_gy)):
        assert _rel_norm(fast, direct) < tol
        # per pixel, relative to the largest: direct float32 filtering is itself up to 1e-5 off
        # the float64 value (measured 9.8e-6 on 1x3x58x57)
        assert _rel(fast, direct) < 2 * tol


@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
def test_float32_is_close_to_float64(shape):
    """Both float32 paths are within 1e-5 of float64 (relative to the largest value; measured
    up to 6.6e-6 for the direct path, 6.8e-6 for the fast one)."""
    x, y = _pair(shape, torch.float64)
    exact = _run(x, y, "direct")
    grads = [g.float() for g in exact[-1]]
    fast = _run(x.float(), y.float(), "fast", grads=grads)
    for a, e in zip(fast[:4], exact[:4]):
        assert _rel(a.double(), e) < 1e-5


@pytest.mark.parametrize(
    "sigmas", [(4.0, 0.5, 2.0), (3.0,), (1.0, 1.0, 2.5, 2.5)], ids=["unsorted", "one", "repeated"]
)
def test_other_sigmas(sigmas, chunk):
    x, y = _pair((2, 2, 40, 47), torch.float64)
    direct = _run(x, y, "direct", sigmas=sigmas)
    fast = _run(x, y, "fast", sigmas=sigmas, grads=direct[-1])
    for a, b in zip(fast[:-1], direct[:-1]):
        assert _rel(a, b) < 1e-12


def test_only_some_inputs_need_gradients(chunk):
    x, y = _pair((1, 2, 60, 61), torch.float64)
    for needs in [(True, False), (False, True)]:
        outs = {}
        for method in ("direct", "fast"):
            xx = x.clone().requires_grad_(needs[0])
            yy = y.clone().requires_grad_(needs[1])
            maps, _ = M.gaussian_sliding_maps(xx, yy, PAPER, C1, C2, method=method)
            maps.square().mean().backward()
            assert (xx.grad is None) != needs[0] and (yy.grad is None) != needs[1]
            outs[method] = xx.grad if needs[0] else yy.grad
        assert _rel(outs["fast"], outs["direct"]) < 1e-12
    # only the filtered extra map needs a gradient
    extra = (x - y).abs().requires_grad_(True)
    _, ext = M.gaussian_sliding_maps(x, y, PAPER, C1, C2, extra=extra, method="fast")
    ext.sum().backward()
    ref = extra.detach().clone().requires_grad_(True)
    _, ext_d = M.gaussian_sliding_maps(x, y, PAPER, C1, C2, extra=ref, method="direct")
    ext_d.sum().backward()
    assert _rel(extra.grad, ref.grad) < 1e-12


def test_gradcheck_small_input():
    x, y = _pair((1, 1, 12, 11), torch.float64, noise=0.2)
    x.requires_grad_(True)
    y.requires_grad_(True)
    e = (x - y).abs().detach().requires_grad_(True)

    def fn(a, b, extra):
        maps, ext = M._GaussianSlidingMaps.apply(a, b, extra, (0.5, 1.0, 1.5), C1, C2)
        return maps, ext

    assert torch.autograd.gradcheck(fn, (x, y, e))


def test_gradcheck_paper_sigmas_fast_mode():
    x, y = _pair((1, 1, 57, 59), torch.float64)
    x.requires_grad_(True)
    y.requires_grad_(True)
    e = (x - y).abs().detach().requires_grad_(True)

    def fn(a, b, extra):
        return M._GaussianSlidingMaps.apply(a, b, extra, PAPER, C1, C2)

    assert torch.autograd.gradcheck(fn, (x, y, e), fast_mode=True)


def _force_direct(monkeypatch):
    direct = M._gaussian_sliding_maps_direct

    def forced(x, y, sigmas, c1, c2):
        return direct(x, y, sigmas, c1, c2)[0].mean(dim=(2, 3))

    monkeypatch.setattr(M, "gaussian_sliding_means", forced)
    monkeypatch.setattr(mix_module, "gaussian_sliding_means", forced)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", ["msssim", "mix"])
def test_losses_equal_the_direct_path(monkeypatch, name, dtype):
    x, y = _pair((2, 3, 70, 66), dtype)
    y[1, 2] = x[1, 2]  # one identical plane: loss exactly 0 there, zero gradient
    loss = L.get(name, reduction="none")

    def value_and_grad():
        xx = x.clone().requires_grad_(True)
        values = loss(xx, y)
        values.sum().backward()
        return values.detach(), xx.grad

    fast, fast_grad = value_and_grad()
    with monkeypatch.context() as m:
        _force_direct(m)
        direct, direct_grad = value_and_grad()
    assert fast.shape == (2, 3)
    assert (fast - direct).abs().max().item() < TOL[dtype]
    assert _rel(fast_grad, direct_grad) < TOL[dtype]
    assert fast[1, 2].item() == direct[1, 2].item() == 0.0  # the loss of an identical plane
    assert torch.all(fast_grad[1, 2] == 0)


def test_cpu_default_is_the_fast_path(monkeypatch):
    calls = []
    real = M._GaussianSlidingMeans.apply

    def counting(*args):
        calls.append(args[0].shape)
        return real(*args)

    monkeypatch.setattr(M._GaussianSlidingMeans, "apply", counting)
    x, y = _pair((1, 3, 60, 60))
    L.ms_ssim(x, y)
    L.mix_loss(x, y)
    assert len(calls) == 2
    with pytest.raises(ValueError, match="method"):
        M.gaussian_sliding_maps(x, y, PAPER, C1, C2, method="fft")


def test_float32_on_photographs(real_pair):
    """Real photographs with little distortion (flat regions: variances near 0, where float32
    rounding matters most): the fast path equals the direct one, and both the float64 value."""
    noisy, clean = (t[..., 40:200, 60:220] for t in real_pair)  # 160 x 160, for speed
    gen = torch.Generator().manual_seed(0)
    slight = (clean + 0.01 * torch.randn(clean.shape, generator=gen, dtype=clean.dtype)).clamp(0, 1)
    for x in (noisy, slight):
        exact = M.gaussian_sliding_maps(x, clean, PAPER, C1, C2, method="direct")[0]
        values = {}
        for method in ("direct", "fast"):
            maps = M.gaussian_sliding_maps(x.float(), clean.float(), PAPER, C1, C2, method=method)
            values[method] = maps[0].double().mean(dim=(2, 3))
        exact = exact.mean(dim=(2, 3))
        assert (values["fast"] - values["direct"]).abs().max().item() < 1e-5
        assert (values["fast"] - exact).abs().max().item() < 1e-5


def _means_and_grads(x, y, fn, needs=(True, True), weights=None):
    xx, yy = x.clone().requires_grad_(needs[0]), y.clone().requires_grad_(needs[1])
    means = fn(xx, yy)
    if weights is None:
        weights = torch.randn(
            means.shape, generator=torch.Generator().manual_seed(2), dtype=x.dtype
        )
    (means * weights).sum().backward()
    return means.detach(), xx.grad, yy.grad, weights


def _direct_means(x, y, sigmas=PAPER):
    return M._gaussian_sliding_maps_direct(x, y, sigmas, C1, C2)[0].mean(dim=(2, 3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
def test_means_with_their_gradient_computed_forward_equal_direct_filtering(shape, dtype, chunk):
    """The losses' path (``gaussian_sliding_means``: the gradient of each plane's mean computed
    in the forward pass, chunk by chunk, scaled in the backward) against autograd through the
    direct path's map, for a random weighting of the planes' means."""
    x, y = _pair(shape, dtype)
    d_means, d_gx, d_gy, weights = _means_and_grads(x, y, _direct_means)
    fast = _means_and_grads(
        x, y, lambda a, b: M.gaussian_sliding_means(a, b, PAPER, C1, C2), weights=weights
    )
    f_means, f_gx, f_gy = fast[:3]
    assert f_means.shape == d_means.shape == shape[:2] and f_means.dtype == dtype
    assert (f_means - d_means).abs().max().item() < TOL[dtype]
    for f, d in ((f_gx, d_gx), (f_gy, d_gy)):
        assert f.dtype == dtype and _rel_norm(f, d) < TOL[dtype] and _rel(f, d) < 2 * TOL[dtype]


def test_means_with_one_input_needing_gradients_or_none(chunk):
    x, y = _pair((2, 2, 60, 61), torch.float64)
    fast = lambda a, b: M.gaussian_sliding_means(a, b, (4.0, 0.5, 2.0), C1, C2)
    direct = lambda a, b: _direct_means(a, b, (4.0, 0.5, 2.0))
    for needs in [(True, False), (False, True)]:
        d = _means_and_grads(x, y, direct, needs)
        f = _means_and_grads(x, y, fast, needs, weights=d[3])
        k = 1 if needs[0] else 2
        assert (f[1] is None) != needs[0] and (f[2] is None) != needs[1]
        assert _rel(f[k], d[k]) < 1e-12
    with torch.no_grad():  # no gradient wanted: same values, nothing that requires grad
        values = M.gaussian_sliding_means(x.requires_grad_(True), y, PAPER, C1, C2)
    assert not values.requires_grad
    assert _rel(values, _direct_means(x.detach(), y)) < 1e-12


def test_gradcheck_means():
    x, y = _pair((2, 1, 13, 12), torch.float64, noise=0.2)
    x.requires_grad_(True)
    y.requires_grad_(True)

    def fn(a, b):
        return M._GaussianSlidingMeans.apply(a, b, (0.5, 1.0, 1.5), C1, C2, True)

    assert torch.autograd.gradcheck(fn, (x, y))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_mix_l1_term_equals_the_mean_of_the_filtered_error(dtype):
    """Mix's sliding l1 term, computed as ``a^T |x - y| b`` (``sliding_filtered_mean``), equals
    the mean of the Gaussian-filtered ``|x - y|`` over the valid region, value and gradient."""
    from imgloss.functional.filters import filter_valid, gaussian_1d
    from imgloss.functional.stats import sliding_filtered_mean

    x, y = _pair((2, 3, 67, 75), dtype)
    for sigma in (8.0, 1.5):
        r = gaussian_radius(sigma)
        a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        ours = sliding_filtered_mean((a - y).abs(), sigma, r)
        stack = (b - y).abs().reshape(1, -1, 67, 75)
        ref = filter_valid(stack, gaussian_1d(sigma, r, dtype=dtype)).mean(dim=(2, 3)).reshape(2, 3)
        assert (ours - ref).abs().max().item() < TOL[dtype] / 10
        weights = torch.rand(2, 3, dtype=dtype)
        (ours * weights).sum().backward()
        (ref * weights).sum().backward()
        assert _rel(a.grad, b.grad) < TOL[dtype]
