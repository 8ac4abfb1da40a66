"""The numbers *reported in the paper* (Zhao et al. 2017, Table 1), for side-by-side display.

These are the paper's values on its own test set (40 MIT-Adobe FiveK images), never ours: every
table that shows them labels them as the paper's. ``l2`` and ``l1`` are stored as plain values
(the paper prints ``1000 * l2`` and ``1000 * l1``).
"""

from __future__ import annotations

_ROWS = ("l2", "psnr", "l1", "ssim", "ms_ssim", "iw_ssim", "gmsd", "fsim", "fsimc")


def _columns(columns: dict[str, tuple[float, ...]]) -> dict[str, dict[str, float]]:
    out = {}
    for column, values in columns.items():
        assert len(values) == len(_ROWS), column
        row = dict(zip(_ROWS, values, strict=True))
        row["l2"] /= 1000
        row["l1"] /= 1000
        out[column] = row
    return out


#: ``TABLE1[task][column][metric]``; columns are Table 1's (the baseline, BM3D, and the losses).
# The formatter leaves the table as printed in the paper: one row of numbers per line.
# fmt: off
TABLE1: dict[str, dict[str, dict[str, float]]] = {
    "demosaic": _columns(
        {
            "Noisy": (1.65, 28.24, 27.36, 0.8075, 0.8965, 0.8673, 0.1229, 0.9439, 0.9381),
            "BM3D": (0.45, 34.05, 14.14, 0.9479, 0.9719, 0.9597, 0.0441, 0.9744, 0.9737),
            "l2": (0.56, 33.18, 15.90, 0.9346, 0.9636, 0.9473, 0.0490, 0.9716, 0.9706),
            "l1": (0.43, 34.42, 13.47, 0.9535, 0.9745, 0.9619, 0.0434, 0.9775, 0.9767),
            "ssim5": (0.58, 33.15, 15.90, 0.9500, 0.9721, 0.9587, 0.0452, 0.9764, 0.9752),
            "ssim9": (0.61, 32.98, 16.33, 0.9495, 0.9718, 0.9582, 0.0467, 0.9759, 0.9746),
            "msssim": (0.55, 33.29, 15.99, 0.9536, 0.9741, 0.9617, 0.0437, 0.9782, 0.9769),
            "mix": (0.41, 34.61, 13.19, 0.9564, 0.9757, 0.9636, 0.0401, 0.9795, 0.9788),
        }
    ),
    "sr": _columns(
        {
            "Bilinear": (2.5697, 27.16, 28.7764, 0.8632, 0.9603, 0.9532, 0.0714, 0.9070, 0.9064),
            "l2": (1.2407, 30.66, 20.4730, 0.9274, 0.9816, 0.9868, 0.0298, 0.9600, 0.9596),
            "l1": (1.1062, 31.26, 19.0643, 0.9322, 0.9826, 0.9879, 0.0259, 0.9671, 0.9667),
            "msssim": (1.3223, 30.11, 22.3968, 0.9290, 0.9817, 0.9866, 0.0316, 0.9601, 0.9597),
            "mix": (1.0990, 31.34, 18.8983, 0.9334, 0.9829, 0.9881, 0.0255, 0.9680, 0.9677),
        }
    ),
    "jpeg": _columns(
        {
            "Original JPEG": (
                0.6463, 32.60, 16.5129, 0.9410, 0.9672, 0.9527, 0.0467, 0.9805, 0.9791
            ),
            "l2": (0.6511, 32.73, 16.2633, 0.9427, 0.9692, 0.9562, 0.0427, 0.9803, 0.9790),
            "l1": (0.6027, 32.96, 16.0687, 0.9467, 0.9714, 0.9591, 0.0413, 0.9825, 0.9809),
            "msssim": (1.9262, 27.66, 33.6134, 0.9364, 0.9674, 0.9550, 0.0468, 0.9789, 0.9705),
            "mix": (0.5580, 33.25, 15.5489, 0.9501, 0.9734, 0.9625, 0.0402, 0.9830, 0.9815),
        }
    ),
}
# fmt: on

#: The paper's test set of each task, for labels. Only the demosaicking set is described (Sec. 4.1:
#: "40 images from the same dataset", MIT-Adobe FiveK resized to 999 x 666); for super-resolution
#: and JPEG the paper does not say which images Table 1 was computed on.
PAPER_TEST_SETS = {
    "demosaic": "40 MIT-Adobe FiveK images (999 x 666), not public as a fixed split",
    "sr": "test images not named in the paper",
    "jpeg": "test images not named in the paper",
}
