"""The embedded default data: colour photographs bundled inside scikit-image (no download).

When the registered datasets are not on disk (a fresh machine with no network), the main job
still runs on these: ``embedded_test`` for evaluation and ``embedded_train`` for training. They
are few and small, so results on them are a smoke check of the pipeline, not a reproduction of
the paper's numbers; every results file names the data it was computed on.
"""

from __future__ import annotations

import numpy as np

from imgloss.core.errors import InputError

#: dataset name -> scikit-image ``skimage.data`` loaders (all bundled with the wheel).
EMBEDDED: dict[str, tuple[str, ...]] = {
    "embedded_test": ("astronaut", "chelsea", "coffee"),
    "embedded_train": (
        "rocket",
        "stereo_motorcycle",
        "immunohistochemistry",
        "hubble_deep_field",
        "colorwheel",
    ),
}


def is_embedded(name: str) -> bool:
    return name in EMBEDDED


def source() -> str:
    from importlib.metadata import version

    return f"scikit-image {version('scikit-image')} skimage.data (bundled, no download)"


def load_embedded(name: str, only: tuple[str, ...] | None = None) -> list[tuple[str, np.ndarray]]:
    """``[(image name, H x W x 3 uint8)]`` for ``embedded_test`` or ``embedded_train``
    (all its images, or those named in ``only``)."""
    from skimage import data as skdata

    if name not in EMBEDDED:
        raise InputError(f"unknown embedded dataset {name!r}; choose from {sorted(EMBEDDED)}")
    out = []
    for loader in EMBEDDED[name]:
        if only is not None and loader not in only:
            continue
        img = getattr(skdata, loader)()
        if isinstance(img, tuple):  # stereo_motorcycle returns (left, right, disparity)
            img = img[0]
        img = np.ascontiguousarray(img[..., :3])
        if img.ndim != 3 or img.dtype != np.uint8:
            raise RuntimeError(f"skimage.data.{loader}() is not an RGB uint8 image")
        out.append((loader, img))
    return out
