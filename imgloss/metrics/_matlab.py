"""MATLAB-compatible resampling helpers shared by the metrics.

The quality measures of Table 1 were published as MATLAB code; the value of a measure on a large
image depends on how that code low-passes and subsamples it first. These helpers reproduce the
two idioms the reference implementations use, exactly (index for index), on ``(N, C, H, W)``
tensors:

* ``imfilter(img, ones(f)/f^2, 'symmetric', 'same')`` followed by ``img(1:f:end, 1:f:end)``
  (Wang's ``ssim.m`` automatic downsampling and ``msssim.m``'s pyramid): :func:`box_downsample`.
* ``conv2(img, ones(f)/f^2, 'same')`` (zero borders) followed by ``img(1:f:end, 1:f:end)``
  (Zhang's ``FeatureSIM.m`` and Xue's ``GMSD.m``): :func:`conv2_same_average_downsample`.
* the automatic scale factor ``f = max(1, round(min(M, N) / 256))``: :func:`auto_factor`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def auto_factor(height: int, width: int) -> int:
    """``max(1, round(min(H, W) / 256))`` with MATLAB's ``round`` (halves away from zero)."""
    q = min(height, width) / 256
    return max(1, int(q + 0.5))


def _symmetric_indices(start: int, length: int, size: int, device: torch.device) -> torch.Tensor:
    """Indices ``start .. start+length-1`` mirrored into ``[0, size)`` like MATLAB 'symmetric'
    padding (the edge sample is repeated: ``-1 -> 0``, ``size -> size - 1``)."""
    idx = torch.arange(start, start + length, device=device)
    period = 2 * size
    idx = torch.remainder(idx, period)
    return torch.where(idx >= size, period - 1 - idx, idx)


def box_downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """``imfilter(x, ones(f)/f^2, 'symmetric', 'same')`` then ``x(1:f:end, 1:f:end)``.

    MATLAB centres an ``f``-tap 'same' kernel on tap ``floor((f + 1) / 2)`` (1-based), so the
    output at 0-based index ``i`` averages ``x[i - c .. i - c + f - 1]`` with
    ``c = floor((f + 1) / 2) - 1``, mirrored at the borders. Keeping every ``f``-th output from
    the first gives ``ceil(H / f) x ceil(W / f)`` samples.

    Shapes: ``(N, C, H, W) -> (N, C, ceil(H / f), ceil(W / f))``; ``factor == 1`` returns ``x``.
    """
    if factor == 1:
        return x
    h, w = x.shape[-2:]
    c = (factor + 1) // 2 - 1
    out_h, out_w = -(-h // factor), -(-w // factor)
    rows = _symmetric_indices(-c, out_h * factor, h, x.device)
    cols = _symmetric_indices(-c, out_w * factor, w, x.device)
    padded = x.index_select(-2, rows).index_select(-1, cols)
    return F.avg_pool2d(padded, kernel_size=factor, stride=factor)


def conv2_same_average_downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """``conv2(x, fspecial('average', f), 'same')`` then ``x(1:f:end, 1:f:end)``.

    MATLAB's 'same' keeps the central part of the full convolution starting at index
    ``floor(f / 2) + 1``, so output ``i`` averages inputs ``i - (f - 1) // 2 .. i + f // 2``
    (zeros outside). Zero padding by those amounts followed by an ``f x f`` average pool with
    stride ``f`` yields exactly the samples ``1:f:end``: ``(N, C, ceil(H / f), ceil(W / f))``.
    """
    if factor == 1:
        return x
    before, after = (factor - 1) // 2, factor // 2
    x = F.pad(x, (before, after, before, after))
    return F.avg_pool2d(x, factor, stride=factor)
