"""The runs: ``imgloss train`` (one run), ``imgloss run`` (an experiment, here, on a pool of
processes or on Slurm) and ``imgloss status`` (the state of each run of an experiment).

What they do is the library's (:mod:`imgloss.experiments.runner`, ``executors``, ``campaign``);
here the options are read, the workspace resolved once, and the outcome printed.
"""

from __future__ import annotations

import argparse
import sys

from imgloss.cli import options
from imgloss.core.errors import InputError


def add_parsers(sub) -> None:
    from imgloss.design.experiments import EXPERIMENTS

    train = sub.add_parser(
        "train",
        help="train and evaluate one run (task, loss schedule, seed, profile)",
        description="Train one network and evaluate it on the profile's test sets; a finished "
        "run (same configuration, same data) is reused. Results go to "
        "<results>/<source>/runs/<profile>/<task>/<schedule>/seed<k>-<key>/, where <source> "
        "names the data (embedded, or registered-<checksum> for a data root).",
    )
    train.add_argument("--task", required=True, choices=list(options.TASK_NAMES))
    train.add_argument(
        "--loss",
        required=True,
        nargs="+",
        metavar="LOSS",
        help="the loss, or a schedule of losses, e.g. `--loss l2 l1` (l2, then l1 from the "
        "converged l2 network); names as `imgloss losses`",
    )
    train.add_argument("--alpha", type=float, default=None, help="Mix's alpha (loss mix only)")
    options.add(train, *options.RUN_OPTIONS, "seed")
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
    train.add_argument(
        "--network",
        default=None,
        help="train another network than the task's (PaperNet, SRCNN, ResidualNet, UNet; "
        "default: the task's own)",
    )
    train.set_defaults(func=train_command)

    run = sub.add_parser(
        "run",
        help=f"run an experiment ({', '.join(EXPERIMENTS)}, or all) at a profile",
        description="Run every run of an experiment on the data of the data root (or the "
        "embedded photographs without one), reusing finished ones, and write "
        "<results>/<source>/<profile>/<experiment>.json (means and 95% CIs over seeds).",
    )
    options.add(run, "experiment", *options.RUN_OPTIONS, "tasks")
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
        help="print, instead of running, how long the experiment's finished runs took (the "
        "wall times in their records; the committed ones on a fresh clone) and how long the "
        "others will take at the measured throughput of each network (its finished runs, else "
        "a few timed steps)",
    )
    _executor_options(run)
    run.set_defaults(func=run_command)

    status = sub.add_parser(
        "status",
        help="per run of an experiment: finished, queued, running, failed (with its log), "
        "interrupted or not started",
        description="The state of each run of an experiment, from the run folders and, for "
        "runs submitted to Slurm, from squeue and the jobs' files.",
    )
    options.add(status, "experiment", "profile", "results", "root", "tasks")
    status.set_defaults(func=status_command)


def _executor_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "executors",
        "how the runs are trained: in this process (the default), as a pool of processes on "
        "this machine (--workers N), or as a Slurm job array (--executor slurm)",
    )
    g.add_argument("--executor", default="local", choices=["local", "slurm"])
    g.add_argument(
        "--workers",
        type=options.positive_int,
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
        "--gpus-per-run", dest="slurm_gpus", type=options.positive_int, default=None, metavar="N"
    )
    g.add_argument(
        "--cpus-per-run", dest="slurm_cpus", type=options.positive_int, default=None, metavar="N"
    )
    g.add_argument("--mem-gb", type=float, default=None, help="memory per run")
    g.add_argument(
        "--time-min",
        type=options.positive_int,
        default=None,
        help="time limit per run (requeued after)",
    )
    g.add_argument("--account", default=None)
    g.add_argument("--qos", default=None)
    g.add_argument("--array-parallelism", type=options.positive_int, default=None, metavar="N")
    g.add_argument(
        "--wait",
        action="store_true",
        help="slurm: wait for the jobs, then write the summaries (default: submit and return)",
    )


