"""Finished runs written without training: a run record as the runner writes it, with chosen
test scores and wall time, for the tests of what reads results (the budget, the estimate, the
reports)."""

from __future__ import annotations

from imgloss.design import tasks
from imgloss.design.experiments import Profile, RunSpec, run_data
from imgloss.experiments import runner
from imgloss.metrics import METRICS, MetricTable
from imgloss.results.records import RunRecord
from imgloss.results.workspace import Workspace


def finish(
    ws: Workspace,
    run: RunSpec,
    profile: Profile,
    wall_s: float = 60.0,
    scores: dict[str, float] | None = None,
) -> None:
    """Write ``run``'s record in its folder: training 80% of ``wall_s``, and every measure 0.5
    on each image of ``scores`` (``{image: psnr}``; default one image, ``"photo"``) except PSNR,
    which is the image's value."""
    data = run_data(ws.source, tasks.get(run.task), profile)
    cfg = runner.train_config(run, profile, data)
    table = MetricTable(METRICS)
    for image, psnr in (scores or {"photo": 0.5}).items():
        table.add(image, {m: psnr if m == "psnr" else 0.5 for m in METRICS})
    record = RunRecord(
        task=run.task,
        schedule=run.label,
        seed=run.seed,
        profile=profile.name,
        data=data,
        test={data.test[0].name: table},
        training={
            "device": "cpu",
            "wall_s": 0.8 * wall_s,
            "patches": cfg.total_steps * cfg.batch_size,
            "precision": {"network": "float32"},
            "resumed_from_step": None,
        },
        provenance={
            "git_commit": "abc",
            "device": "cpu",
            "wall_s": wall_s,
            "config": cfg.to_dict(),
        },
    )
    ws.register()  # the data source's record, as the runner writes it before a run
    folder = runner.run_dir(ws, run, profile)
    folder.mkdir(parents=True)
    record.save(folder / "metrics.json")
