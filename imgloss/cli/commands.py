"""Command-line interface: ``imgloss COMMAND`` (``imgloss --help`` lists them).

Each subcommand has its own parser (``_add_<command>``) and handler (``_<command>_command``),
joined by ``set_defaults(func=...)``:

========== ==============================================================================
reproduce  the main job: demo, results and the book (``scripts/reproduce.sh``)
demo       a figure and JSON comparing the losses on a photograph and a noisy copy
losses     the names :func:`imgloss.losses.get` accepts
data       list, check or fetch the registered datasets; name a data root's source
baselines  Table 1's non-network columns (Noisy, Bilinear, Original JPEG)
train      train and evaluate one run
run        an experiment at a profile (locally, on a pool of GPUs or on Slurm)
status     the state of each run of an experiment
bm3d       Table 1's BM3D column
report     Table 1, loss switching and the paper's claims decided from the results
migrate    bring an older results folder up to date (nothing retrained)
book       execute the notebooks and build the HTML book (and its PDF)
========== ==============================================================================

Examples::

    imgloss reproduce                          # the main job: results and the book
    imgloss run table1 --profile quick         # train what is missing on the data root's data
    imgloss run all --profile quick --estimate # how long the runs took (from their records)
    imgloss report --findings --json           # the paper's claims, decided
    imgloss book --pdf                         # the book, and the book as one PDF
    imgloss book --publish                     # the last build to origin's gh-pages branch
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from imgloss.design.experiments import EXPERIMENTS, PROFILES, TABLE1_LOSSES

#: The tasks, in the order of Table 1.
TASK_NAMES = tuple(TABLE1_LOSSES)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="imgloss",
        description="Loss functions of Zhao et al. (2017) for image processing, reproduced.",
    )
    from imgloss import __version__

    parser.add_argument("--version", action="version", version=f"imgloss {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo(sub)
    _add_losses(sub)
    _add_data(sub)
    _add_baselines(sub)
    _add_train(sub)
    _add_run(sub)
    _add_status(sub)
    _add_bm3d(sub)
    _add_report(sub)
    _add_migrate(sub)
    _add_reproduce(sub)
    _add_book(sub)
    return parser


def _add_demo(sub) -> None:
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
    demo.add_argument("--seed", type=int, default=0, help="seed of the noise (and of the run)")
    demo.add_argument(
        "--network",
        default=None,
        metavar="TASK/SCHEDULE",
        help="instead of the losses: run this trained network of the results (e.g. "
        "demosaic/mix, sr/l1) on --image, corrupted as the task's test images are",
    )
    demo.add_argument(
        "--profile",
        default=None,
        choices=("paper", "quick", "smoke"),
        help="the profile of --network's run (default: the longest profile that has it)",
    )
    demo.add_argument("--results", default="results", metavar="DIR", help="results folder")
    demo.set_defaults(func=_demo_command)


def _add_losses(sub) -> None:
    p = sub.add_parser("losses", help="list the loss names accepted by imgloss.losses.get")
    p.set_defaults(func=_losses_command)


def _add_data(sub) -> None:
    data = sub.add_parser(
        "data",
        help="list, check or fetch the registered datasets, or name the data root's source",
        description="list: the registry; check: verify datasets under the data root; fetch: "
        "download and verify; source: print the tag of the data root's data source (the "
        "folder its results live in under results/), and describe it on stderr.",
    )
    data.add_argument("action", choices=["list", "check", "fetch", "source"])
    data.add_argument("names", nargs="*", help="dataset names (default for check: all)")
    data.add_argument("--root", default=None, help="data root (default: $IMGLOSS_DATA_ROOT)")
    data.set_defaults(func=_data_command)


def _add_baselines(sub) -> None:
    base = sub.add_parser(
        "baselines",
        help="Table 1's non-network columns (Noisy, Bilinear, Original JPEG) with all nine "
        "measures",
        description="Corrupt every test image of each task as the networks' inputs are "
        "corrupted, score it against the clean image with the nine measures, and write "
        "<results>/<source>/baselines/<task>.json (source: the data it was computed on) with "
        "per-image values, means, the paper's column and provenance.",
    )
    base.add_argument(
        "--task", nargs="*", default=None, choices=list(TASK_NAMES), help="default: all"
    )
    base.add_argument(
        "--datasets",
        nargs="*",
        default=None,
        help="test sets (default: the task's test sets present under the data root, else the "
        "embedded scikit-image photographs)",
    )
    base.add_argument(
        "--metrics", nargs="*", default=None, help="a subset of the nine measures (default: all)"
    )
    base.add_argument(
        "--results", default="results", type=_results_folder, metavar="DIR", help="results folder"
    )
    base.add_argument("--seed", type=int, default=0, help="seed of the noise (demosaic)")
    base.add_argument("--device", default="cpu")
    base.add_argument("--root", default=None, help="data root (default: $IMGLOSS_DATA_ROOT)")
    base.set_defaults(func=_baselines_command)


def _add_train(sub) -> None:
    train = sub.add_parser(
        "train",
        help="train and evaluate one run (task, loss schedule, seed, profile)",
        description="Train one network and evaluate it on the profile's test sets; a finished "
        "run (same configuration, same data) is reused. Results go to "
        "<results>/<source>/runs/<profile>/<task>/<schedule>/seed<k>-<key>/, where <source> "
        "names the data (embedded, or registered-<checksum> for a data root).",
    )
    train.add_argument("--task", required=True, choices=list(TASK_NAMES))
    train.add_argument(
        "--loss",
        required=True,
        nargs="+",
        metavar="LOSS",
        help="the loss, or a schedule of losses, e.g. `--loss l2 l1` (l2, then l1 from the "
        "converged l2 network); names as `imgloss losses`",
    )
    train.add_argument("--alpha", type=float, default=None, help="Mix's alpha (loss mix only)")
    _run_options(train)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--patch",
        type=int,
        default=None,
        help="side of the input patches (default: the paper's 31, which gives 15 x 15 outputs; "
        "47 gives 31 x 31, the geometry ablation)",
    )
    train.add_argument(
        "--extend",
        action="store_true",
        help="the convergence probe: train the run, then continue it 50%% longer at its final "
        "learning rate (`imgloss run convergence`)",
    )
    train.set_defaults(func=_train_command)


def _add_run(sub) -> None:
    run = sub.add_parser(
        "run",
        help=f"run an experiment ({', '.join(EXPERIMENTS)}, or all) at a profile",
        description="Run every run of an experiment on the data of the data root (or the "
        "embedded photographs without one), reusing finished ones, and write "
        "<results>/<source>/<profile>/<experiment>.json (means and 95% CIs over seeds).",
    )
    run.add_argument("experiment", choices=[*EXPERIMENTS, "all"])
    _run_options(run)
    run.add_argument("--tasks", nargs="*", default=None, choices=list(TASK_NAMES))
    run.add_argument(
        "--reevaluate",
        action="store_true",
        help="score the finished runs' saved weights again (e.g. after a measure was added)",
    )
    run.add_argument(
        "--list",
        action="store_true",
        help="print one `imgloss train` command per run (to launch them as separate processes, "
        "e.g. one per GPU) instead of running",
    )
    run.add_argument(
        "--budget",
        default=None,
        metavar="TIME",
        help="train, one after another, only the runs that the measured throughput says will "
        "finish within TIME (e.g. 2h, 90m), then report what is left (in this process)",
    )
    run.add_argument(
        "--estimate",
        action="store_true",
        help="print how long the experiment's runs took, from the wall times in their records "
        "(the committed ones on a fresh clone), instead of running",
    )
    _executor_options(run)
    run.set_defaults(func=_run_command)


def _add_status(sub) -> None:
    status = sub.add_parser(
        "status",
        help="per run of an experiment: finished, queued, running, failed (with its log), "
        "interrupted or not started",
        description="The state of each run of an experiment, from the run folders and, for "
        "runs submitted to Slurm, from squeue and the jobs' files.",
    )
    status.add_argument("experiment", choices=[*EXPERIMENTS, "all"])
    status.add_argument("--profile", default=None, choices=list(PROFILES))
    status.add_argument("--results", default="results", type=_results_folder, metavar="DIR")
    status.add_argument("--root", default=None, help="data root (default: $IMGLOSS_DATA_ROOT)")
    status.add_argument("--tasks", nargs="*", default=None, choices=list(TASK_NAMES))
    status.set_defaults(func=_status_command)


def _add_bm3d(sub) -> None:
    bm3d = sub.add_parser(
        "bm3d",
        help="Table 1's BM3D column: VST + BM3D on the mosaic + DLMMSE (needs the bm3d extra)",
        description="Denoise the demosaicking task's noisy test mosaics with the generalized "
        "Anscombe transform, BM3D and its exact unbiased inverse, demosaick with DLMMSE, and "
        "score with the nine measures. Cached per image (resumable); writes "
        "<results>/<source>/bm3d/demosaic.json. The bm3d package is non-commercial: "
        "pip install 'imgloss[bm3d]'.",
    )
    bm3d.add_argument("--datasets", nargs="*", default=None, help="default: as baselines")
    bm3d.add_argument("--layout", default="whole", choices=["whole", "planes", "tiled"])
    bm3d.add_argument("--crop", type=int, default=None, help="centre crop side (quick checks)")
    bm3d.add_argument("--images", type=int, default=None, help="first N images per dataset")
    bm3d.add_argument("--seed", type=int, default=0)
    bm3d.add_argument(
        "--results", default="results", type=_results_folder, metavar="DIR", help="results folder"
    )
    bm3d.add_argument("--root", default=None, help="data root (default: $IMGLOSS_DATA_ROOT)")
    bm3d.set_defaults(func=_bm3d_command)


def _add_report(sub) -> None:
    report = sub.add_parser(
        "report",
        help="print Table 1, loss switching and the findings from the results files, ours next "
        "to the paper's",
        description="Print the results of one profile on one data source: which data, Table 1 "
        "(ours and the paper's), the loss-switching table and the check of the paper's findings.",
    )
    report.add_argument("--profile", default=None, choices=list(PROFILES))
    report.add_argument("--results", default="results", type=_results_folder, metavar="DIR")
    _source_option(report)
    report.add_argument("--root", default=None, help="data root (default: $IMGLOSS_DATA_ROOT)")
    report.add_argument(
        "--findings",
        action="store_true",
        help="only the paper's claims, each decided with statistics (holds, contradicted, "
        "undecided; effect, 95%% interval, images and seeds)",
    )
    report.add_argument("--json", action="store_true", help="with --findings: as JSON objects")
    report.set_defaults(func=_report_command)


def _add_migrate(sub) -> None:
    migrate = sub.add_parser(
        "migrate",
        help="bring a results folder written by an older imgloss up to date (nothing retrained)",
        description="Move schema 1 results under the folder of the data they were made on, name "
        "the data by checksum, re-key the runs and rewrite the summaries.",
    )
    migrate.add_argument("--results", default="results", type=_results_folder, metavar="DIR")
    migrate.add_argument(
        "--root",
        default=None,
        help="the data root the results were made with (default: "
        "$IMGLOSS_DATA_ROOT; none for results on the embedded photographs)",
    )
    migrate.set_defaults(func=_migrate_command)


def _add_reproduce(sub) -> None:
    reproduce = sub.add_parser(
        "reproduce",
        help="the main job: demo, results and the book (what scripts/reproduce.sh runs)",
        description="With a data root: compute the baselines and train every run of the "
        "profile that is not finished on that data, then build the book from them. Without one: "
        "train nothing, build the book from the committed results (and what the embedded "
        "photographs allow: the demo, the loss maps, the toy analysis). Committed files are "
        "never rewritten unless their data root is given and they are missing.",
    )
    reproduce.add_argument("--profile", default=None, choices=list(PROFILES))
    reproduce.add_argument("--results", default="results", type=_results_folder, metavar="DIR")
    reproduce.add_argument("--root", default=None, help="data root (default: $IMGLOSS_DATA_ROOT)")
    reproduce.add_argument(
        "--train-embedded",
        action="store_true",
        help="without a data root, train the profile's runs on the embedded photographs (a "
        "smoke check of the pipeline; their results never replace results on real data)",
    )
    reproduce.add_argument("--no-book", action="store_true", help="skip the book")
    reproduce.set_defaults(func=_reproduce_command)


def _add_book(sub) -> None:
    book = sub.add_parser(
        "book",
        help="execute the notebooks with papermill and build the HTML book (from a checkout)",
        description="Execute notebooks/ with papermill into book/executed/ (finished runs are "
        "reused, missing ones trained), then build the book with jupyter-book into _build/html. "
        "Examples: `imgloss book` (everything); `imgloss book --only 06 -p seed=1` (rerun one "
        "notebook with new parameters, then rebuild).",
    )
    book.add_argument(
        "--profile",
        default=None,
        choices=list(PROFILES),
        help="the runs shown (default: paper on a GPU, quick otherwise)",
    )
    book.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="NOTEBOOK",
        help="execute only these notebooks (name, number or unique part, e.g. 06 or switching)",
    )
    book.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="notebook parameter (repeatable); VALUE is read as Python/JSON when it parses, "
        "else as a string",
    )
    book.add_argument("--no-build", action="store_true", help="execute only, skip jupyter-book")
    book.add_argument("--list", action="store_true", help="list the notebooks and parameters")
    book.add_argument(
        "--pdf",
        action="store_true",
        help="also print the built book into one PDF (_build/imgloss-book.pdf) with headless "
        "Chromium; with --pdf-only, print the last build without executing anything",
    )
    book.add_argument(
        "--pdf-only", action="store_true", help="print the existing build into the PDF only"
    )
    book.add_argument(
        "--publish",
        nargs="?",
        const="origin",
        default=None,
        metavar="REMOTE",
        help="push the last build (_build/html, with the PDF when it was printed) to the "
        "gh-pages branch of REMOTE (default origin) with ghp-import, executing and building "
        "nothing; build it first with `imgloss book --pdf`",
    )
    book.add_argument(
        "--repo", default=None, help="the repository checkout (default: found from the cwd)"
    )
    book.set_defaults(func=_book_command)


def _parse_parameters(items: list[str]) -> dict:
    """``["seed=1", "profile=paper"]`` -> ``{"seed": 1, "profile": "paper"}``."""
    import ast

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"-p expects NAME=VALUE with a Python identifier, got {item!r}")
        try:
            out[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[name] = value
    return out


def _book_command(args) -> int:
    from imgloss.book import build as book

    try:
        root = book.find_root(args.repo)
        if args.publish is not None:
            commit = book.publish(root, args.publish)
            print(f"published: {args.publish} {book.PAGES_BRANCH} at {commit[:12]}")
            return 0
        if args.pdf_only:
            return _book_pdf(root)
        if args.list:
            for name in book.NOTEBOOKS:
                params = book.parameters_of(root / "notebooks" / f"{name}.ipynb")
                print(f"{name}: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
            return 0
        parameters = _parse_parameters(args.parameter)
        if "profile" in parameters and args.profile and parameters["profile"] != args.profile:
            raise ValueError("give the profile once: --profile or -p profile=..., not both")
        parameters.setdefault("profile", _default_profile(args.profile))
        # as before: the book trains a notebook's missing runs when a data root is set (None);
        # a notebook opened by hand trains nothing unless asked (its default is False)
        parameters.setdefault("train_missing", None)
        html = book.make(
            root, notebooks=args.only, parameters=parameters, build_html=not args.no_build
        )
    except (book.BookError, ValueError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 1
    if html is not None:
        print(f"book: {html / 'index.html'}")
    return _book_pdf(root) if args.pdf else 0


def _book_pdf(root) -> int:
    from imgloss.book import build as book
    from imgloss.book import pdf as book_pdf

    try:
        out = book_pdf.make_pdf(root)
    except book.BookError as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 1
    print(f"pdf: {out}")
    return 0


def _executor_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "executors",
        "how the runs are trained: in this process (the default), as a pool of processes on "
        "this machine (--workers N), or as a Slurm job array (--executor slurm)",
    )
    g.add_argument("--executor", default="local", choices=["local", "slurm"])
    g.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="local: runs at a time, each its own process (default 1: in this process)",
    )
    g.add_argument(
        "--gpus",
        default=None,
        metavar="LIST",
        help="local: the GPUs the workers share round-robin, e.g. 0,1 (default: every visible "
        "GPU when --workers > 1)",
    )
    g.add_argument(
        "--slurm-config", default=None, metavar="FILE", help="TOML file of the options below"
    )
    g.add_argument("--partition", default=None)
    g.add_argument(
        "--gpus-per-run", dest="slurm_gpus", type=_positive_int, default=None, metavar="N"
    )
    g.add_argument(
        "--cpus-per-run", dest="slurm_cpus", type=_positive_int, default=None, metavar="N"
    )
    g.add_argument("--mem-gb", type=float, default=None, help="memory per run")
    g.add_argument(
        "--time-min", type=_positive_int, default=None, help="time limit per run (requeued after)"
    )
    g.add_argument("--account", default=None)
    g.add_argument("--qos", default=None)
    g.add_argument("--array-parallelism", type=_positive_int, default=None, metavar="N")
    g.add_argument(
        "--wait",
        action="store_true",
        help="slurm: wait for the jobs, then write the summaries (default: submit and return)",
    )


def _source_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        default="auto",
        metavar="TAG",
        help="the data source whose results to show: embedded, registered-<checksum>, or auto "
        "(the data root's if it has results, else the registered data's, else the embedded "
        "photographs')",
    )


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile",
        default=None,
        choices=list(PROFILES),
        help="default: paper on a GPU, quick otherwise",
    )
    p.add_argument("--results", default="results", type=_results_folder, metavar="DIR")
    p.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    p.add_argument("--root", default=None, help="data root (default: $IMGLOSS_DATA_ROOT)")
    p.add_argument(
        "--precision",
        default=None,
        choices=["auto", "bfloat16", "float32"],
        help="the network's arithmetic for new runs (default auto: bfloat16 autocast on CUDA and "
        "on CPUs with native bf16, else float32; sets $IMGLOSS_PRECISION for worker processes)",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars or per-run summary lines (for logs)",
    )


def _default_profile(name: str | None) -> str:
    if name:
        return name
    import torch

    return "paper" if torch.cuda.is_available() else "quick"


def _user_errors() -> tuple[type[BaseException], ...]:
    """The errors a command turns into one line on stderr (imported lazily: they need torch)."""
    from imgloss import data
    from imgloss.results import records

    return (
        data.DatasetError,
        data.DataRootError,
        records.ResultsFileError,
        FileNotFoundError,
        ValueError,
        TypeError,
    )


def _user_errors_and(*more: type[BaseException]) -> tuple[type[BaseException], ...]:
    """:func:`_user_errors` and the command's own ones."""
    return (*_user_errors(), *more)