def train_command(args: argparse.Namespace) -> int:
    from imgloss.design import experiments as design
    from imgloss.experiments import runner

    items = [
        (name, {"alpha": args.alpha}) if (name == "mix" and args.alpha is not None) else name
        for name in args.loss
    ]
    if args.alpha is not None and "mix" not in args.loss:
        print("error: --alpha applies to the mix loss only", file=sys.stderr)
        return 2
    run = design.spec(
        args.task,
        *items,
        seed=args.seed,
        patch=args.patch,
        extended=args.extend,
        network=args.network,
    )
    folder = runner.run_one(run, options.default_profile(args.profile), options.workspace(args))
    print(f"finished: {folder}")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from imgloss.experiments import executors, runner

    profile = options.profile_of(args)
    experiments = options.experiments_of(args, profile)
    if args.list:
        ws = options.workspace(args)
        for line in executors.train_commands(experiments, profile, ws, args.tasks):
            print(line)
        return 0
    if args.estimate:
        from imgloss.experiments import campaign

        plan = campaign.forecast(experiments, profile, options.workspace(args), tasks=args.tasks)
        for line in plan.describe():
            print(line)
        return 0 if plan.done.runs or plan.left else 1
    if args.budget is not None:
        return _run_within_budget(profile, experiments, args)
    if args.executor == "slurm" or args.workers > 1:
        return _run_on_executor(profile, experiments, args)
    ws = options.workspace(args)
    print(f"data: {ws.source.describe()}", file=sys.stderr)
    runner.run_experiments(experiments, profile, ws, tasks=args.tasks, reevaluate=args.reevaluate)
    return 0


def _run_within_budget(profile, experiments, args: argparse.Namespace) -> int:
    from imgloss.experiments import budget, campaign

    seconds = budget.parse_budget(args.budget)
    if args.reevaluate or args.executor != "local" or args.workers > 1:
        raise InputError(
            "--budget runs in this process: leave out --reevaluate, --executor and --workers"
        )
    ws = options.workspace(args)
    print(f"data: {ws.source.describe()}", file=sys.stderr)
    batch = campaign.run_within(seconds, experiments, profile, ws, tasks=args.tasks)
    for line in batch.describe():
        print(line)
    return 0


def _run_on_executor(profile, experiments, args: argparse.Namespace) -> int:
    from imgloss.experiments import executors

    if args.reevaluate:
        raise InputError("--reevaluate runs in this process: leave out --executor/--workers")
    if args.executor == "local":
        return executors.run_pool(
            experiments,
            profile,
            options.workspace(args),
            tasks=args.tasks,
            workers=args.workers,
            gpus=_gpu_list(args.gpus, args.workers),
        )
    slurm = _slurm_options(args)  # a bad option fails before anything is looked at
    status = f"imgloss status {args.experiment} --profile {profile.name} --results {args.results}"
    return executors.run_on_slurm(
        experiments,
        profile,
        options.workspace(args),
        slurm,
        tasks=args.tasks,
        wait_for_jobs=args.wait,
        status_command=status,
    )


def _slurm_options(args: argparse.Namespace):
    from imgloss.experiments import executors

    slurm = executors.SlurmOptions()
    if args.slurm_config:
        slurm = executors.SlurmOptions.from_file(args.slurm_config)
    return slurm.with_overrides(
        partition=args.partition,
        gpus=args.slurm_gpus,
        cpus=args.slurm_cpus,
        mem_gb=args.mem_gb,
        time_min=args.time_min,
        account=args.account,
        qos=args.qos,
        array_parallelism=args.array_parallelism,
    )


def _gpu_list(value: str | None, workers: int) -> list[str] | None:
    if value is not None:
        return [g.strip() for g in value.split(",") if g.strip()] or None
    if workers <= 1:
        return None
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] or None


def status_command(args: argparse.Namespace) -> int:
    from imgloss.experiments import executors

    profile = options.profile_of(args)
    experiments = options.experiments_of(args, profile)
    states = executors.run_states(experiments, profile, options.workspace(args), args.tasks)
    for line in executors.describe_states(states):
        print(line)
    return 0
