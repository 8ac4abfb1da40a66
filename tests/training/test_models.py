"""The networks: the paper's layer sizes, valid convolutions, full-image inference, init."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from imgloss.training import models


def test_paper_net_has_the_papers_layers_and_margin():
    net = models.PaperNet()
    shapes = [tuple(c.weight.shape) for c in net.convs]
    assert shapes == [(64, 3, 9, 9), (64, 64, 5, 5), (3, 64, 5, 5)]
    assert [a.weight.numel() for a in net.acts] == [64, 64]  # PReLU per channel, 2 inner layers
    assert net.margin == 8
    assert net(torch.rand(2, 3, 31, 31)).shape == (2, 3, 15, 15)


def test_srcnn_is_9_1_5_with_prelu_on_rgb():
    net = models.SRCNN()
    shapes = [tuple(c.weight.shape) for c in net.convs]
    assert shapes == [(64, 3, 9, 9), (32, 64, 1, 1), (3, 32, 5, 5)]
    assert all(isinstance(a, torch.nn.PReLU) for a in net.acts)
    assert net.margin == 6 and net(torch.rand(1, 3, 31, 31)).shape == (1, 3, 19, 19)
    assert isinstance(models.for_task("sr"), models.SRCNN)
    assert isinstance(models.for_task("jpeg"), models.PaperNet)
    with pytest.raises(ValueError, match="unknown task"):
        models.for_task("deblur")


def test_full_image_prediction_keeps_the_size_and_the_interior_is_exact():
    torch.manual_seed(0)
    net = models.PaperNet()
    x = torch.rand(1, 3, 40, 52)
    full = net.predict(x)
    assert full.shape == x.shape
    m = net.margin
    # Away from the border, reflect padding changes nothing: the output is the valid output.
    torch.testing.assert_close(full[..., m:-m, m:-m], net(x), rtol=1e-5, atol=1e-6)
    manual = net(F.pad(x, (m, m, m, m), mode="reflect"))
    torch.testing.assert_close(full, manual)


def test_same_seed_same_initial_weights_for_every_loss():
    torch.manual_seed(3)
    a = models.PaperNet().state_dict()
    torch.manual_seed(3)
    b = models.PaperNet().state_dict()
    torch.manual_seed(4)
    c = models.PaperNet().state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["convs.0.weight"], c["convs.0.weight"])
    assert all((b[k] == 0).all() for k in b if k.endswith("bias"))
    assert torch.allclose(a["acts.0.weight"], torch.full((64,), 0.25))
    # He init for a PReLU with slope 0.25: std = sqrt(2 / ((1 + a^2) fan_in)).
    std = a["convs.1.weight"].std().item()
    assert std == pytest.approx((2 / (1.0625 * 64 * 25)) ** 0.5, rel=0.05)


def test_forward_flops_counts_each_valid_layer():
    net = models.PaperNet()
    expected = 2 * (3 * 64 * 81 * 23**2 + 64 * 64 * 25 * 19**2 + 64 * 3 * 25 * 15**2)
    from imgloss.training.modern_nets import cost

    assert cost(net, 15).flops_per_pixel * 15**2 == pytest.approx(expected)


def test_bad_inputs():
    net = models.PaperNet()
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        net(torch.rand(1, 1, 31, 31))
    with pytest.raises(ValueError, match="too small"):
        net(torch.rand(1, 3, 16, 40))
    with pytest.raises(ValueError, match="larger than 8"):
        net.predict(torch.rand(1, 3, 8, 40))


def test_a_training_configuration_touches_no_random_generator():
    """Building a TrainConfig (every run_dir() call does) must not advance torch's global
    generator: the network's margin comes from its layer list, not from building it."""
    from imgloss.training import models
    from imgloss.training.trainer import Phase, TrainConfig

    for task in ("demosaic", "sr", "jpeg"):
        assert models.margin_for(task) == models.for_task(task).margin
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    TrainConfig(task="demosaic", phases=(Phase("l1", 10),))
    assert torch.equal(torch.rand(3), expected)