def _train_command(args: argparse.Namespace) -> int:
    from imgloss.design import experiments as design
    from imgloss.experiments import runner

    items = [
        (name, {"alpha": args.alpha}) if (name == "mix" and args.alpha is not None) else name
        for name in args.loss
    ]
    if args.alpha is not None and "mix" not in args.loss:
        print("error: --alpha applies to the mix loss only", file=sys.stderr)
        return 2
    try:
        run = design.spec(args.task, *items, seed=args.seed, patch=args.patch, extended=args.extend)
        folder = runner.run_one(
            run,
            _default_profile(args.profile),
            results=args.results,
            device=args.device,
            root=args.root,
            progress=not args.no_progress,
        )
    except _user_errors() as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 1
    print(f"finished: {folder}")
    return 0


def _list_runs(profile, experiments, args) -> None:
    """One ``imgloss train`` command per run (experiments share runs: each printed once)."""
    import shlex

    from imgloss.design import experiments as design
    from imgloss.experiments import executors

    seen = set()
    for experiment in experiments:
        for r in design.experiment_runs(experiment, profile, args.tasks):
            if r in seen:
                continue
            seen.add(r)
            command = ["imgloss", "train", *executors.run_args(r), "--profile", profile.name]
            command += ["--results", str(args.results)]
            command += ["--root", str(args.root)] if args.root else []
            print(shlex.join(command))


