"""The interactive sweeps: the maps are the loss and its gradient on the same crop (checked
against finite differences), and every panel has one size."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from imgloss import maps, sweeps


def _pair(size: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    y = torch.rand(1, 3, size, size, generator=g, dtype=torch.float64)
    x = (y + 0.1 * torch.randn(y.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return x, y


@pytest.mark.parametrize(
    "setting", [sweeps.sigma_settings((3,))[0], sweeps.alpha_settings((0.5,))[0]]
)
def test_the_gradient_map_is_the_derivative_of_the_crops_mean_loss(setting):
    x, y = _pair()
    box = (..., slice(20, 28), slice(24, 32))
    xc, inner = sweeps.with_context(x, box, context=30)
    yc, _ = sweeps.with_context(y, box, context=30)
    loss_map, gradient = sweeps.loss_and_gradient(setting, xc, yc, inner)
    assert loss_map.shape == gradient.shape == (8, 8)

    def mean_loss(t: torch.Tensor) -> float:
        full = maps.loss_map(setting.loss, t, yc, **dict(setting.options))
        top = (t.shape[-2] - full.shape[-2]) // 2
        rows, cols = inner
        return float(full[..., rows.start - top : rows.stop - top,
                          cols.start - top : cols.stop - top].mean())  # fmt: skip

    assert float(loss_map.mean()) == pytest.approx(mean_loss(xc), rel=1e-12)
    eps = 1e-6
    for r, c in ((2, 3), (5, 6)):
        step = torch.zeros_like(xc)
        step[..., inner[0].start + r, inner[1].start + c] = eps  # all three channels
        numeric = (mean_loss(xc + step) - mean_loss(xc - step)) / (2 * eps)
        assert gradient[r, c] == pytest.approx(numeric, rel=1e-5, abs=1e-10)


def test_the_context_is_the_crop_enlarged_with_reflected_borders():
    x, _ = _pair(32)
    box = (..., slice(0, 8), slice(10, 18))
    region, inner = sweeps.with_context(x, box, context=5)
    assert region.shape[-2:] == (18, 18)
    assert torch.equal(region[..., inner[0], inner[1]], x[box])
    assert torch.equal(region[..., 4, 5:13], x[..., 1, 10:18])  # reflected above row 0


def test_every_panel_of_a_sweep_has_one_size():
    rng = np.random.default_rng(0)
    sizes = set()
    for kind, image in (("rgb", rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)),
                        ("error", rng.random((48, 48))), ("signed", rng.normal(size=(48, 48)))):  # fmt: skip
        png = sweeps.panel(image, title=r"$\sigma_G$ = 1", kind=kind, limit=1.0)
        sizes.add(Image.open(io.BytesIO(png)).size)
    assert len(sizes) == 1


def test_a_sweep_on_any_image_without_trained_networks():
    class NoRuns:  # a view whose runs are not here
        profile = "smoke"

        def run_folder(self, *args):
            return None

    _, y = _pair(96)
    views = sweeps.for_image(NoRuns(), sweeps.alpha_settings((0.0, 1.0)), y.float(), "any")
    assert [v.setting.run for v in views] == ["mix_alpha0", "mix_alpha1"]
    assert all(v.output is None and v.loss_map.shape == v.gradient.shape for v in views)
    assert not np.allclose(views[0].loss_map, views[1].loss_map)  # alpha changes the map


def test_maps_have_a_colour_bar_and_images_keep_its_room_empty():
    rng = np.random.default_rng(1)

    def bar_area(png: bytes) -> np.ndarray:
        arr = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)
        h, w = arr.shape[:2]
        return arr[int(0.3 * h) : int(0.7 * h), int(0.80 * w) : int(0.82 * w)]

    error = sweeps.panel(rng.random((48, 48)), title="map", kind="error", limit=1.0)
    rgb = sweeps.panel(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8), title="x", kind="rgb")
    assert bar_area(error).std() > 10  # the colour ramp of the bar
    assert (bar_area(rgb) > 250).all()  # white: no bar beside an image
