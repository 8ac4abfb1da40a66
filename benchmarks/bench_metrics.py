"""Benchmark: all nine Table 1 measures over Kodak24 at full resolution (768 x 512).

    python benchmarks/bench_metrics.py                    # CPU (target: under 30 s in all)
    python benchmarks/bench_metrics.py --device cuda      # GPU, images batched by shape
    python benchmarks/bench_metrics.py --json out.json --markdown out.md

The inputs are the demosaicking task's noisy test inputs (``imgloss.design.tasks``). Each measure is
timed over the whole set, in float32; on the GPU, same-sized images are scored as one batch.
Where piq is importable (it needs torchvision), its implementations of the same measures are
timed in the same run on the same per-channel inputs, for a ratio against a peer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imgloss import metrics as M
from imgloss.core.provenance import provenance
from imgloss.data import is_present, load_images
from imgloss.design import tasks as T


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _piq_cases():
    try:
        import piq
    except Exception:  # noqa: BLE001 - any import failure means "peer unavailable"
        return {}

    def per_channel(fn):
        return lambda x, y: torch.stack(
            [fn(x[:, c : c + 1], y[:, c : c + 1]) for c in range(x.shape[1])]
        )

    return {
        "ssim": per_channel(lambda x, y: piq.ssim(x, y, data_range=1.0, downsample=False)),
        "ms_ssim": per_channel(lambda x, y: piq.multi_scale_ssim(x, y, data_range=1.0)),
        "iw_ssim": per_channel(lambda x, y: piq.information_weighted_ssim(x, y, data_range=1.0)),
        "gmsd": per_channel(lambda x, y: piq.gmsd(x, y, data_range=1.0)),
        "fsim": per_channel(lambda x, y: piq.fsim(x, y, data_range=1.0, chromatic=False)),
        "fsimc": lambda x, y: piq.fsim(x, y, data_range=1.0, chromatic=True),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--dataset", default=None, help="default: Kodak24 if present, else embedded")
    p.add_argument("--json", default=None)
    p.add_argument("--markdown", default=None)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    name = args.dataset or ("Kodak24" if is_present("Kodak24") else "embedded_test")
    images, record = load_images(name)
    task = T.get("demosaic")
    groups: dict[tuple, list] = {}
    for image, img in images:
        x, y = task.test_pair(T.to_tensor(img), seed=0, dataset=name, image=image)
        groups.setdefault(tuple(y.shape), []).append((x, y))
    if device.type == "cuda":
        batches = [
            (torch.cat([x for x, _ in g]).to(device), torch.cat([y for _, y in g]).to(device))
            for g in groups.values()
        ]
    else:
        batches = [pair for g in groups.values() for pair in g]

    def run(fn) -> float:
        fn(*batches[0])  # warm-up (filter banks, kernels)
        _sync(device)
        t = time.perf_counter()
        for x, y in batches:
            fn(x, y)
        _sync(device)
        return time.perf_counter() - t

    ours = {m: run(M.metric_function(m)) for m in M.METRICS}
    peers = {m: run(fn) for m, fn in _piq_cases().items()}
    result = {
        "dataset": record,
        "images": len(images),
        "seconds": ours,
        "total_s": sum(ours.values()),
        "piq_seconds": peers,
        "provenance": provenance(device, command=" ".join(["bench_metrics.py", *sys.argv[1:]])),
    }
    lines = [
        (
            f"All nine measures over {name} ({len(images)} images, full resolution) on "
            f"{result['provenance']['device']}: **{result['total_s']:.1f} s**."
        ),
        "",
        "| measure | imgloss s | piq s (same inputs) | piq / imgloss |",
        "|---|---|---|---|",
    ]
    for m in M.METRICS:
        peer = peers.get(m)
        ratio = f"{peer / ours[m]:.2f}" if peer else "n/a"
        lines.append(
            f"| {m} | {ours[m]:.2f} | {peer:.2f} | {ratio} |"
            if peer
            else f"| {m} | {ours[m]:.2f} | n/a | n/a |"
        )
    text = "\n".join(lines)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
