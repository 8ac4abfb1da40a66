"""The main job (``imgloss reproduce``, run by ``scripts/reproduce.sh``): results and the book.

1. The demo figure comparing the losses on one photograph (``results/demo/``, not committed).
2. With a data root (``--root`` or ``$IMGLOSS_DATA_ROOT``): the baselines that are missing for its
   data, and every run of the profile that is not finished on its data (finished runs, the
   committed ones included, are reused; nothing finished is ever rewritten). Without a data root
   nothing is trained, unless training on the embedded photographs is asked for explicitly
   (``--train-embedded``); those results live apart and never replace results on real data.
3. It says what the book will show: how many runs, on which data, made at which commits, and
   how many this call trained.
4. The book, built from those results (:func:`imgloss.book.build.make`).
"""

from __future__ import annotations

import os
from pathlib import Path

from imgloss.data.source import DataSource, resolve
from imgloss.design.experiments import PROFILES
from imgloss.design.tasks import TASKS
from imgloss.results.records import SourceFolder, open_view


def _say(text: str) -> None:
    print(f"[imgloss] {text}", flush=True)


def wants_training(train_missing: bool | None, root: str | os.PathLike | None = None) -> bool:
    """Whether a notebook trains its missing runs: ``train_missing`` if given, else only when a
    data root is set (never silently on the embedded photographs)."""
    if train_missing is not None:
        return bool(train_missing)
    return resolve(root).kind == "registered"


def finished_runs(results: str | os.PathLike, source: DataSource, profile: str) -> set[Path]:
    """The folders of the finished runs of ``profile`` on ``source``."""
    runs = SourceFolder(Path(results), source.tag).runs(profile)
    return {p.parent for p in runs.glob("*/*/seed*/metrics.json")}


def train_profile(
    profile: str, source: DataSource, results: str | os.PathLike, root, progress: bool
) -> int:
    """The missing baselines and runs of ``profile`` on ``source``; returns how many runs it
    trained."""
    from imgloss.experiments.baselines import write_baselines
    from imgloss.experiments.runner import run_experiment

    folder = SourceFolder(Path(results), source.tag)
    missing = [t for t in TASKS if not folder.baseline(t).is_file()]
    if missing:
        _say(f"computing the baselines of {', '.join(missing)} on {source.describe()}")
        write_baselines(results, missing, root=root)
    before = finished_runs(results, source, profile)
    for experiment in PROFILES[profile].experiments:
        _say(f"experiment {experiment}, profile {profile}: training what is not finished")
        run_experiment(experiment, profile, results=results, root=root, progress=progress)
    return len(finished_runs(results, source, profile) - before)


def main_job(
    profile: str,
    *,
    results: str | os.PathLike = "results",
    root: str | os.PathLike | None = None,
    train_embedded: bool = False,
    build_book: bool = True,
    repo: str | os.PathLike | None = None,
    progress: bool = True,
) -> int:
    """Run the main job; return the exit status (errors raise, for the CLI to report)."""
    from imgloss.book import build as book
    from imgloss.results.estimate import describe, of_view
    from imgloss.teaching import demo

    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    repo_root = book.find_root(repo) if build_book else None
    results = Path(results).resolve()
    source = resolve(root)  # a data root that is set must be usable: refused loudly otherwise
    train = source.kind == "registered" or train_embedded
    _say(f"data: {source.describe()}")
    demo.run(results / "demo")
    _say(f"wrote {results / 'demo'} (the losses on one photograph)")
    trained = 0
    if train:
        trained = train_profile(profile, source, results, root, progress)
    else:
        _say(
            "no data root ($IMGLOSS_DATA_ROOT unset): nothing is trained; the book is built from "
            "the results in the results folder. Set IMGLOSS_DATA_ROOT to a folder of the "
            "registered datasets to train what is missing, or pass --train-embedded to train "
            "on the embedded photographs"
        )
    view = open_view(results, profile, root=root)
    if view.tag is None:
        _say(f"no results of profile {profile} to show: the book's tables will be empty")
    else:
        runs = view.runs()
        commits = sorted({c[:10] for s in view.summaries().values() for c in s.commits})
        _say(
            f"the book shows {len(runs)} runs of profile {profile} on "
            f"{view.source.describe() if view.source else '—'}, "
            f"made at commit(s) {', '.join(commits) or '—'}; trained in this call: {trained}"
        )
        _say(describe(of_view(view, PROFILES[profile].experiments)))
        if view.tag != source.tag and train:
            _say(f"to see the results on {source.tag}: imgloss book -p data_source={source.tag}")
    if repo_root is not None:  # build_book
        inside = results.is_relative_to(repo_root)  # notebooks run in the repository root
        parameters = {
            "profile": profile,
            "results": str(results.relative_to(repo_root)) if inside else str(results),
            "train_missing": train,
            "data_root": None if root is None else str(Path(root).resolve()),
        }
        html = book.make(repo_root, parameters=parameters, progress=progress)
        assert html is not None  # built
        _say(f"book: {html / 'index.html'}")
    _say(
        "commands: `source .venv/bin/activate` puts imgloss and papermill on the PATH "
        "(or call .venv/bin/imgloss, .venv/bin/papermill)"
    )
    return 0