def _estimate(profile, experiments, args) -> int:
    from imgloss.results import estimate, records

    view = records.open_view(args.results, profile.name, root=args.root)
    est = estimate.of_view(view, experiments)
    print(estimate.describe(est))
    return 0 if est.runs else 1


def _run_command(args: argparse.Namespace) -> int:
    from imgloss import data
    from imgloss.design import experiments as design
    from imgloss.experiments import runner

    profile = design.PROFILES[_default_profile(args.profile)]
    experiments = profile.experiments if args.experiment == "all" else (args.experiment,)
    try:
        if args.list:
            _list_runs(profile, experiments, args)
            return 0
        if args.estimate:
            return _estimate(profile, experiments, args)
        if args.budget is not None:
            return _run_within_budget(profile, experiments, args)
        if args.executor == "slurm" or args.workers > 1:
            return _run_with_executor(profile, experiments, args)
        source = data.resolve_source(args.root)
        print(f"data: {source.describe()}", file=sys.stderr)
        for experiment in experiments:
            if args.reevaluate:  # rescore finished runs first; the summary below uses them
                for r in design.experiment_runs(experiment, profile, args.tasks):
                    _reevaluate_one(r, profile, args)
            runner.run_experiment(
                experiment,
                profile,
                results=args.results,
                device=args.device,
                root=args.root,
                tasks=args.tasks,
                progress=not args.no_progress,
            )
            print(f"wrote {args.results}/{source.tag}/{profile.name}/{experiment}.json")
    except _user_errors() as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 1
    return 0


