"""Task definitions (test-input corruption, seeding) and the resident patch sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from imgloss.design import tasks as T
from imgloss.imaging import degradations as D
from imgloss.training.sampling import PatchSampler


def _clean(h=48, w=60, seed=0) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_task_registry_and_errors():
    assert set(T.TASKS) == {"demosaic", "sr", "jpeg"}
    assert T.get("sr").baseline == "Bilinear"
    with pytest.raises(ValueError, match="unknown task 'denoise'"):
        T.get("denoise")


def test_demosaic_test_pair_is_seeded_per_image_and_order_independent():
    task, clean = T.get("demosaic"), _clean()
    x1, y1 = task.test_pair(clean, seed=0, dataset="Kodak24", image="a.png")
    _ = task.test_pair(clean, seed=0, dataset="Kodak24", image="b.png")
    x2, _ = task.test_pair(clean, seed=0, dataset="Kodak24", image="a.png")
    x3, _ = task.test_pair(clean, seed=1, dataset="Kodak24", image="a.png")
    assert torch.equal(x1, x2) and not torch.equal(x1, x3)
    assert torch.equal(y1, clean)
    # Same recipe by hand: RGGB mosaic, clipped Poisson-Gaussian noise, bilinear demosaicking.
    gen = torch.Generator().manual_seed(T.image_seed(0, "demosaic", "Kodak24", "a.png"))
    expected = D.bilinear_demosaic(D.poisson_gaussian(D.bayer_mosaic(clean), generator=gen))
    assert torch.equal(x1, expected)


def test_sr_test_pair_crops_to_the_scale_and_jpeg_uses_quality_25():
    clean = _clean(50, 61)
    x, y = T.get("sr").test_pair(clean, seed=0, dataset="Set5", image="a")
    assert y.shape[-2:] == (48, 60) and x.shape == y.shape
    assert torch.equal(x, D.bilinear_upscale_input(y, 3))
    xj, yj = T.get("jpeg").test_pair(clean, seed=0, dataset="LIVE1", image="a")
    assert torch.equal(xj, D.jpeg(clean, 25)) and torch.equal(yj, clean)


def test_image_seed_is_stable_across_processes():
    # crc32-based: a fixed value, unlike Python's randomised hash().
    assert T.image_seed(0, "demosaic", "Kodak24", "kodim01.png") == T.image_seed(
        0, "demosaic", "Kodak24", "kodim01.png"
    )
    assert T.image_seed(0, "a") != T.image_seed(1, "a")
    assert 0 <= T.image_seed(2**40, "x") < 2**63


def _coordinate_images() -> list[torch.Tensor]:
    """Images whose pixels encode (image index, row, column), to recover where a patch came from."""
    images = []
    for k, (h, w) in enumerate([(40, 50), (33, 90)]):
        rows = torch.arange(h).view(h, 1).expand(h, w).float()
        cols = torch.arange(w).view(1, w).expand(h, w).float()
        images.append(torch.stack([torch.full((h, w), float(k)), rows, cols]))
    return images


def test_sampler_cuts_colocated_patches_with_centred_targets():
    images = _coordinate_images()
    inputs = [2 * t + 1 for t in images]
    s = PatchSampler(
        images, inputs, in_size=15, out_size=7, generator=torch.Generator().manual_seed(0)
    )
    x, y = s.sample(64)
    assert x.shape == (64, 3, 15, 15) and y.shape == (64, 3, 7, 7)
    clean_of_x = (x - 1) / 2
    # Each patch is a contiguous window of one image ...
    assert torch.equal(
        clean_of_x[:, 1, :, 0] - clean_of_x[:, 1, :1, 0], torch.arange(15.0).expand(64, 15)
    )
    assert torch.equal(
        clean_of_x[:, 2, 0, :] - clean_of_x[:, 2, 0, :1], torch.arange(15.0).expand(64, 15)
    )
    assert (clean_of_x[:, 0] == clean_of_x[:, 0, :1, :1]).all()
    # ... and the target is the centre of the same window.
    assert torch.equal(y, clean_of_x[..., 4:11, 4:11])


def test_sampler_draws_every_position_uniformly():
    images = _coordinate_images()
    s = PatchSampler(images, in_size=15, out_size=15, generator=torch.Generator().manual_seed(1))
    counts = [(40 - 14) * (50 - 14), (33 - 14) * (90 - 14)]
    assert s.positions == sum(counts)
    x, _ = s.sample(20000)
    share = (x[:, 0, 0, 0] == 1).float().mean().item()
    expected = counts[1] / sum(counts)
    assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / 20000)
    rows = x[:, 1, 0, 0][x[:, 0, 0, 0] == 0]
    assert rows.min() == 0 and rows.max() == 40 - 15  # both extremes are reachable


def test_sampler_alignment_and_reproducibility():
    images = _coordinate_images()
    s = PatchSampler(
        images, in_size=15, out_size=15, align=8, generator=torch.Generator().manual_seed(2)
    )
    x, _ = s.sample(500)
    assert (x[:, 1, 0, 0] % 8 == 0).all() and (x[:, 2, 0, 0] % 8 == 0).all()
    a = PatchSampler(images, in_size=15, out_size=9, generator=torch.Generator().manual_seed(5))
    b = PatchSampler(images, in_size=15, out_size=9, generator=torch.Generator().manual_seed(5))
    assert all(torch.equal(p, q) for p, q in zip(a.sample(32), b.sample(32), strict=True))
    unaligned = PatchSampler(
        images, in_size=15, out_size=15, generator=torch.Generator().manual_seed(3)
    )
    assert (unaligned.sample(500)[0][:, 2, 0, 0] % 8 != 0).any()


def test_sampler_bad_arguments():
    images = _coordinate_images()
    with pytest.raises(ValueError, match="clean must hold"):
        PatchSampler([], in_size=5, out_size=5)
    with pytest.raises(ValueError, match="must be even"):
        PatchSampler(images, in_size=15, out_size=8)
    with pytest.raises(ValueError, match="at least 41 x 41"):
        PatchSampler(images, in_size=41, out_size=41)
    with pytest.raises(ValueError, match="pair with clean"):
        PatchSampler(images, images[:1], in_size=5, out_size=5)
    with pytest.raises(ValueError, match="match its clean"):
        PatchSampler(images, [images[1], images[0]], in_size=5, out_size=5)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        PatchSampler([torch.zeros(1, 20, 20)], in_size=5, out_size=5)
    with pytest.raises(ValueError, match="align"):
        PatchSampler(images, in_size=5, out_size=5, align=0)
    with pytest.raises(ValueError, match="batch"):
        PatchSampler(images, in_size=5, out_size=5).sample(0)


def test_sampler_gather_and_slice_paths_cut_identical_patches():
    images = _coordinate_images()
    inputs = [t * 3 for t in images]
    a, b = (
        PatchSampler(
            images,
            inputs,
            in_size=15,
            out_size=9,
            method=m,
            generator=torch.Generator().manual_seed(9),
        )
        for m in ("gather", "slice")
    )
    for _ in range(3):
        xa, ya = a.sample(37)
        xb, yb = b.sample(37)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    with pytest.raises(ValueError, match="method"):
        PatchSampler(images, in_size=5, out_size=5, method="fast")


def test_datasets_are_tagged_only_with_real_tasks():
    from imgloss.data.registry import DATASETS

    for d in DATASETS.values():
        assert set(d.tasks) <= set(T.TASKS), (d.name, d.tasks)
    for task in T.TASKS.values():  # every test set of a task is tagged with it
        for name in task.test_sets:
            assert task.name in DATASETS[name].tasks, (task.name, name)


def test_no_code_outside_the_tasks_module_asks_which_task_it_has():
    """Task behaviour (network, corruption policy, storage, baseline extras) lives in
    imgloss.design.tasks.Task; elsewhere a task is only looked up, never compared by name."""
    import re
    from pathlib import Path

    package = Path(T.__file__).parent
    pattern = re.compile(r"""(task|task_name|\.name)\s*(==|!=)\s*["'](demosaic|sr|jpeg)["']""")
    found = [
        f"{path.relative_to(package)}:{i}"
        for path in package.rglob("*.py")
        if path.name != "tasks.py"
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found
