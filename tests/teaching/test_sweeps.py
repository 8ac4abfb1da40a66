"""The interactive sweeps: the maps are the loss and its gradient on the same crop (checked
against finite differences), and every panel has one size."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from imgloss.teaching import maps, sweeps

ROOT = Path(__file__).resolve().parents[2]


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
        return float(
            full[..., rows.start - top : rows.stop - top, cols.start - top : cols.stop - top].mean()
        )

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
    for kind, image in (
        ("rgb", rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)),
        ("error", rng.random((48, 48))),
        ("signed", rng.normal(size=(48, 48))),
    ):
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
    assert (
        views[0].caption == "any: No network was trained with α = 0 at the smoke profile (seed 0)."
    )


def test_a_run_without_weights_is_said_to_lack_them(tmp_path):
    class WeightlessRun:  # a finished run whose folder holds no model.safetensors
        profile = "quick"

        def run_folder(self, *args):
            return tmp_path / "seed0-abc"

    (tmp_path / "seed0-abc").mkdir()
    _, y = _pair(96)
    (view,) = sweeps.for_image(WeightlessRun(), sweeps.sigma_settings((5,)), y.float(), "any")
    assert view.output is None
    assert "seed0-abc holds no weights (model.safetensors)" in view.caption


@pytest.mark.parametrize("root", [None, "without Kodak24"])
def test_the_sweep_note_gives_the_true_reason_for_leaving_the_networks_out(
    tmp_path, monkeypatch, root
):
    # The committed quick results were made on Kodak24: without a data root (and without the
    # committed crops of its test image) the note says so; with a data root that lacks Kodak24
    # it names the dataset instead of "no data root".
    from imgloss.design import experiments as design
    from imgloss.experiments import figure_inputs
    from imgloss.results.records import open_view

    monkeypatch.setattr(figure_inputs, "load", lambda *a, **k: None)

    shared = os.environ.get("IMGLOSS_DATA_ROOT")
    view = open_view(ROOT / "results", "quick")
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    if not view.summary("fig8"):
        pytest.skip("no committed fig8 results at the quick profile")
    data_root = None
    if root is not None:  # a data root holding McMaster (a demosaicking test set), not Kodak24
        if not shared or not (Path(shared) / "McMaster").is_dir():
            pytest.skip("needs McMaster under IMGLOSS_DATA_ROOT")
        (tmp_path / "McMaster").symlink_to(Path(shared) / "McMaster")
        data_root = tmp_path
    _, note = sweeps.build(view, sweeps.sigma_settings(design.FIG8_SIGMAS), "fig8", root=data_root)
    assert "the networks are not shown" in note and "Kodak24/kodim01" in note
    if root is None:
        assert "(no data root: set IMGLOSS_DATA_ROOT" in note
    else:
        assert "no data root" not in note and "dataset Kodak24" in note


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
