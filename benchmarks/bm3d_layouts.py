"""How to show the Bayer mosaic to BM3D, which has no CFA mode: the three layouts of
:func:`imgloss.experiments.bm3d_baseline.bm3d_demosaic` (``whole``, ``planes``, ``tiled``) scored on centre
crops of the first test images, the measurement behind the default layout (``whole``).

    python benchmarks/bm3d_layouts.py --root DATA_ROOT --out layouts.json [--images 3 --crop 256]

Needs the optional ``bm3d`` package (non-commercial licence: ``pip install imgloss[bm3d]``).
Writes PSNR and SSIM per image and their means per layout, with the provenance.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imgloss.core.provenance import provenance, write_json
from imgloss.data import load_images
from imgloss.design import tasks as T
from imgloss.experiments.bm3d_baseline import LAYOUTS, _even_crop, bm3d_demosaic, noisy_test_mosaic
from imgloss.metrics import evaluate


def compare_layouts(dataset: str, images: int, *, crop: int | None, seed: int, root) -> dict:
    """PSNR and SSIM of the three layouts on the first ``images`` images (centre crops)."""
    data, record = load_images(dataset, root)
    out: dict = {"dataset": record, "crop": crop, "layouts": {}}
    for layout in LAYOUTS:
        rows = {}
        for image, img in data[:images]:
            clean = _even_crop(T.to_tensor(img, dtype=torch.float64), crop)
            noisy = noisy_test_mosaic(clean, seed=seed, dataset=dataset, image=image)
            rows[image] = evaluate(
                bm3d_demosaic(noisy, layout=layout), clean, metrics=["psnr", "ssim"]
            )
        out["layouts"][layout] = {
            "per_image": rows,
            "mean": {m: float(np.mean([r[m] for r in rows.values()])) for m in ("psnr", "ssim")},
        }
    out["provenance"] = provenance("cpu")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="data root (default: $IMGLOSS_DATA_ROOT)")
    parser.add_argument("--dataset", default="Kodak24")
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    args = parser.parse_args()
    found = compare_layouts(
        args.dataset, args.images, crop=args.crop, seed=args.seed, root=args.root
    )
    write_json(args.out, found)
    for layout, row in found["layouts"].items():
        print(f"{layout:>6}: PSNR {row['mean']['psnr']:.2f} dB, SSIM {row['mean']['ssim']:.4f}")


if __name__ == "__main__":
    main()
