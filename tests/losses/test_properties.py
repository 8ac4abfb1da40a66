"""Mathematical properties, checked on many generated inputs (hypothesis)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imgloss.losses as L

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (name, options, spatial size): every registry loss in both modes, at small sizes.
CONFIGS = [
    ("ssim5", {"window": "patch"}, 15),
    ("msssim", {"window": "patch"}, 15),
    ("mix", {"window": "patch"}, 15),
    ("ssim1.5", {"window": "sliding"}, 24),
    ("msssim", {"window": "sliding", "sigmas": (0.5, 1.0, 2.0)}, 24),
    ("mix", {"window": "sliding", "sigmas": (0.5, 1.0, 2.0)}, 24),
    ("msssim", {"window": "sliding", "variant": "pyramid", "weights": (0.4, 0.6)}, 24),
    ("l1", {}, 8),
    ("l2", {}, 8),
]
IDS = [f"{n}-{o.get('window', '')}{o.get('variant', '')}" for n, o, _ in CONFIGS]


@st.composite
def image_pairs(draw, size: int, data_range: float = 1.0):
    """Pairs in [0, L], including constant images, binary images and anti-correlated pairs."""
    seed = draw(st.integers(0, 2**31 - 1))
    kind = draw(st.sampled_from(["random", "constant", "binary", "anti", "near"]))
    gen = torch.Generator().manual_seed(seed)
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 4)), size, size)
    y = torch.rand(shape, generator=gen, dtype=torch.float64)
    if kind == "constant":
        x = torch.full(shape, draw(st.floats(0, 1)), dtype=torch.float64)
        y = torch.full(shape, draw(st.floats(0, 1)), dtype=torch.float64)
    elif kind == "binary":
        x = (torch.rand(shape, generator=gen, dtype=torch.float64) > 0.5).double()
    elif kind == "anti":  # negative covariance: cs < 0 at every scale
        x = 1 - y
    elif kind == "near":
        x = (y + 1e-4 * torch.randn(shape, generator=gen, dtype=torch.float64)).clamp(0, 1)
    else:
        x = torch.rand(shape, generator=gen, dtype=torch.float64)
    return x * data_range, y * data_range


def _index(name, options):
    """The similarity index behind a loss (1 - loss), for the SSIM family."""
    return lambda x, y: 1 - L.get(name, **options)(x, y)


@pytest.mark.parametrize("name,options,size", CONFIGS, ids=IDS)
def test_values_and_gradients_are_finite(name, options, size):
    @SETTINGS
    @given(image_pairs(size))
    def check(pair):
        x, y = (t.float().requires_grad_(True) for t in pair)
        value = L.get(name, **options)(x, y)
        value.backward()
        assert torch.isfinite(value)
        assert torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()

    check()


@pytest.mark.parametrize("name,options,size", CONFIGS[:7], ids=IDS[:7])
def test_identity_symmetry_and_bounds(name, options, size):
    index = _index(name, options)

    # float64 rounding: sigma^2 = E[x^2] - mu^2 cancels to ~1e-16 on flat patches, which C2
    # (9e-4) turns into ~1e-13 relative errors of the ratio; hypothesis found 1.2e-12.
    tol = 1e-10

    @SETTINGS
    @given(image_pairs(size))
    def check(pair):
        x, y = pair
        assert index(x, x).item() == pytest.approx(1.0, abs=tol)
        if name != "mix":  # SSIM and MS-SSIM are symmetric; Mix's l1 term is too
            assert index(x, y).item() == pytest.approx(index(y, x).item(), abs=tol)
        if name.startswith("ssim") or options.get("variant") == "pyramid":
            assert -1 - tol <= index(x, y).item() <= 1 + tol
        if options.get("variant") == "pyramid":
            assert index(x, y).item() >= 0  # negative means are clamped before the power

    check()


def test_mix_is_symmetric_and_zero_only_for_identical_images():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 2, 3, 15, 15, generator=gen, dtype=torch.float64)
    mix = L.get("mix", window="patch")
    assert mix(x, y).item() == pytest.approx(mix(y, x).item(), abs=1e-14)
    assert mix(x, x).item() == pytest.approx(0.0, abs=1e-12)
    assert mix(x, y).item() > 0


def test_negative_cs_case_of_ms_ssim():
    """Anti-correlated patches give negative cs at every sigma; the product is not clamped."""
    gen = torch.Generator().manual_seed(1)
    y = torch.rand(1, 1, 15, 15, generator=gen, dtype=torch.float64)
    x = (1 - y).requires_grad_(True)
    value = L.ms_ssim(x, y, window="patch", sigmas=(0.5, 1.0, 2.0))  # three negative cs
    assert value.item() < 0
    value.backward()
    assert torch.isfinite(x.grad).all()


class TestMixInvariances:
    """Mix is invariant to what it should be, and to nothing else."""

    def setup_method(self):
        gen = torch.Generator().manual_seed(2)
        self.y = torch.rand(2, 3, 31, 31, generator=gen, dtype=torch.float64) * 0.8 + 0.1
        self.x = (
            self.y + 0.05 * torch.randn(self.y.shape, generator=gen, dtype=torch.float64)
        ).clamp(0, 1)
        self.mix = L.get("mix", window="patch")

    def test_invariant_to_rescaling_data_and_data_range_together(self):
        scaled = L.get("mix", window="patch", data_range=255.0)
        assert scaled(self.x * 255, self.y * 255).item() == pytest.approx(
            self.mix(self.x, self.y).item(), rel=1e-12
        )

    def test_invariant_to_permuting_the_batch_and_channels(self):
        perm = [1, 0]
        chan = [2, 0, 1]
        a = self.mix(self.x, self.y).item()
        assert self.mix(self.x[perm][:, chan], self.y[perm][:, chan]).item() == pytest.approx(
            a, rel=1e-12
        )

    def test_sensitive_to_a_uniform_bias(self):
        base = self.mix(self.y, self.y).item()
        assert self.mix((self.y + 0.05).clamp(0, 1), self.y).item() > base + 0.005

    def test_sensitive_to_a_spatial_shuffle_of_the_prediction(self):
        shuffled = self.x.flatten(2)[..., torch.randperm(31 * 31)].reshape(self.x.shape)
        assert self.mix(shuffled, self.y).item() > self.mix(self.x, self.y).item() + 0.05

    def test_sensitive_to_a_channel_swap_of_the_prediction_only(self):
        swapped = self.x[:, [1, 0, 2]]
        assert self.mix(swapped, self.y).item() > self.mix(self.x, self.y).item()

    def test_not_invariant_to_rescaling_data_alone(self):
        assert self.mix(self.x * 0.5, self.y * 0.5).item() != pytest.approx(
            self.mix(self.x, self.y).item(), rel=1e-3
        )

    def test_centre_pixels_weigh_more_than_border_pixels(self):
        centre = self.y.clone()
        centre[..., 15, 15] += 0.1
        corner = self.y.clone()
        corner[..., 0, 0] += 0.1
        assert self.mix(centre, self.y).item() > self.mix(corner, self.y).item()

    def test_alpha_interpolates_between_the_two_terms(self):
        ms = L.ms_ssim_loss(self.x, self.y, window="patch").item()
        l1 = L.mix_loss(self.x, self.y, window="patch", alpha=0.0).item()
        for alpha in (0.0, 0.3, 0.84, 1.0):
            mixed = L.mix_loss(self.x, self.y, window="patch", alpha=alpha).item()
            assert mixed == pytest.approx(alpha * ms + (1 - alpha) * l1, rel=1e-12)


@pytest.mark.parametrize("channels", [1, 3, 7])
@pytest.mark.parametrize("batch", [1, 5])
def test_any_channel_count_and_batch_size_is_scored_per_image_channel(channels, batch):
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(batch, channels, 31, 31, generator=gen)
    y = torch.rand(batch, channels, 31, 31, generator=gen)
    for name in L.PAPER_LOSSES:
        loss = L.get(name, window="patch", reduction="none")
        per = loss(x, y)
        assert per.shape == (batch, channels)
        # each entry equals the loss of that image-channel alone
        single = L.get(name, window="patch")(x[-1:, -1:], y[-1:, -1:])
        assert per[-1, -1].item() == pytest.approx(single.item(), rel=1e-5)
