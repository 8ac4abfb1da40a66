"""Build ``iwssim_gmsd_piq.json``: piq's IW-SSIM and GMSD on deterministic image pairs.

Run with the benchmark environment (piq imports torchvision, which does not import beside the CI's
CPU torch)::

    /work/venv-bench/bin/python tests/metrics/reference/make_iwssim_gmsd_references.py

Inputs are built without torch's RNG: NumPy ``default_rng(seed)`` noise, Pillow JPEG at quality
25 and a Gaussian blur (Pillow ``GaussianBlur``), on single channels of scikit-image's colour
photographs. piq converts RGB input to luminance, so it is fed one channel at a time (shape
``(1, 1, H, W)``, float64, values in [0, 1]) and the comparison is per channel.

Argument order. ``iwssim.m`` is ``iwssim(oimg, img)`` with the reference first; piq's
``information_weighted_ssim(x, y)`` builds its information weights (and the parent band) from
``y`` and divides by ``y``'s variance, i.e. ``piq(x, y) == iwssim(y, x)``: piq's ``x`` is the
distorted image and ``y`` the reference, the same as ``imgloss``'s ``(prediction, target)``.
Both orders are stored.

The crops include sizes whose pyramid levels have odd sides (sizes not divisible by 16): there
piq's Laplacian EXPAND (zero-interleaving to ``2 ceil(H/2)`` samples before mirroring) differs
from matlabPyrTools' ``upConv`` (mirroring the length-``H`` interleaved signal), see
``imgloss/metrics/iwssim.py``; the JSON records ``all_levels_even`` per case so the tests can
compare tightly where the two should agree.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import platform
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter
from skimage import data

OUT = Path(__file__).with_name("iwssim_gmsd_piq.json")

# (name, skimage loader, crop rows, crop cols) -- sizes chosen so that some have odd pyramid
# levels; every side is >= 176 (iwssim.m's minimum for 5 scales).
IMAGES = [
    ("astronaut", "astronaut", (0, 256), (64, 384)),  # 256 x 320: all levels even
    ("chelsea", "chelsea", (0, 300), (0, 451)),  # full 300 x 451: odd levels
    ("coffee", "coffee", (40, 232), (100, 324)),  # 192 x 224: all levels even
    ("astronaut_odd", "astronaut", (100, 283), (150, 377)),  # 183 x 227: odd levels
]
CHANNELS = (0, 1, 2)


def degrade(clean: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """``clean``: H x W uint8. Returns a uint8 or float64 [0, 1] distorted copy."""
    if kind.startswith("noise"):
        sigma = float(kind.split("_")[1])
        rng = np.random.default_rng(seed)
        return np.clip(clean / 255.0 + sigma * rng.standard_normal(clean.shape), 0.0, 1.0)
    if kind == "jpeg25":
        buf = io.BytesIO()
        Image.fromarray(clean).save(buf, format="JPEG", quality=25)
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L")) / 255.0
    if kind == "blur2":
        return np.asarray(Image.fromarray(clean).filter(ImageFilter.GaussianBlur(2))) / 255.0
    raise ValueError(kind)


KINDS = ["noise_0.02", "noise_0.05", "noise_0.1", "noise_0.2", "jpeg25", "blur2"]


def main() -> None:
    import piq  # imported here so that the tests can reuse `degrade` without piq

    torch.set_num_threads(2)
    cases = []
    for name, loader, (r0, r1), (c0, c1) in IMAGES:
        rgb = getattr(data, loader)()[r0:r1, c0:c1]
        for ch in CHANNELS:
            clean = np.ascontiguousarray(rgb[..., ch])
            for k, kind in enumerate(KINDS):
                seed = 1000 * ch + k
                dist = degrade(clean, kind, seed)
                ref_t = torch.from_numpy(clean / 255.0)[None, None]
                dist_t = torch.from_numpy(np.asarray(dist, dtype=np.float64))[None, None]
                h, w = clean.shape
                cases.append(
                    {
                        "image": name,
                        "skimage": loader,
                        "crop": [[r0, r1], [c0, c1]],
                        "channel": ch,
                        "distortion": kind,
                        "seed": seed if kind.startswith("noise") else None,
                        "shape": [h, w],
                        "all_levels_even": h % 16 == 0 and w % 16 == 0,
                        "piq_iwssim_dist_ref": piq.information_weighted_ssim(
                            dist_t, ref_t, data_range=1.0
                        ).item(),
                        "piq_iwssim_ref_dist": piq.information_weighted_ssim(
                            ref_t, dist_t, data_range=1.0
                        ).item(),
                        "piq_gmsd": piq.gmsd(dist_t, ref_t, data_range=1.0).item(),
                        "gmsd_map_pixels": ((h + 1) // 2) * ((w + 1) // 2),
                        "dist_sha256": hashlib.sha256(
                            np.ascontiguousarray(dist, dtype=np.float64).tobytes()
                        ).hexdigest(),
                    }
                )
    doc = {
        "description": (
            "piq information_weighted_ssim and gmsd on single channels of scikit-image photos"
        ),
        "recipe": {
            "images": "skimage.data.<skimage>()[r0:r1, c0:c1, channel] (uint8), reference",
            "noise_<sigma>": "clip(ref/255 + sigma * default_rng(seed).standard_normal, 0, 1)",
            "jpeg25": "Pillow JPEG quality=25 of the grey channel, decoded, /255",
            "blur2": "Pillow ImageFilter.GaussianBlur(2) of the grey channel, /255",
            "piq_call": (
                "piq.information_weighted_ssim(dist, ref) (piq's x = distorted, y = reference "
                "== iwssim.m(ref, dist)) and (ref, dist); piq.gmsd(dist, ref); "
                "inputs float64 (1, 1, H, W) in [0, 1], data_range=1"
            ),
            "gmsd_note": "piq's GMSD divides by N (population std); GMSD.m's std2 by N - 1",
        },
        "versions": {
            "piq": piq.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "date": datetime.date.today().isoformat(),
        "matlab_published": {
            "source": (
                "IQA-PyTorch ResultsCalibra/ResultsCalibra.md (commit "
                "04cbee0b9e5fd66bd5f7391b4f00e34d59d91624): original GMSD.m on rgb2gray of 5 "
                "TID2013 pairs"
            ),
            "gmsd": {"I03": 0.2203, "I04": 0.0005, "I06": 0.0004, "I08": 0.1346, "I19": 0.2050},
            "iwssim": None,
            "usable_here": False,
            "why": (
                "the TID2013 distorted images are not in skimage or shared/data; no published "
                "iwssim.m value on an available image was found"
            ),
        },
        "cases": cases,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
