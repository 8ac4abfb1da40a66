"""``imgloss data`` (the registered datasets and the data root's source) and the columns of
Table 1 computed from the data alone: ``imgloss baselines`` and ``imgloss bm3d``."""

from __future__ import annotations

import argparse
import sys

from imgloss.cli import options
from imgloss.cli.errors import one_line, user_input


def add_parsers(sub) -> None:
    data = sub.add_parser(
        "data",
        help="list, check or fetch the registered datasets, or name the data root's source",
        description="list: the registry; check: verify datasets under the data root; fetch: "
        "download and verify; source: print the tag of the data root's data source (the "
        "folder its results live in under results/), and describe it on stderr.",
    )
    data.add_argument("action", choices=["list", "check", "fetch", "source"])
    data.add_argument("names", nargs="*", help="dataset names (default for check: all)")
    options.add(data, "root")
    data.set_defaults(func=data_command)

    base = sub.add_parser(
        "baselines",
        help="Table 1's non-network columns (Noisy, Bilinear, Original JPEG) with all nine "
        "measures and SSIM under ssim.m's convention",
        description="Corrupt every test image of each task as the networks' inputs are "
        "corrupted, score it against the clean image with the nine measures, and write "
        "<results>/<source>/baselines/<task>.json (source: the data it was computed on) with "
        "per-image values, means, the paper's column and provenance.",
    )
    base.add_argument(
        "--task", nargs="*", default=None, choices=list(options.TASK_NAMES), help="default: all"
    )
    options.add(base, "datasets")
    base.add_argument(
        "--metrics",
        nargs="*",
        default=None,
        help="a subset of the measures (default: the nine and ssim_matlab)",
    )
    options.add(
        base,
        "results",
        "seed",
        "device",
        "root",
        seed={"help": "seed of the noise (demosaic)"},
        device={"default": "cpu", "help": "default: cpu"},
    )
    base.set_defaults(func=baselines_command)

    bm3d = sub.add_parser(
        "bm3d",
        help="Table 1's BM3D column: VST + BM3D on the mosaic + DLMMSE (needs the bm3d extra)",
        description="Denoise the demosaicking task's noisy test mosaics with the generalized "
        "Anscombe transform, BM3D and its exact unbiased inverse, demosaick with DLMMSE, and "
        "score with the nine measures. Cached per image (resumable); writes "
        "<results>/<source>/bm3d/demosaic.json. The bm3d package is non-commercial: "
        "pip install 'imgloss[bm3d]'.",
    )
    options.add(bm3d, "datasets", datasets={"help": "default: as baselines"})
    bm3d.add_argument("--layout", default="whole", choices=["whole", "planes", "tiled"])
    bm3d.add_argument("--crop", type=int, default=None, help="centre crop side (quick checks)")
    bm3d.add_argument("--images", type=int, default=None, help="first N images per dataset")
    options.add(bm3d, "seed", "results", "root")
    bm3d.set_defaults(func=bm3d_command)


def data_command(args: argparse.Namespace) -> int:
    from imgloss import data
    from imgloss.core.errors import UserError

    if args.action == "source":
        source = data.resolve_source(args.root)
        print(source.tag)
        print(source.describe(), file=sys.stderr)
        return 0
    if args.action == "list":
        for ds in data.DATASETS.values():
            print(f"{ds.name:<11s} {ds.role:<5s} {ds.count:>4d} images  {ds.licence}")
        return 0
    names = args.names or (list(data.DATASETS) if args.action == "check" else [])
    if not names:
        print(
            "name the dataset(s) to fetch, e.g. `imgloss data fetch Kodak24 --root DIR`",
            file=sys.stderr,
        )
        return 2
    status = 0
    for name in names:  # one line per dataset: a bad one does not stop the others
        try:
            folder = (
                data.check(name, args.root)
                if args.action == "check"
                else data.fetch(name, args.root)
            )
            print(f"{name}: ok ({folder})")
        except (UserError, FileNotFoundError) as err:
            print(f"{name}: {one_line(err)}", file=sys.stderr)
            status = 1
    return status


def baselines_command(args: argparse.Namespace) -> int:
    from imgloss.experiments import baselines
    from imgloss.metrics import check_metrics
    from imgloss.results import records

    if args.metrics is not None:
        with user_input():  # --metrics
            check_metrics(args.metrics)
    ws = options.workspace(args)
    paths = baselines.write_baselines(
        ws, args.task, datasets=args.datasets, seed=args.seed, metrics=args.metrics
    )
    for path in paths:
        result = records.BaselineRecord.load(path)
        print(f"\n## {result.task}: {result.column}\n")
        print(baselines.format_table(result))
        print(f"\nwrote {path}")
    return 0


def bm3d_command(args: argparse.Namespace) -> int:
    from imgloss.experiments import bm3d_baseline

    result = bm3d_baseline.run_bm3d(
        args.datasets,
        options.workspace(args),
        layout=args.layout,
        seed=args.seed,
        crop=args.crop,
        images=args.images,
    )
    for name, table in result.tables.items():
        mean = table.mean()
        print(f"{name}: PSNR {mean['psnr']:.2f} dB, SSIM {mean['ssim']:.4f}")
    print(f"wrote {args.results}/{result.source}/bm3d/demosaic.json")
    return 0