def _closed_form_flops(layers, out_size: int) -> float:
    """Valid convolutions: layer i works on the output side plus what the later layers lose."""
    total, remaining = 0, sum((k - 1) // 2 for _, _, k in layers)
    for c_in, c_out, k in layers:
        remaining -= (k - 1) // 2
        side = out_size + 2 * remaining
        total += 2 * c_in * c_out * k * k * side * side
    return total / out_size**2


def test_residual_net_is_dncnn_style_and_costs_its_closed_form():
    from imgloss.training import modern_nets

    net = modern_nets.ResidualNet()
    shapes = [tuple(c.weight.shape) for c in net.convs]
    assert shapes == [(48, 3, 3, 3)] + [(48, 48, 3, 3)] * 6 + [(3, 48, 3, 3)]
    assert net.margin == 8 and net(torch.rand(2, 3, 31, 31)).shape == (2, 3, 15, 15)
    layers = [(c.in_channels, c.out_channels, 3) for c in net.convs]
    c = modern_nets.cost(net, out_size=15)
    assert c.flops_per_pixel == pytest.approx(_closed_form_flops(layers, 15))
    weights = sum(i * o * 9 + o for i, o, _ in layers) + 48 * 7  # convs, biases, PReLU slopes
    assert c.parameters == weights
    paper = modern_nets.cost(models.PaperNet(), out_size=15)
    assert paper.flops_per_pixel == pytest.approx(_closed_form_flops(models.PaperNet.LAYERS, 15))
    assert paper.parameters == 3 * 64 * 81 + 64 + 64 * 64 * 25 + 64 + 64 * 3 * 25 + 3 + 2 * 64


@pytest.mark.parametrize("name", ["ResidualNet", "UNet"])
def test_modern_networks_start_as_the_identity_and_are_residual(name):
    """A network that has learnt nothing returns its input's centre: with the last layer at zero
    exactly, and to about 1e-2 at its initialisation (std 1e-3)."""
    from imgloss.training import modern_nets

    torch.manual_seed(0)
    net = getattr(modern_nets, name)()
    x = torch.rand(2, 3, 47, 47)
    centre = x[..., 8:-8, 8:-8]
    assert net(x).shape == centre.shape == (2, 3, 31, 31)
    assert (net(x) - centre).abs().max() < 5e-2
    last = net.convs[-1] if name == "ResidualNet" else net.out
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    assert torch.equal(net(x), centre)
    assert net.predict(torch.rand(1, 3, 40, 52)).shape == (1, 3, 40, 52)


def test_unet_sees_odd_sizes_and_its_cost_counts_every_convolution():
    from imgloss.training import modern_nets

    net = modern_nets.UNet(width=16)
    assert net(torch.rand(1, 3, 47, 53)).shape == (1, 3, 31, 37)
    c = modern_nets.cost(net, out_size=31)
    # 3x3 same convolutions on the full, half and quarter grids (ceil), plus the 1x1 output
    full, half, quarter = 47**2, 24**2, 12**2
    w = 16
    macs = (9 * (3 * w + w * w) + 9 * (3 * w * w + w * w)) * full  # down1, up1
    macs += (
        9 * (w * 2 * w + 4 * w * w) * half + 9 * (6 * w * 2 * w + 4 * w * w) * half
    )  # down2, up2
    macs += 9 * (2 * w * 4 * w + 16 * w * w) * quarter + w * 3 * full  # bottom, out
    assert c.flops_per_pixel == pytest.approx(2 * macs / 31**2)


def test_the_fourier_path_never_wraps_a_network_with_its_own_forward():
    from imgloss.training import fourier_conv, modern_nets

    for net in (modern_nets.ResidualNet(), modern_nets.UNet()):
        assert fourier_conv.accelerate(net) is net


def test_a_run_may_name_its_network_and_the_name_is_part_of_its_identity():
    """The network is a run parameter: named in the label and the key, and the default (the
    task's own) keeps the keys of every run made before the parameter existed."""
    from imgloss.core.errors import InputError
    from imgloss.design import experiments as design
    from imgloss.experiments import executors
    from imgloss.training import modern_nets
    from imgloss.training.trainer import Phase, TrainConfig

    assert isinstance(models.for_task("demosaic", "ResidualNet"), modern_nets.ResidualNet)
    assert isinstance(models.for_task("sr", "UNet"), modern_nets.UNet)
    assert models.margin_for("sr") == 6 and models.margin_for("sr", "UNet") == 8
    with pytest.raises(InputError, match="unknown network 'VGG'.*ResidualNet"):
        models.for_task("demosaic", "VGG")
    plain = design.spec("demosaic", "l1")
    residual = design.spec("demosaic", "l1", network="ResidualNet")
    assert plain.label == "l1" and residual.label == "l1@ResidualNet"
    assert executors.run_args(residual)[-2:] == ["--network", "ResidualNet"]
    phases = (Phase("l1", 10, 1e-3),)
    assert "network" not in TrainConfig("demosaic", phases).to_dict()
    assert TrainConfig("demosaic", phases, network="UNet").to_dict()["network"] == "UNet"
