"""Build ``fsim_piq.json``: piq's FSIM / FSIMc on deterministic pairs, for tests without piq.

Run with the benchmark environment (piq imports there, not in CI)::

    /work/venv-bench/bin/python tests/metrics/reference/make_fsim_references.py

The input pairs are rebuilt bit for bit by :func:`build_cases` in the tests (no torch RNG):
scikit-image's colour photographs, cropped / mirror-padded, degraded with NumPy
``default_rng(seed)`` Gaussian noise (rounded to uint8) or Pillow JPEG, and the SHA-256 of every
uint8 array is stored so that a drift in an input (NumPy, Pillow, scikit-image) is detected
instead of being reported as a metric mismatch.

piq 0.8 differs from FeatureSIM.m in documented ways (see ``imgloss/metrics/fsim.py``); its grey
FSIM is therefore only close (~1e-5) at ``F = 1``, and further off where its ``avg_pool2d``
downsampling differs from MATLAB's ``conv2 'same'`` + ``1:F:end`` (odd sizes at ``F = 2``,
every ``F = 3`` image, and ``min(H, W) = 640`` where banker's ``round`` gives piq ``F = 2``).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("fsim_piq.json")

#: Published FeatureSIM.m values (MATLAB) for public test images, for the record. The images
#: (IQA-PyTorch's ResultsCalibra ``ref_dir`` / ``dist_dir`` BMPs) are not available offline
#: here, so they are not tested.
PUBLISHED_MATLAB = {
    "source": (
        "chaofengc/IQA-PyTorch, ResultsCalibra/results_compare/fsim_org_result.txt at commit "
        "223830bb0f312a7534a59443be5c9f5e4bbce860 (original MATLAB FeatureSIM.m output on the "
        "distorted images in ResultsCalibra/dist_dir against ref_dir; the file does not say "
        "whether it is the FSIM or the FSIMc output)"
    ),
    "values": {
        "I03.bmp": 0.6890,
        "I04.bmp": 0.9702,
        "I06.bmp": 0.9927,
        "I08.bmp": 0.9575,
        "I19.bmp": 0.8220,
    },
    "tested": False,
    "why_not_tested": "the BMP images are not in scikit-image or shared/data",
}


def _photo(name: str) -> np.ndarray:
    from skimage import data

    return getattr(data, name)()


def _geometry(img: np.ndarray, geom: list) -> np.ndarray:
    kind = geom[0]
    if kind == "crop":
        top, left, h, w = geom[1:]
        return img[top : top + h, left : left + w]
    if kind == "full":
        return img
    if kind == "reflect_pad":  # mirror-pad bottom/right to H x W (a bigger public image)
        h, w = geom[1:]
        return np.pad(img, ((0, h - img.shape[0]), (0, w - img.shape[1]), (0, 0)), mode="reflect")
    raise ValueError(geom)


def _degrade(img: np.ndarray, deg: list) -> np.ndarray:
    kind = deg[0]
    if kind == "noise":  # Gaussian noise of std sigma (0..1 scale), rounded to uint8
        sigma, seed = deg[1:]
        noise = np.random.default_rng(seed).normal(0.0, sigma * 255.0, img.shape)
        return np.clip(np.rint(img.astype(np.float64) + noise), 0, 255).astype(np.uint8)
    if kind == "jpeg":
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=deg[1])
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    raise ValueError(deg)


#: (id, photo, geometry, degradation). F = max(1, round(min(H, W) / 256)) with MATLAB round.
RECIPES = [
    ("astronaut_128x160_noise", "astronaut", ["crop", 0, 0, 128, 160], ["noise", 0.08, 1]),
    ("astronaut_127x151_jpeg", "astronaut", ["crop", 100, 90, 127, 151], ["jpeg", 25]),
    ("coffee_131x129_noise", "coffee", ["crop", 50, 200, 131, 129], ["noise", 0.1, 3]),
    ("chelsea_150x224_jpeg", "chelsea", ["crop", 50, 100, 150, 224], ["jpeg", 25]),
    # F > 1
    ("astronaut_384x384_noise", "astronaut", ["crop", 64, 64, 384, 384], ["noise", 0.05, 4]),
    ("coffee_385x387_jpeg", "coffee", ["crop", 0, 100, 385, 387], ["jpeg", 25]),  # F=2 odd
    ("astronaut_650x650_jpeg", "astronaut", ["reflect_pad", 650, 650], ["jpeg", 25]),  # F=3
    ("astronaut_640x640_noise", "astronaut", ["reflect_pad", 640, 640], ["noise", 0.05, 6]),
]


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def build_cases() -> list[dict]:
    """Rebuild every pair: ``{"id", "reference", "distorted"}`` (H x W x 3 uint8) + recipe."""
    cases = []
    for case_id, photo, geom, deg in RECIPES:
        ref = np.ascontiguousarray(_geometry(_photo(photo), geom))
        dis = _degrade(ref, deg)
        cases.append(
            {
                "id": case_id,
                "photo": f"skimage.data.{photo}()",
                "geometry": geom,
                "degradation": deg,
                "reference": ref,
                "distorted": dis,
            }
        )
    return cases


def main() -> None:
    import piq
    import skimage
    import torch

    torch.set_num_threads(2)
    records = []
    for case in build_cases():
        ref, dis = case["reference"], case["distorted"]
        x = torch.from_numpy(ref.astype(np.float64) / 255).permute(2, 0, 1)[None]
        y = torch.from_numpy(dis.astype(np.float64) / 255).permute(2, 0, 1)[None]
        grey = [
            piq.fsim(y[:, c : c + 1], x[:, c : c + 1], chromatic=False, reduction="none").item()
            for c in range(3)
        ]
        colour = piq.fsim(y, x, chromatic=True, reduction="none").item()
        h, w = ref.shape[:2]
        records.append(
            {
                "id": case["id"],
                "photo": case["photo"],
                "geometry": case["geometry"],
                "degradation": case["degradation"],
                "shape": [h, w],
                "matlab_factor": max(1, int(min(h, w) / 256 + 0.5)),
                "piq_factor": max(1, round(min(h, w) / 256)),
                "sha256_reference": _sha(ref),
                "sha256_distorted": _sha(dis),
                "piq_fsim_per_channel": grey,
                "piq_fsimc": colour,
            }
        )
        print(case["id"], grey, colour)
    payload = {
        "description": (
            "piq.fsim on single-channel images (per-channel grey FSIM, chromatic=False) and on "
            "RGB (chromatic=True, FSIMc), x=distorted, y=reference, data_range=1, float64"
        ),
        "generator": "tests/metrics/reference/make_fsim_references.py",
        "piq_version": piq.__version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "skimage_version": skimage.__version__,
        "pillow_version": __import__("PIL").__version__,
        "date": datetime.date.today().isoformat(),
        "published_matlab": PUBLISHED_MATLAB,
        "cases": records,
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
