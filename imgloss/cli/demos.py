"""``imgloss demo`` (the losses on a photograph, or a trained network on it) and ``imgloss
losses`` (the loss names)."""

from __future__ import annotations

import argparse

from imgloss.cli import options
from imgloss.cli.errors import user_input


def add_parsers(sub) -> None:
    demo = sub.add_parser(
        "demo",
        help="compare the paper's losses on a real image and a noisy copy of it",
        description="Write losses.png and losses.json comparing l2, l1, ssim5, ssim9, msssim "
        "and mix on a real photograph degraded by clipped Gaussian noise.",
    )
    demo.add_argument("--out", default="results/demo", metavar="DIR", help="output folder")
    demo.add_argument(
        "--image",
        default=None,
        metavar="PATH",
        help="RGB image (default: Kodak24/kodim23.png under $IMGLOSS_DATA_ROOT if present, "
        "else scikit-image's bundled astronaut photograph)",
    )
    demo.add_argument(
        "--noise", type=float, default=0.1, help="std of the additive Gaussian noise (0-1 scale)"
    )
    options.add(demo, "seed", seed={"help": "seed of the noise (and of the run)"})
    demo.add_argument(
        "--network",
        default=None,
        metavar="TASK/SCHEDULE",
        help="instead of the losses: run this trained network of the results (e.g. "
        "demosaic/mix, sr/l1) on --image, corrupted as the task's test images are",
    )
    options.add(
        demo,
        "profile",
        "results",
        profile={
            "help": "the profile of --network's run (default: the longest profile that has it)"
        },
    )
    demo.set_defaults(func=demo_command)

    losses = sub.add_parser("losses", help="list the loss names accepted by imgloss.losses.get")
    losses.set_defaults(func=losses_command)


def demo_command(args: argparse.Namespace) -> int:
    from imgloss.teaching import demo

    if args.network is not None:
        return _network_demo(args)
    with user_input():  # the image, the noise level
        result = demo.run(args.out, image=args.image, noise=args.noise, seed=args.seed)
    for name, value in result["losses"].items():
        print(f"{name:>7s}  {value:.6f}")
    print(f"wrote {args.out}/losses.png and {args.out}/losses.json")
    return 0


def _network_demo(args: argparse.Namespace) -> int:
    from imgloss.core.errors import InputError
    from imgloss.results.records import open_view
    from imgloss.teaching import network_demo

    if args.image is None:
        raise InputError("--network needs --image PHOTO: the photograph to run the network on")
    network_demo.parse_network(args.network)
    profiles = [args.profile] if args.profile else ["paper", "quick", "smoke"]
    view = network_demo.choose_view(
        [open_view(args.results, p) for p in profiles], args.network, args.seed
    )
    result = network_demo.run(view, args.network, args.image, args.out, seed=args.seed)
    for where, values in (("input", result.input_measures), ("output", result.output_measures)):
        print(f"{where:>6s}  " + "  ".join(f"{k} {v:.4f}" for k, v in values.items()))
    print(
        f"wrote {', '.join(result.files)} and network.json to {args.out} "
        f"(network: {result.run_folder}, {result.profile} profile)"
    )
    return 0


def losses_command(args: argparse.Namespace) -> int:
    from imgloss import losses

    for name in losses.available():
        print(name)
    return 0
