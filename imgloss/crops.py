"""The test images a run is scored on, and the fixed figure crops cut from them.

:func:`test_image` gives the ``(input, target)`` pair of one test image exactly as the runner
scores it (centre crop of the profile, corruption seeded by the image's name), and
:func:`figure_boxes` the fixed crops the runner saves of the network's output, so the figures can
cut the same crops of the input and the reference again from the data (they are pieces of dataset
images and are never committed).
"""

from __future__ import annotations

import torch

from . import tasks as T
from .data import load_image
from .design import Profile


def centre_crop(t: torch.Tensor, size: int | None) -> torch.Tensor:
    """The centre ``size x size`` crop of ``(..., H, W)`` (the whole image for ``None``)."""
    if size is None:
        return t
    h, w = t.shape[-2:]
    s = min(size, h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return t[..., top : top + s, left : left + s]


def test_image(task_name: str, profile: Profile, dataset: str, image: str, root=None):
    """The ``(input, target)`` pair a run of ``profile`` is scored on for one test image
    (the same centre crop and seeded corruption as :func:`imgloss.runner.evaluate_model`)."""
    file, pixels = load_image(dataset, image, root)  # the registered name seeds the corruption
    clean = centre_crop(T.to_tensor(pixels), profile.test_crop)
    return T.get(task_name).test_pair(clean, seed=0, dataset=dataset, image=file)


def figure_boxes(target: torch.Tensor, profile: Profile) -> list[tuple]:
    """Index tuples of the profile's figure crops of a test image (``target``: ``(1, C, H, W)``)."""
    s = min(profile.crop_size, *target.shape[-2:])
    return [
        (..., slice(top, top + s), slice(left, left + s))
        for top, left in crop_boxes(*target.shape[-2:], profile.crops, s)
    ]


def crop_boxes(height: int, width: int, count: int, size: int) -> list[tuple[int, int]]:
    """Fixed ``(top, left)`` corners of ``count`` figure crops spread along the diagonal."""
    boxes = []
    for k in range(count):
        f = (k + 1) / (count + 1)
        boxes.append((int((height - size) * f), int((width - size) * (1 - f))))
    return boxes
