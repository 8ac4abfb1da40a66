"""Bad input fails early with a message naming the problem; the registry uses the paper's names."""

from __future__ import annotations

import pytest
import torch

import imgloss.losses as L


def _pair(*shape, dtype=torch.float32):
    return torch.rand(*shape, dtype=dtype), torch.rand(*shape, dtype=dtype)


ALL = ["l1", "l2", "ssim5", "ssim9", "msssim", "mix"]


@pytest.mark.parametrize("name", ALL)
class TestBadInput:
    def test_mismatched_shapes(self, name):
        with pytest.raises(ValueError, match="same shape"):
            L.get(name)(torch.rand(1, 3, 80, 80), torch.rand(1, 3, 80, 81))

    def test_mismatched_dtypes(self, name):
        with pytest.raises(TypeError, match="same dtype"):
            L.get(name)(torch.rand(1, 3, 80, 80), torch.rand(1, 3, 80, 80, dtype=torch.float64))

    def test_not_4d(self, name):
        with pytest.raises(ValueError, match="4-D"):
            L.get(name)(*_pair(3, 80, 80))

    def test_5d_video_is_a_clear_error(self, name):
        with pytest.raises(ValueError, match=r"reshape it to \(N\*T, C, H, W\)"):
            L.get(name)(*_pair(1, 3, 2, 80, 80))

    def test_integer_images(self, name):
        x = torch.randint(0, 255, (1, 3, 80, 80), dtype=torch.uint8)
        with pytest.raises(TypeError, match="floating-point"):
            L.get(name)(x, x)

    def test_not_a_tensor(self, name):
        with pytest.raises(TypeError, match="torch.Tensor"):
            L.get(name)([[0.0]], torch.rand(1, 3, 80, 80))

    @pytest.mark.parametrize("bad", [float("nan"), float("inf")])
    def test_non_finite(self, name, bad):
        x, y = _pair(1, 3, 80, 80)
        x[0, 1, 5, 5] = bad
        with pytest.raises(ValueError, match="prediction contains NaN or Inf"):
            L.get(name)(x, y)
        with pytest.raises(ValueError, match="target contains NaN or Inf"):
            L.get(name)(y, x)

    def test_even_patch_in_patch_mode(self, name):
        if name in ("l1", "l2"):
            pytest.skip("per-pixel losses have no centre pixel")
        with pytest.raises(ValueError, match="odd patch sizes"):
            L.get(name, window="patch")(*_pair(2, 3, 32, 31))

    def test_empty(self, name):
        with pytest.raises(ValueError, match="must not be empty"):
            L.get(name)(*_pair(0, 3, 80, 80))


def test_large_finite_values_are_not_mistaken_for_inf():
    x = torch.full((1, 1, 40, 40), 3e37)
    assert torch.isfinite(L.l1_loss(x, x))


def test_mismatched_devices():
    if not torch.cuda.is_available():
        meta = torch.empty(1, 3, 31, 31, device="meta")
        with pytest.raises(ValueError, match="same device"):
            L.l1_loss(torch.rand(1, 3, 31, 31), meta)
    else:
        with pytest.raises(ValueError, match="same device"):
            L.l1_loss(torch.rand(1, 3, 31, 31), torch.rand(1, 3, 31, 31, device="cuda"))


def test_image_too_small_for_the_window_names_the_minimum():
    with pytest.raises(ValueError, match="at least 65 pixels"):
        L.get("ssim9")(*_pair(1, 3, 64, 100))
    with pytest.raises(ValueError, match="at least 57 pixels"):
        L.get("mix")(*_pair(1, 3, 56, 100))


def test_image_too_small_for_the_pyramid_names_the_minimum_and_the_way_out():
    with pytest.raises(ValueError, match=r"at least 161 pixels.*fewer weights"):
        L.ms_ssim(*_pair(1, 3, 160, 200), variant="pyramid")
    # three scales need (11 - 1) * 4 + 1 = 41 pixels
    value = L.ms_ssim(*_pair(1, 3, 41, 41), variant="pyramid", weights=(0.2, 0.3, 0.5))
    assert torch.isfinite(value)


def test_pyramid_is_not_available_in_patch_mode():
    with pytest.raises(ValueError, match="variant='pyramid'"):
        L.get("msssim", variant="pyramid", window="patch")
    with pytest.raises(ValueError, match="variant='pyramid'"):
        L.ms_ssim(*_pair(1, 3, 31, 31), variant="pyramid", window="patch")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"data_range": 0}, "data_range"),
        ({"data_range": float("nan")}, "data_range"),
        ({"window": "valid"}, "window must be 'patch' or 'sliding'"),
        ({"reduction": "avg"}, "reduction must be one of"),
        ({"variant": "dyadic"}, "variant must be one of"),
        ({"sigmas": ()}, "sigmas must not be empty"),
        ({"sigmas": (1.0, -2.0)}, "sigmas must be a finite positive"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.get("msssim", **kwargs)(*_pair(1, 3, 64, 64))


def test_bad_alpha_and_win_size():
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\]"):
        L.get("mix", alpha=1.5)
    with pytest.raises(ValueError, match="win_size must be a positive odd integer"):
        L.ssim(*_pair(1, 3, 64, 64), win_size=10)


class TestRegistry:
    def test_paper_names(self):
        assert isinstance(L.get("l1"), L.L1Loss)
        assert isinstance(L.get("L2"), L.L2Loss)
        assert isinstance(L.get("msssim"), L.MSSSIMLoss)
        assert isinstance(L.get("mix"), L.MixLoss)
        for name, sigma in [("ssim5", 5.0), ("ssim9", 9.0), ("ssim1.5", 1.5), ("ssim3", 3.0)]:
            loss = L.get(name)
            assert isinstance(loss, L.SSIMLoss) and loss.options.sigma == sigma

    def test_defaults_are_the_papers(self):
        mix = L.get("mix")
        assert mix.options.alpha == 0.84
        assert mix.options.sigmas == (0.5, 1.0, 2.0, 4.0, 8.0)
        assert L.get("msssim").options.variant == "gaussian"

    def test_unknown_name_lists_the_valid_ones(self):
        with pytest.raises(
            ValueError, match=r"unknown loss 'ssim'.*'l1', 'l2', 'ssimK'.*'msssim', 'mix'"
        ):
            L.get("ssim")
        with pytest.raises(ValueError, match="unknown loss 'ssim0'"):
            L.get("ssim0")

    def test_unknown_option_lists_the_valid_ones(self):
        with pytest.raises(TypeError, match=r"unknown option\(s\) \['alhpa'\].*alpha"):
            L.get("mix", alhpa=0.5)

    def test_sigma_twice(self):
        with pytest.raises(ValueError, match="fixes sigma"):
            L.get("ssim5", sigma=3)

    def test_registry_and_functional_forms_agree(self):
        x, y = _pair(2, 3, 31, 31)
        assert L.get("ssim5", window="patch")(x, y) == L.ssim_loss(x, y, sigma=5, window="patch")
        assert L.get("mix", window="patch")(x, y) == L.mix_loss(x, y, window="patch")
        assert L.get("msssim")(torch.rand(1, 3, 64, 64), torch.zeros(1, 3, 64, 64)).ndim == 0
        assert L.available() == ["l1", "l2", "ssimK", "msssim", "mix", "charbonnier", "psnr"]
