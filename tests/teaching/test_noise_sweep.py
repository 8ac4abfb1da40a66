"""The noise-level sweep of the interactive chapter (imgloss.teaching.noise_sweep): one noise
pattern at every level, maps that are the losses' per-pixel errors, losses that grow with the
noise, one size for every panel."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from imgloss.teaching import maps, noise_sweep


def _reference(size: int = 72, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(1, 3, size, size, generator=g), 5, 1, 2)
    return 0.35 + 0.3 * smooth  # in [0.35, 0.65]: the small levels never clip


def test_every_level_scales_one_noise_pattern_and_clips_to_the_unit_range():
    reference = _reference()
    sweep = noise_sweep.compute(reference, (0.01, 0.02, 0.2), seed=3)
    h, w = sweep[0].noisy.shape[-2:]
    top, left = (reference.shape[-2] - h) // 2, (reference.shape[-1] - w) // 2
    centre = reference[..., top : top + h, left : left + w]
    small, double, large = ((lv.noisy - centre) / lv.level for lv in sweep)
    torch.testing.assert_close(double, small, rtol=0, atol=1e-4)  # one pattern, scaled
    assert float(small.std()) == pytest.approx(1.0, abs=0.1)  # standard normal noise
    assert float(large.abs().max()) > 0 and 0 <= float(sweep[2].noisy.min())
    assert float(sweep[2].noisy.max()) <= 1  # s = 0.2 clips: the crop stays an image
    again = noise_sweep.compute(reference, (0.01,), seed=3)[0]
    other = noise_sweep.compute(reference, (0.01,), seed=4)[0]
    assert torch.equal(again.noisy, sweep[0].noisy) and not torch.equal(other.noisy, again.noisy)


def test_the_maps_are_the_losses_per_pixel_errors_on_one_region():
    reference = _reference()
    level = noise_sweep.compute(reference, (0.05,), seed=0)[0]
    shapes = {m.shape for m in level.maps.values()}
    assert len(shapes) == 1 and shapes == {tuple(level.noisy.shape[-2:])}
    assert list(level.maps) == list(noise_sweep.LOSSES)
    # the windowed losses' maps are smaller than the crop: every map is cut to Mix's region
    mix = maps.loss_map("mix", reference, reference)
    assert level.maps["mix"].shape == tuple(mix.shape[-2:]) and mix.shape[-1] < reference.shape[-1]
    h, w = level.maps["l1"].shape
    full = noise_sweep.compute(reference, (0.05,), ("l1",), seed=0)[0]  # l1 alone: no cut
    assert full.maps["l1"].shape == tuple(reference.shape[-2:])
    top = (reference.shape[-2] - h) // 2
    inner = full.maps["l1"][top : top + h, top : top + w]
    np.testing.assert_allclose(level.maps["l1"], inner, rtol=0, atol=1e-12)
    error = (full.noisy - reference).double()
    np.testing.assert_allclose(full.maps["l1"], error.abs()[0].mean(0).numpy(), atol=1e-12)
    np.testing.assert_allclose(
        noise_sweep.compute(reference, (0.05,), ("l2",), seed=0)[0].maps["l2"],
        (error**2)[0].mean(0).numpy(),
        atol=1e-12,
    )


def test_every_loss_grows_with_the_noise_and_shares_one_scale():
    sweep = noise_sweep.compute(_reference(), noise_sweep.LEVELS, seed=0)
    for name in noise_sweep.LOSSES:
        means = [float(lv.maps[name].mean()) for lv in sweep]
        assert all(a < b for a, b in itertools.pairwise(means)), (name, means)
    scale = noise_sweep.limits(sweep)
    assert set(scale) == set(noise_sweep.LOSSES)
    for name, limit in scale.items():
        assert limit == max(float(np.percentile(lv.maps[name], 99)) for lv in sweep)
        assert limit == pytest.approx(float(np.percentile(sweep[-1].maps[name], 99)))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
        noise_sweep.compute(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="standard deviations"):
        noise_sweep.compute(_reference(), (0.1, -0.1))


def test_the_slider_has_one_view_per_level():
    pytest.importorskip("ipywidgets")
    sweep = noise_sweep.compute(_reference(), (0.02, 0.1), ("l1", "l2"), seed=0)
    box = noise_sweep.slider(sweep, initial=1)
    slider, stack = box.children
    assert list(slider.options) == ["0.02", "0.1"] and slider.value == "0.1"
    assert len(stack.children) == 2
    row = stack.children[0]
    assert len(row.children) == 3  # the noisy input, then one map per loss