def _reevaluate_one(run, profile, args) -> None:
    """Score one finished run again and say what happened to it."""
    from imgloss.experiments import executors, runner

    what = f"{run.task} {run.label} seed {run.seed}"
    missing = runner.weights_missing(run, profile, results=args.results, root=args.root)
    if missing is not None:
        train = f"imgloss train {' '.join(executors.run_args(run))} --profile {profile.name}"
        print(f"weights not present, skipped: {what} (no model.safetensors in {missing}: runs "
              f"committed by earlier versions kept none; move that folder away and `{train}` "
              "trains it again)")  # fmt: skip
        return
    folder = runner.reevaluate(run, profile, results=args.results, device=args.device,
                               root=args.root, progress=not args.no_progress)  # fmt: skip
    print(f"{'re-evaluated' if folder else 'not finished, skipped'}: {what}")


def _run_within_budget(profile, experiments, args) -> int:
    from imgloss import data
    from imgloss.experiments import budget, campaign

    seconds = budget.parse_budget(args.budget)
    if args.reevaluate or args.executor != "local" or args.workers > 1:
        raise ValueError("--budget runs in this process: leave out --reevaluate, --executor "
                         "and --workers")  # fmt: skip
    source = data.resolve_source(args.root)
    print(f"data: {source.describe()}", file=sys.stderr)
    batch = campaign.run_within(
        seconds, experiments, profile, source, results=args.results, device=args.device,
        root=args.root, tasks=args.tasks, progress=not args.no_progress,
    )  # fmt: skip
    _write_summaries(profile, experiments, args)
    print(f"budget: {len(batch.finished)} runs finished in this batch; {len(batch.left)} left")
    if batch.left:
        print(f"left, about {batch.left_s / 3600:.1f} h at the measured throughput: "
              + ", ".join(f"{r.task} {r.label} seed {r.seed}" for r in batch.left))  # fmt: skip
    return 0


