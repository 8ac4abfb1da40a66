"""The budget and the estimate (issue 34, item 4): each network architecture's throughput comes
from runs of that architecture only (finished runs, else timed steps of its first pending run),
and ``imgloss run ... --estimate`` gives the finished runs' recorded time and the unfinished
runs' estimated time before anything starts."""

from __future__ import annotations

import json

import pytest

from imgloss.cli.commands import main
from imgloss.design.experiments import PROFILES, spec, unique_runs
from imgloss.experiments import budget, campaign
from imgloss.results.workspace import Workspace
from imgloss.training.precision import ENV as PRECISION_ENV

from ..results.fake_runs import finish

SMOKE = PROFILES["smoke"]
#: Seconds per patch of the timed steps, per network (a fake :func:`budget.timed_steps`).
TIMED = {None: 0.02, "ResidualNet": 0.5, "UNet": 0.25}


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    """A results folder on the embedded photographs, float32 networks on the CPU."""
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    monkeypatch.setenv(PRECISION_ENV, "float32")
    return Workspace.resolve(tmp_path / "results", device="cpu", progress=False)


@pytest.fixture
def timed(monkeypatch) -> list:
    """Timed steps replaced by :data:`TIMED`; the list holds the configurations timed."""
    calls: list = []

    def fake(cfg, device, steps=6, root=None):
        calls.append(cfg)
        return TIMED[cfg.network]

    monkeypatch.setattr(campaign, "timed_steps", fake)
    return calls


def _record(
    folder,
    *,
    task="demosaic",
    network=None,
    phases=1,
    train_s=10.0,
    wall_s=12.0,
    patches=100,
    device="cpu",
    precision="float32",
    resumed=None,
):
    config = {"task": task, "phases": [{"loss": "l1"}] * phases}
    if network is not None:
        config["network"] = network
    record = {
        "run": {"task": task, "schedule": "l1", "seed": 0},
        "training": {
            "device": device,
            "wall_s": train_s,
            "patches": patches,
            "precision": {"network": precision},
            "resumed_from_step": resumed,
        },
        "provenance": {"wall_s": wall_s, "config": config},
    }
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(record))


def test_measured_keeps_network_architectures_apart(tmp_path):
    runs = tmp_path / "runs"
    _record(runs / "demosaic/l1/seed0-a", train_s=10, wall_s=12)  # PaperNet: 0.1 s/patch
    _record(runs / "demosaic/l2/seed0-b", train_s=20, wall_s=24)  # PaperNet: 0.2 s/patch
    _record(runs / "sr/l1/seed0-c", task="sr", train_s=30, wall_s=33)  # SRCNN: 0.3 s/patch
    _record(runs / "demosaic/l1@UNet/seed0-d", network="UNet", train_s=50, wall_s=60)
    _record(runs / "demosaic/l1@PaperNet/seed0-e", network="PaperNet", train_s=15, wall_s=18)
    # never counted: a child (its parent's training in its record), a resumed run, another
    # device, another precision
    _record(runs / "demosaic/l2-l1/seed0-f", phases=2, train_s=1, wall_s=1)
    _record(runs / "demosaic/mix/seed0-g", train_s=1, resumed=3)
    _record(runs / "demosaic/ssim5/seed0-h", train_s=1, device="cuda:0")
    _record(
        runs / "demosaic/l1@UNet/seed1-i", network="UNet", train_s=1, precision="bfloat16-autocast"
    )

    paper = budget.measured(runs, "cpu", "float32", "PaperNet")
    assert (paper.runs, paper.seconds_per_patch, paper.eval_s) == (3, 0.15, 3.0)
    assert paper.architecture == "PaperNet"
    unet = budget.measured(runs, "cpu", "float32", "UNet")
    assert (unet.runs, unet.seconds_per_patch, unet.eval_s) == (1, 0.5, 10.0)
    srcnn = budget.measured(runs, "cpu", "float32", "SRCNN")
    assert (srcnn.runs, srcnn.seconds_per_patch) == (1, 0.3)
    own = budget.measured(runs, "cpu", "float32", None)  # each task's own, no network entry
    assert (own.runs, own.seconds_per_patch) == (3, 0.2)
    assert budget.measured(runs, "cpu", "float32", "ResidualNet") is None
    bf16 = budget.measured(runs, "cpu", "bfloat16-autocast", "UNet")
    assert (bf16.runs, bf16.seconds_per_patch) == (1, 0.01)
    assert "UNet: 2 patches/s" in unet.describe() and "from 1 finished run" in unet.describe()


def _smoke_patches():
    """Patches and evaluations of the modern experiment's 8 runs of one network at smoke, in
    order (the switches' parent l2 comes first, so each switch adds its second phase only)."""
    first, second = SMOKE.steps * SMOKE.batch_size, SMOKE.switch_steps * SMOKE.batch_size
    return 6 * first + 2 * second, 8


def _timed_rate(network) -> budget.Throughput:
    per_patch = TIMED[network]
    eval_s = budget.EVAL_SHARE * per_patch * SMOKE.steps * SMOKE.batch_size
    return budget.Throughput(per_patch, eval_s, 0, "cpu", "float32", network, 7)


