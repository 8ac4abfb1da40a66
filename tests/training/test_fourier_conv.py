"""The Fourier-domain convolution against torch's direct convolution and finite differences.

References: ``torch.nn.functional.conv2d`` (oneDNN / the reference CPU kernel) for values and,
through autograd, for gradients; ``torch.autograd.gradcheck`` (central finite differences in
float64) for the hand-written backward on its own.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from imgloss.training import fourier_conv as fc
from imgloss.training import models

# (N, C_in, C_out, H, W, kh, kw): odd and even sides, non-square inputs and kernels, 1 x 1,
# a kernel as large as the input, a single image
SHAPES = [
    (3, 4, 5, 23, 23, 5, 5),
    (2, 3, 6, 31, 31, 9, 9),
    (2, 5, 3, 20, 17, 5, 3),
    (1, 2, 2, 8, 9, 1, 1),
    (2, 3, 2, 6, 7, 6, 7),
    (4, 6, 4, 12, 16, 4, 2),
]


def _case(shape, dtype, seed=0):
    n, c_in, c_out, h, w, kh, kw = shape
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c_in, h, w, generator=g, dtype=dtype)
    weight = torch.randn(c_out, c_in, kh, kw, generator=g, dtype=dtype) / (c_in * kh * kw) ** 0.5
    bias = torch.randn(c_out, generator=g, dtype=dtype)
    return x, weight, bias


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_equals_direct_convolution_in_float64(shape, with_bias):
    x, weight, bias = _case(shape, torch.float64)
    bias = bias if with_bias else None
    expected = F.conv2d(x, weight, bias)
    got = fc.from_spatial_major(fc.fourier_conv2d(fc.to_spatial_major(x), weight, bias))
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_equal_direct_convolution_gradients(shape):
    x, weight, bias = _case(shape, torch.float64, seed=1)
    leaves = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
    direct = F.conv2d(*leaves)
    grad = torch.randn_like(direct)
    expected = torch.autograd.grad(direct, leaves, grad)
    leaves2 = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
    out = fc.fourier_conv2d(fc.to_spatial_major(leaves2[0]), leaves2[1], leaves2[2])
    got = torch.autograd.grad(out, leaves2, fc.to_spatial_major(grad))
    for g, e, name in zip(got, expected, ("x", "weight", "bias"), strict=True):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-10, msg=f"gradient of {name}")


def test_backward_passes_gradcheck():
    x, weight, bias = _case((2, 3, 2, 7, 6, 3, 2), torch.float64, seed=2)
    inputs = (fc.to_spatial_major(x).requires_grad_(True), weight.requires_grad_(True))
    assert torch.autograd.gradcheck(
        lambda a, w: fc.fourier_conv2d(a, w, bias.requires_grad_(True)), inputs
    )


def test_float32_agrees_to_rounding_at_the_paper_sizes():
    # PaperNet's middle layer on 23 x 23 maps: float32 rounding of ~4 products in a row
    x, weight, bias = _case((8, 64, 64, 23, 23, 5, 5), torch.float32, seed=3)
    expected = F.conv2d(x.double(), weight.double(), bias.double())
    got = fc.from_spatial_major(fc.fourier_conv2d(fc.to_spatial_major(x), weight, bias))
    direct = F.conv2d(x, weight, bias)
    scale = expected.abs().max()
    err_fourier = ((got.double() - expected).abs().max() / scale).item()
    err_direct = ((direct.double() - expected).abs().max() / scale).item()
    assert err_fourier < 1e-5
    assert err_fourier < 50 * max(err_direct, 1e-7)  # same order as the direct kernel's rounding


def test_bad_arguments_are_named():
    x = torch.zeros(9, 9, 2, 3)
    with pytest.raises(ValueError, match="input channels"):
        fc.fourier_conv2d(x, torch.zeros(4, 5, 3, 3))
    with pytest.raises(ValueError, match="larger than the input"):
        fc.fourier_conv2d(x, torch.zeros(4, 3, 10, 3))
    with pytest.raises(ValueError, match="bias must have shape"):
        fc.fourier_conv2d(x, torch.zeros(4, 3, 3, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="weight must have x's dtype"):
        fc.fourier_conv2d(x, torch.zeros(4, 3, 3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\(W, H, N, C_in\)"):
        fc.fourier_conv2d(torch.zeros(9, 9, 3), torch.zeros(4, 3, 3, 3))


def test_layout_round_trip():
    x = torch.randn(2, 3, 5, 7)
    s = fc.to_spatial_major(x)
    assert s.shape == (7, 5, 2, 3) and s.is_contiguous()
    assert torch.equal(fc.from_spatial_major(s), x)


# --- the networks: the Fourier path is an implementation detail, the function is the same ---


def test_papernet_fourier_path_matches_direct_path_in_value_and_gradient():
    torch.manual_seed(0)
    direct = models.PaperNet()
    fourier = fc.accelerate(copy.deepcopy(direct))
    x = torch.rand(16, 3, 31, 31)
    target = torch.rand(16, 3, 15, 15)
    assert fourier.uses_fourier(x)
    out_d, out_f = direct(x), fourier(x)
    torch.testing.assert_close(out_f, out_d, rtol=1e-5, atol=1e-6)
    ((out_d - target) ** 2).mean().backward()
    ((out_f - target) ** 2).mean().backward()
    for (name, p_d), p_f in zip(direct.named_parameters(), fourier.parameters(), strict=True):
        scale = p_d.grad.abs().max()
        assert ((p_f.grad - p_d.grad).abs().max() / scale).item() < 2e-5, name


def test_the_fourier_layer_is_a_module_swap_that_shares_the_parameters():
    net = models.PaperNet()
    fast = fc.accelerate(net)
    assert isinstance(fast, fc.FourierConvNet) and fast.net is net
    assert all(a is b for a, b in zip(fast.parameters(), net.parameters(), strict=True))
    assert fast.margin == net.margin
    assert {k.removeprefix("net.") for k in fast.state_dict()} == set(net.state_dict())
    # the model itself is the paper's network only: plain conv2d and PReLU modules
    assert not hasattr(net, "uses_fourier") and not hasattr(net, "conv_algorithm")
    assert fc.accelerate(models.SRCNN()).__class__ is models.SRCNN  # no layer to accelerate
    assert fc.accelerate(net, "direct") is net


def test_when_the_fourier_path_is_taken():
    net = fc.FourierConvNet(models.PaperNet())
    patch = torch.rand(2, 3, 31, 31)
    assert net.fourier_layers == (False, True, True)
    assert net.uses_fourier(patch)
    assert not net.uses_fourier(torch.rand(1, 3, 31, fc.MAX_SIDE + 1))  # whole images: direct
    assert not net.uses_fourier(patch.double())  # float32 only (the direct path is exact there)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not net.uses_fourier(patch)
    assert not fc.FourierConvNet(models.PaperNet(), "direct").uses_fourier(patch)
    assert fc.FourierConvNet(models.PaperNet(), "fourier").uses_fourier(torch.rand(1, 3, 80, 80))
    # SRCNN's wide layers are cheap with oneDNN (measured): it has no Fourier layer
    assert fc.fourier_layers(models.SRCNN()) == (False, False, False)
    assert not fc.FourierConvNet(models.SRCNN()).uses_fourier(patch)
    with pytest.raises(ValueError, match="algorithm"):
        fc.FourierConvNet(models.PaperNet(), "winograd")


def test_a_forced_fourier_path_on_a_larger_input_equals_the_direct_one():
    torch.manual_seed(1)
    net = models.PaperNet()
    image = torch.rand(1, 3, 40, 52)
    forced = fc.FourierConvNet(net, "fourier")
    torch.testing.assert_close(forced(image), net(image), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(forced.predict(image), net.predict(image))


def test_a_fourier_training_step_is_deterministic():
    def one_step() -> torch.Tensor:
        torch.manual_seed(3)
        net = models.PaperNet()
        fast = fc.accelerate(net)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        x, y = torch.rand(8, 3, 31, 31), torch.rand(8, 3, 15, 15)
        for _ in range(2):
            loss = ((fast(x) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return torch.cat([p.detach().flatten() for p in net.parameters()])

    assert torch.equal(one_step(), one_step())