def _gpu_list(value: str | None, workers: int) -> list[str] | None:
    if value is not None:
        return [g.strip() for g in value.split(",") if g.strip()] or None
    if workers <= 1:
        return None
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] or None


def _write_summaries(profile, experiments, args) -> None:
    from imgloss import data
    from imgloss.experiments import runner
    from imgloss.results.records import SourceFolder

    source = data.resolve_source(args.root)
    for experiment in experiments:
        summary = runner.summarize(experiment, profile, results=args.results, source=source)
        summary.save(SourceFolder(Path(args.results), source.tag).summary(profile.name, experiment))
        print(
            f"wrote {args.results}/{source.tag}/{profile.name}/{experiment}.json "
            f"({len(summary.runs)} runs finished)"
        )


def _run_with_executor(profile, experiments, args) -> int:
    from imgloss.experiments import executors

    if args.reevaluate:
        raise ValueError("--reevaluate runs in this process: leave out --executor/--workers")
    options = executors.SlurmOptions()
    if args.executor == "slurm":  # a bad option fails before anything is looked at
        if args.slurm_config:
            options = executors.SlurmOptions.from_file(args.slurm_config)
        options = options.with_overrides(
            partition=args.partition,
            gpus=args.slurm_gpus,
            cpus=args.slurm_cpus,
            mem_gb=args.mem_gb,
            time_min=args.time_min,
            account=args.account,
            qos=args.qos,
            array_parallelism=args.array_parallelism,
        )
    source, jobs = executors.pending_jobs(
        experiments,
        profile,
        results=args.results,
        root=args.root,
        device=args.device,
        tasks=args.tasks,
    )
    print(f"data: {source.describe()}; {len(jobs)} runs not finished", file=sys.stderr)
    if args.executor == "local":
        status = executors.run_local(
            jobs,
            source,
            workers=args.workers,
            gpus=_gpu_list(args.gpus, args.workers),
            progress=not args.no_progress,
        )
        _write_summaries(profile, experiments, args)
        failed = [job for job, code in status.items() if code != 0]
        return 1 if failed else 0
    ids = executors.submit_slurm(jobs, source, options)
    print(
        f"submitted {len(ids)} runs to Slurm" + (f" (jobs {ids[0]} ... {ids[-1]})" if ids else "")
    )
    watch = f"imgloss status {args.experiment} --profile {profile.name} --results {args.results}"
    if not args.wait:
        print(
            f"watch them with `{watch}`; run this command again to resubmit what failed and "
            "to write the summaries"
        )
        _write_summaries(profile, experiments, args)
        return 0
    states = executors.wait(
        experiments, profile, results=args.results, root=args.root, tasks=args.tasks
    )
    _write_summaries(profile, experiments, args)
    _print_states(states, failed_only=True)
    return 0 if all(s.state == "finished" for s in states) else 1