def test_run_within_estimates_each_run_at_its_networks_throughput(ws, timed, monkeypatch):
    """PaperNet's measured throughput fits its runs in the budget; ResidualNet's (timed on its
    first pending run) does not: the batch stops there, and what is left is costed at
    ResidualNet's and UNet's own throughputs, each timed once."""
    paper = budget.Throughput(1e-4, 0.0, 4, "cpu", "float32", "PaperNet")
    asked = []

    def fake_measured(folder, device_type, precision, architecture=None):
        asked.append((device_type, precision, architecture))
        return paper if architecture == "PaperNet" else None

    started = []
    monkeypatch.setattr(campaign, "measured", fake_measured)
    monkeypatch.setattr(campaign, "run_one", lambda run, profile, ws: started.append(run))
    monkeypatch.setattr(campaign, "save_summaries", lambda *a, **k: None)
    said: list[str] = []
    batch = campaign.run_within(10, ["modern"], SMOKE, ws, say=said.append)

    runs = unique_runs(["modern"], SMOKE)
    assert started == batch.finished == [r for r in runs if r.network is None]
    assert batch.left == [r for r in runs if r.network is not None]
    assert asked == [("cpu", "float32", n) for n in ("PaperNet", "ResidualNet", "UNet")]
    assert [(c.network, c.phases[0].loss) for c in timed] == [("ResidualNet", "l2"), ("UNet", "l2")]
    patches, evals = _smoke_patches()
    expected = sum(
        patches * _timed_rate(n).seconds_per_patch + evals * _timed_rate(n).eval_s
        for n in ("ResidualNet", "UNet")
    )
    assert batch.left_s == pytest.approx(expected)
    assert batch.throughput["ResidualNet"] == _timed_rate("ResidualNet")
    text = "\n".join(batch.describe())
    assert "ResidualNet: 2 patches/s" in text and "UNet: 4 patches/s" in text
    assert "PaperNet" not in text  # nothing of PaperNet is left
    assert any("throughput of PaperNet" in line for line in said)


def _finish(ws, run, wall_s: float) -> None:
    finish(ws, run, SMOKE, wall_s)


def test_the_estimate_adds_finished_wall_time_and_pending_patches_at_each_rate(ws, timed):
    """Two finished runs (PaperNet l1, UNet l2): their recorded time, and the 22 others at the
    throughput of their own network: PaperNet's and UNet's from their one finished run,
    ResidualNet's from timed steps of its first run."""
    _finish(ws, spec("demosaic", "l1"), 30.0)
    _finish(ws, spec("demosaic", "l2", network="UNet"), 90.0)
    plan = campaign.forecast(["modern"], SMOKE, ws)

    assert (plan.done.runs, plan.done.minutes) == (2, 2.0)
    assert len(plan.left) == 22
    assert [c.network for c in timed] == ["ResidualNet"]
    patches = SMOKE.steps * SMOKE.batch_size  # 24 per finished run of one phase
    paper, unet = plan.rates["PaperNet"], plan.rates["UNet"]
    assert (paper.runs, paper.seconds_per_patch, paper.eval_s) == (1, 24.0 / patches, 6.0)
    assert (unet.runs, unet.seconds_per_patch, unet.eval_s) == (1, 72.0 / patches, 18.0)
    assert plan.rates["ResidualNet"] == _timed_rate("ResidualNet")
    all_patches, all_evals = _smoke_patches()
    # PaperNet: l1 finished; UNet: l2 finished, so its switches add their second phase only
    assert plan.left_s["PaperNet"] == pytest.approx(
        (all_patches - patches) * paper.seconds_per_patch + (all_evals - 1) * paper.eval_s
    )
    assert plan.left_s["UNet"] == pytest.approx(
        (all_patches - patches) * unet.seconds_per_patch + (all_evals - 1) * unet.eval_s
    )
    rate = plan.rates["ResidualNet"]
    assert plan.left_s["ResidualNet"] == pytest.approx(
        all_patches * rate.seconds_per_patch + all_evals * rate.eval_s
    )


def test_cli_estimate_prints_the_finished_and_the_pending_runs(ws, timed, capsys):
    _finish(ws, spec("demosaic", "l1"), 30.0)
    _finish(ws, spec("demosaic", "l2", network="UNet"), 90.0)
    argv = ["run", "modern", "--profile", "smoke", "--estimate", "--results", str(ws.results)]
    assert main([*argv, "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("modern at smoke: 2 runs finished (took 2 min on cpu); 22 left,")
    assert lines[0].endswith("on cpu (float32) at the measured throughput")
    assert lines[1].startswith("  PaperNet: 7 left, about ")
    assert lines[1].endswith("from 1 finished run")
    assert lines[2].startswith("  ResidualNet: 8 left, about ")
    assert lines[2].endswith("from 7 timed steps")
    assert lines[3].startswith("  UNet: 7 left, about ")
    assert f"runs of data source embedded: {ws.results / 'embedded' / 'runs' / 'smoke'}" in lines
    assert not (ws.results / "embedded" / "smoke").exists()  # nothing trained, no summary
