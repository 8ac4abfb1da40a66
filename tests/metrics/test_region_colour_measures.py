"""The region and colour measures beyond Table 1: edge/flat masks, their PSNR, the chroma change.

References: scikit-image's CIELAB conversion and Gaussian derivative filter, and closed forms on
constructed images."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage import color, filters

from imgloss.metrics import evaluate
from imgloss.metrics.colour import chroma, chroma_shift, rgb_to_lab
from imgloss.metrics.regions import (
    EDGE_QUANTILE,
    FLAT_QUANTILE,
    gradient_magnitude,
    psnr_edge,
    psnr_flat,
    region_masks,
)


def _photo() -> torch.Tensor:
    from skimage import data

    return torch.from_numpy(data.astronaut()[::2, ::2].copy()).permute(2, 0, 1)[None].double() / 255


def test_rgb_to_lab_matches_scikit_image():
    x = _photo()
    ours = rgb_to_lab(x)[0].permute(1, 2, 0).numpy()
    theirs = color.rgb2lab(x[0].permute(1, 2, 0).numpy())
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_chroma_of_greys_is_zero_and_of_saturated_red_is_cielab():
    grey = torch.full((1, 3, 4, 4), 0.4, dtype=torch.float64)
    theirs = color.rgb2lab(np.full((1, 1, 3), 0.4))[0, 0]  # the white point's rounding
    assert float(chroma(grey).max()) == pytest.approx(math.hypot(theirs[1], theirs[2]), abs=1e-6)
    assert float(chroma(grey).max()) < 0.01
    red = torch.zeros(1, 3, 1, 1, dtype=torch.float64)
    red[:, 0] = 1
    lab = color.rgb2lab(np.array([[[1.0, 0, 0]]]))[0, 0]
    assert float(chroma(red)) == pytest.approx(math.hypot(lab[1], lab[2]), abs=1e-6)


def test_chroma_shift_is_negative_for_duller_colours_and_zero_for_identity():
    y = _photo()
    grey = y.mean(dim=1, keepdim=True)
    duller = grey + 0.5 * (y - grey)  # half the saturation, same mean level
    assert float(chroma_shift(y, y)) == 0.0
    shift = float(chroma_shift(duller, y))
    assert shift < 0
    # a fully grey image loses exactly the reference's mean chroma
    assert float(chroma_shift(grey.expand_as(y), y)) == pytest.approx(
        -float(chroma(y).mean()), abs=0.01
    )
    assert float(chroma_shift(y, duller)) == pytest.approx(-shift)  # antisymmetric


def test_gradient_magnitude_matches_scikit_image_gaussian_derivatives():
    y = _photo()
    ours = gradient_magnitude(y)[0, 0].numpy()
    luma = (y[0] * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1).double()).sum(0).numpy()
    smooth = filters.gaussian(luma, sigma=1.0, mode="mirror", truncate=3.5)
    gy, gx = np.gradient(smooth)
    inner = (slice(8, -8), slice(8, -8))  # borders: skimage pads differently
    np.testing.assert_allclose(ours[inner], np.hypot(gx, gy)[inner], atol=1e-3)


def test_masks_take_the_documented_shares_and_sit_where_they_should():
    y = _photo()
    edge, flat = region_masks(y)
    n = edge[0].numel()
    assert float(edge.sum()) / n == pytest.approx(1 - EDGE_QUANTILE, abs=0.01)
    assert float(flat.sum()) / n == pytest.approx(FLAT_QUANTILE, abs=0.01)
    assert not bool((edge & flat).any())
    # a vertical step: edges along the step, flat far from it
    step = torch.zeros(1, 3, 64, 64, dtype=torch.float64)
    step[..., 32:] = 1
    edge, flat = region_masks(step)
    cols = edge[0, 0].any(dim=0).nonzero().flatten().tolist()
    assert cols and min(cols) >= 27 and max(cols) <= 36  # the step, blurred by sigma = 1
    assert bool(flat[0, 0, :, :8].all()) and not bool(flat[0, 0, :, 28:36].any())


def test_region_psnr_is_the_psnr_of_the_region_pixels():
    step = torch.zeros(1, 3, 64, 64, dtype=torch.float64)
    step[..., 32:] = 1
    _edge, flat = region_masks(step)
    x = step.clone()
    x[..., :, :8] += 0.1  # error only in a flat strip
    expected_flat = 10 * math.log10(1 / (0.01 * float((flat[..., :8]).sum()) / float(flat.sum())))
    assert float(psnr_flat(x, step)) == pytest.approx(expected_flat, rel=1e-9)
    assert math.isinf(float(psnr_edge(x, step)))  # no error on the edge pixels
    # masks come from the reference only: swapping the arguments changes the pixels judged
    y = _photo()
    noisy = (y + 0.05 * torch.randn_like(y, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert float(psnr_edge(noisy, y)) != float(psnr_edge(y, noisy))


def test_constant_reference_has_no_edges_and_a_nan_edge_psnr():
    y = torch.full((1, 3, 32, 32), 0.5, dtype=torch.float64)
    edge, flat = region_masks(y)
    assert not bool(edge.any()) and bool(flat.all())
    assert math.isnan(float(psnr_edge(y + 0.01, y)))


def test_evaluate_reports_the_new_measures():
    y = _photo().float()
    grey = y.mean(dim=1, keepdim=True).expand_as(y)
    values = evaluate(grey, y, metrics=["chroma_shift", "psnr_edge", "psnr_flat"])
    assert values["chroma_shift"] < -5
    assert values["psnr_flat"] > 0 and values["psnr_edge"] > 0


def test_fsimc_never_exceeds_the_luminance_fsim_but_can_exceed_the_per_channel_mean():
    """Why our FSIMc lies above our FSIM while the paper's lies below: the paper's pattern is
    FeatureSIM.m's two outputs (luminance FSIM >= FSIMc, always); ours is the caption's mean over
    R, G and B, which per-channel noise pulls below the luminance FSIM."""
    from imgloss.design import tasks

    y = _photo().float()
    x, _ = tasks.get("demosaic").test_pair(y, seed=0, dataset="t", image="astronaut")
    x = x.clamp(0, 1)
    values = evaluate(x, y, metrics=["fsim", "fsimc", "fsim_luminance"])
    assert values["fsimc"] <= values["fsim_luminance"]
    assert values["fsim"] < values["fsimc"]  # as in our Table 1, unlike the paper's
    grey = y.mean(dim=1, keepdim=True).expand_as(y).contiguous()
    noisy_grey = (grey + 0.03 * torch.randn_like(grey[:, :1])).clamp(0, 1).expand_as(y)
    same = evaluate(noisy_grey, grey, metrics=["fsim", "fsimc", "fsim_luminance"])
    assert same["fsimc"] == pytest.approx(same["fsim_luminance"], abs=1e-6)  # no chroma: equal
    assert same["fsim"] == pytest.approx(same["fsim_luminance"], abs=1e-4)


def test_figure_crops_are_the_flattest_and_the_edgiest_windows():
    from dataclasses import replace

    from imgloss.design.experiments import PROFILES
    from imgloss.experiments.crops import CROP_REGIONS, figure_boxes

    rng = np.random.default_rng(0)
    y = torch.full((1, 3, 128, 192), 0.5, dtype=torch.float32)
    y[..., :, 128:] = torch.from_numpy(rng.random((128, 64)).astype(np.float32))  # texture
    profile = replace(PROFILES["quick"], crop_size=48, crops=3)
    boxes = figure_boxes(y, profile)
    assert len(boxes) == 3 and CROP_REGIONS == ("flat region", "edge region")
    flat, edge = boxes[0][2], boxes[1][2]  # column slices
    assert flat.stop <= 128 - 8  # inside the flat part, away from the texture
    assert edge.start >= 128  # inside the texture
    assert all(b[1].stop - b[1].start == 48 and b[2].stop - b[2].start == 48 for b in boxes)