def _print_states(states, *, failed_only: bool = False) -> None:
    from collections import Counter

    for s in states:
        if failed_only and s.state == "finished":
            continue
        where = f"  job {s.job_id}" if s.job_id else ""
        log = f"  log: {s.log}" if s.log is not None and s.state == "failed" else ""
        print(
            f"{s.job.run.task:<9s} {s.job.run.label:<14s} seed {s.job.run.seed}  "
            f"{s.state}{where}{log}"
        )
    counts = Counter(s.state for s in states)
    print(", ".join(f"{n} {state}" for state, n in counts.items()) or "no runs")


def _status_command(args: argparse.Namespace) -> int:
    from imgloss.design import experiments as design
    from imgloss.experiments import executors

    profile = design.PROFILES[_default_profile(args.profile)]
    experiments = profile.experiments if args.experiment == "all" else (args.experiment,)
    states = executors.run_states(
        experiments, profile, results=args.results, root=args.root, tasks=args.tasks
    )
    _print_states(states)
    return 0


def _baselines_command(args: argparse.Namespace) -> int:
    from imgloss.experiments import baselines
    from imgloss.results import records

    try:
        paths = baselines.write_baselines(
            args.results,
            args.task,
            datasets=args.datasets,
            seed=args.seed,
            device=args.device,
            root=args.root,
            metrics=args.metrics,
        )
        for path in paths:
            result = records.BaselineRecord.load(path)
            print(f"\n## {result.task}: {result.column}\n")
            print(baselines.format_table(result))
            print(f"\nwrote {path}")
    except _user_errors() as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 1
    return 0


