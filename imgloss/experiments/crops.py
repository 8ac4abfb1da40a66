"""The test images a run is scored on, and the figure crops cut from them.

:func:`test_image` gives the ``(input, target)`` pair of one test image exactly as the runner
scores it (centre crop of the profile, corruption seeded by the image's name), and
:func:`figure_boxes` the crops the runner saves of the network's output, so the figures can cut
the same crops of the input and the reference again from the data (they are pieces of dataset
images and are never committed).

The crops are chosen by the reference's region masks (:mod:`imgloss.metrics.regions`), so each
shows what a claim is about: first the window with the most **flat** pixels (where ``l2``'s
splotches and a large sigma's advantage show), then the window with the most **edge** pixels
(where a small sigma's advantage and the noise halos of SSIM show); a profile asking for more
crops gets fixed windows along the diagonal after those two.

:func:`with_context` enlarges a crop by :data:`CONTEXT` pixels on each side, the margin that the
widest loss window of the sweeps needs, and :func:`save_png` writes a crop as an 8-bit PNG.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from imgloss.core.provenance import atomic_write
from imgloss.data import load_image
from imgloss.design import tasks as T
from imgloss.design.experiments import Profile
from imgloss.functional.filters import gaussian_radius

#: The pixels of context around a crop, the radius of the widest window of the sweeps (sigma 9).
CONTEXT = gaussian_radius(9.0)


@dataclass(frozen=True, order=True)
class CropFile:
    """The name of a run's figure crop: ``<dataset>-<image stem>-<k>-<kind>.png`` (``kind``:
    ``input``, ``output`` or ``target``). Built and parsed here only: the dataset's name never
    holds a hyphen, so an image stem with hyphens survives the round trip."""

    dataset: str
    image: str  # the image's stem
    k: int
    kind: str

    def __post_init__(self) -> None:
        if "-" in self.dataset or not self.dataset:
            raise ValueError(f"a dataset name for crop files holds no hyphen: {self.dataset!r}")

    @property
    def name(self) -> str:
        return f"{self.dataset}-{self.image}-{self.k}-{self.kind}.png"

    @classmethod
    def parse(cls, name: str) -> CropFile:
        """The crop a file name stands for (a ``ValueError`` for any other name)."""
        try:
            dataset, rest = name.removesuffix(".png").split("-", 1)
            image, k, kind = rest.rsplit("-", 2)
            return cls(dataset, image, int(k), kind)
        except ValueError:
            raise ValueError(f"not a figure crop's file name: {name!r}") from None


def centre_crop(t: torch.Tensor, size: int | None) -> torch.Tensor:
    """The centre ``size x size`` crop of ``(..., H, W)`` (the whole image for ``None``)."""
    if size is None:
        return t
    h, w = t.shape[-2:]
    s = min(size, h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return t[..., top : top + s, left : left + s]


def test_image(task_name: str, profile: Profile, dataset: str, image: str, root=None):
    """The ``(input, target)`` pair a run of ``profile`` is scored on for one test image (the same
    centre crop and seeded corruption as :func:`imgloss.experiments.runner.evaluate_model`)."""
    file, pixels = load_image(dataset, image, root)  # the registered name seeds the corruption
    clean = centre_crop(T.to_tensor(pixels), profile.test_crop)
    return T.get(task_name).test_pair(clean, seed=0, dataset=dataset, image=file)


#: What each of the first figure crops shows (:func:`figure_boxes`' order).
CROP_REGIONS = ("flat region", "edge region")


def figure_boxes(target: torch.Tensor, profile: Profile) -> list[tuple]:
    """Index tuples of the profile's figure crops of a test image (``target``: ``(1, 3, H, W)``):
    the flattest window, the window with the most edges, then fixed ones (module docstring)."""
    h, w = target.shape[-2:]
    s = min(profile.crop_size, h, w)
    corners = region_corners(target, s)[: profile.crops]
    corners += crop_boxes(h, w, profile.crops - len(corners), s)
    return [(..., slice(top, top + s), slice(left, left + s)) for top, left in corners]


def region_corners(target: torch.Tensor, size: int) -> list[tuple[int, int]]:
    """``(top, left)`` of the ``size x size`` windows of ``target`` (``(1, 3, H, W)``) holding
    the largest share of flat pixels and of edge pixels, in the order of :data:`CROP_REGIONS`
    (searched on a grid of ``size // 8`` pixels)."""
    from imgloss.metrics.regions import region_masks

    edge, flat = region_masks(target[:1].float())
    stride = max(1, size // 8)
    corners = []
    for mask in (flat, edge):
        share = F.avg_pool2d(mask.float(), size, stride=stride)[0, 0]
        row, col = divmod(int(torch.argmax(share)), share.shape[1])
        corners.append((row * stride, col * stride))
    return corners


def crop_boxes(height: int, width: int, count: int, size: int) -> list[tuple[int, int]]:
    """Fixed ``(top, left)`` corners of ``count`` figure crops spread along the diagonal."""
    boxes = []
    for k in range(count):
        f = (k + 1) / (count + 1)
        boxes.append((int((height - size) * f), int((width - size) * (1 - f))))
    return boxes


def with_context(image: torch.Tensor, box: tuple, context: int = CONTEXT):
    """The crop ``box`` of ``image`` (``(1, 3, H, W)``) enlarged by ``context`` pixels on each
    side (reflected where the image ends), and the slices of the crop inside it."""
    rows, cols = box[-2], box[-1]
    padded = F.pad(image, (context,) * 4, mode="reflect")
    region = padded[..., rows.start : rows.stop + 2 * context, cols.start : cols.stop + 2 * context]
    inner = (
        slice(context, context + rows.stop - rows.start),
        slice(context, context + cols.stop - cols.start),
    )
    return region, inner


def save_png(path, t: torch.Tensor) -> None:
    """The first image of ``t`` (``(N, 3, H, W)`` in ``[0, 1]``, clipped) as an 8-bit PNG,
    written atomically."""
    from PIL import Image

    arr = (t.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).cpu().numpy()
    atomic_write(path, lambda tmp: Image.fromarray(arr).save(tmp, format="PNG"))