def _report_command(args: argparse.Namespace) -> int:
    from imgloss.report import tables as report
    from imgloss.results import records

    try:
        view = records.open_view(
            args.results, _default_profile(args.profile), source=args.source, root=args.root
        )
        if not view.summaries():
            where = f"source {view.tag}" if view.tag else "any data source"
            print(
                f"error: no results of profile {view.profile} for {where} in {args.results}: "
                f"run `imgloss run all --profile {view.profile}` first (or pick another "
                "--profile / --results)",
                file=sys.stderr,
            )
            return 1
        if args.findings:
            return _print_findings(view, as_json=args.json)
        print(f"# Results of profile `{view.profile}`\n")
        print(report.provenance_markdown(view) + "\n")
        print(report.data_markdown(view) + "\n")
        print(report.table1_markdown(view))
        print(report.switching_markdown(view))
        print(report.fig8_markdown(view))
        geometry = report.geometry_markdown(view)
        if geometry:
            print("## Patch geometry: the loss on a 15 x 15 or a 31 x 31 output\n")
            print(geometry + "\n")
        print("## The paper's claims, decided\n")
        print(report.claims_markdown(view))
    except _user_errors() as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 1
    return 0


def _print_findings(view, *, as_json: bool) -> int:
    import json

    from imgloss.report import claims
    from imgloss.report import tables as report

    found = claims.verdicts(view)
    if as_json:
        print(json.dumps([v.to_dict() | {"source_data": view.tag, "profile": view.profile}
                          for v in found], indent=2, allow_nan=False))  # fmt: skip
    else:
        print(report.claims_markdown(view))
    return 0


def _migrate_command(args: argparse.Namespace) -> int:
    from imgloss.experiments import migrate

    try:
        for line in migrate.migrate(args.results, args.root):
            print(line)
    except _user_errors_and(migrate.MigrationError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 1
    return 0


def _reproduce_command(args: argparse.Namespace) -> int:
    from imgloss.book import build as book
    from imgloss.book import reproduce

    try:
        return reproduce.main_job(
            _default_profile(args.profile),
            results=args.results,
            root=args.root,
            train_embedded=args.train_embedded,
            build_book=not args.no_book,
        )
    except _user_errors_and(book.BookError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 1


def _bm3d_command(args: argparse.Namespace) -> int:
    from imgloss.experiments import bm3d_baseline

    try:
        result = bm3d_baseline.run_bm3d(
            args.datasets,
            results=args.results,
            layout=args.layout,
            seed=args.seed,
            crop=args.crop,
            images=args.images,
            root=args.root,
        )
    except _user_errors_and(bm3d_baseline.BM3DUnavailableError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 1
    for name, table in result.tables.items():
        mean = table.mean()
        print(f"{name}: PSNR {mean['psnr']:.2f} dB, SSIM {mean['ssim']:.4f}")
    print(f"wrote {args.results}/{result.source}/bm3d/demosaic.json")
    return 0


def _data_command(args: argparse.Namespace) -> int:
    from imgloss import data

    if args.action == "source":
        try:
            source = data.resolve_source(args.root)
        except data.DataRootError as err:
            print(f"error: {_one_line(err)}", file=sys.stderr)
            return 1
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
    for name in names:
        try:
            folder = (
                data.check(name, args.root)
                if args.action == "check"
                else data.fetch(name, args.root)
            )
            print(f"{name}: ok ({folder})")
        except _user_errors() as err:
            print(f"{name}: {_one_line(err)}", file=sys.stderr)
            status = 1
    return status


def _losses_command(args: argparse.Namespace) -> int:
    from imgloss import losses

    for name in losses.available():
        print(name)
    return 0


def _demo_command(args: argparse.Namespace) -> int:
    from imgloss.teaching import demo

    if args.network is not None:
        return _network_demo(args)
    result = demo.run(args.out, image=args.image, noise=args.noise, seed=args.seed)
    for name, value in result["losses"].items():
        print(f"{name:>7s}  {value:.6f}")
    print(f"wrote {args.out}/losses.png and {args.out}/losses.json")
    return 0


def _network_demo(args: argparse.Namespace) -> int:
    from imgloss.results.records import open_view
    from imgloss.teaching import network_demo

    if args.image is None:
        raise ValueError("--network needs --image PHOTO: the photograph to run the network on")
    network_demo.parse_network(args.network)
    profiles = [args.profile] if args.profile else ["paper", "quick", "smoke"]
    view = network_demo.choose_view([open_view(args.results, p) for p in profiles],
                                    args.network, args.seed)  # fmt: skip
    result = network_demo.run(view, args.network, args.image, args.out, seed=args.seed)
    for where, values in (("input", result.input_measures), ("output", result.output_measures)):
        print(f"{where:>6s}  " + "  ".join(f"{k} {v:.4f}" for k, v in values.items()))
    print(f"wrote {', '.join(result.files)} and network.json to {args.out} "
          f"(network: {result.run_folder}, {result.profile} profile)")  # fmt: skip
    return 0


#: Optional packages and the extra of imgloss that installs them.
_EXTRAS = {
    "papermill": "book",
    "jupyter_book": "book",
    "ipykernel": "book",
    "ipywidgets": "book",
    "nbformat": "book",
    "playwright": "book",
    "bm3d": "bm3d",
}


def _one_line(err: BaseException) -> str:
    """The message of ``err`` on one line (a multi-line message is joined with ``; ``)."""
    return "; ".join(line.strip() for line in str(err).splitlines() if line.strip())


def _os_error_line(err: OSError) -> str:
    import errno

    where = err.filename or "a file"
    if err.errno == errno.ENOSPC:
        fix = "free some space, or pass --results DIR on another disk"
    elif err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        fix = "the folder is not writable: make it writable, or pass --results DIR"
    else:
        fix = "check the path and try again"
    return f"cannot write or read {where}: {err.strerror or err}; {fix}"


def user_error_line(err: BaseException) -> str | None:
    """The one line the CLI prints for a user error (bad input, damaged or missing files, a full
    disk, a non-finite loss, a missing extra), or ``None`` for a bug (its traceback is shown)."""
    from imgloss.training.trainer import CheckpointError, NonFiniteLossError

    if isinstance(err, ModuleNotFoundError) and err.name and err.name.split(".")[0] in _EXTRAS:
        extra = _EXTRAS[err.name.split(".")[0]]
        return f"the optional package {err.name} is missing: pip install 'imgloss[{extra}]'"
    if isinstance(err, NonFiniteLossError):
        return _one_line(err) + " (lower the learning rate or check the data, then run again)"
    from imgloss.experiments.executors import SlurmMissingError

    if isinstance(err, (*_user_errors(), CheckpointError, SlurmMissingError)):
        return _one_line(err)
    if isinstance(err, OSError):
        return _os_error_line(err)
    return None


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _results_folder(text: str) -> str:
    """An argparse type: a results folder (existing or not), never an existing file."""
    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r} is a file; pass the results folder (default: results)"
        )
    return text


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``imgloss train: error: ...``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status. A user error is one line on stderr and status 1
    (2 for a bad command line); an interrupted command says how to resume, status 130."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "precision", None) is not None:
        from imgloss.training.precision import ENV

        os.environ[ENV] = args.precision  # read by every run this process or its jobs start
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader went away (`imgloss report | head -1`): exit quietly
        _silence_stdout()
        return 141  # 128 + SIGPIPE, as a Unix tool killed by the signal
    except KeyboardInterrupt:
        print(
            "interrupted: finished runs and checkpoints are kept; run the same command again "
            "to resume",
            file=sys.stderr,
        )
        return 130
    except Exception as err:
        line = user_error_line(err)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
