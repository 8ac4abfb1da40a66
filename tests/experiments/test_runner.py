"""The experiment runner: run grids, output folders, reuse, final evaluation and summaries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest
import torch

from imgloss.cli.commands import main
from imgloss.design import tasks
from imgloss.experiments import runner as R
from imgloss.metrics import EXTRA_METRICS, METRICS
from imgloss.training import models
from imgloss.training.weights import WeightsError

# The smoke profile on the bundled photographs: no data root needed, seconds per run.
SMOKE = R.PROFILES["smoke"]


@pytest.fixture
def embedded(monkeypatch):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)  # no data root: the embedded photos
    torch.set_num_threads(1)


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_experiment_grids():
    one_seed = replace(SMOKE, seeds=(0,))
    table1 = R.experiment_runs("table1", one_seed)
    assert len(table1) == 6 + 4 + 4
    assert {r.label for r in table1 if r.task == "demosaic"} == {
        "l2",
        "l1",
        "ssim5",
        "ssim9",
        "msssim",
        "mix",
    }
    assert [r.label for r in R.experiment_runs("fig8", one_seed)] == [
        "ssim1",
        "ssim3",
        "ssim5",
        "ssim9",
    ]
    assert [r.label for r in R.experiment_runs("switching", one_seed)] == [
        "l1-l2",
        "l2-l1",
        "l1-l1",
        "l2-l2",
    ]
    alpha = [r.label for r in R.experiment_runs("alpha", one_seed)]
    assert alpha == ["mix_alpha0", "mix_alpha0.25", "mix_alpha0.5", "mix", "mix_alpha1"]
    assert len(R.experiment_runs("table1", R.PROFILES["paper"])) == 14 * 3
    assert len(R.experiment_runs("table1", one_seed, ["sr"])) == 4
    with pytest.raises(ValueError, match="unknown experiment"):
        R.experiment_runs("fig9", one_seed)


def test_quick_seeds_table1_and_switching_three_times_and_the_rest_once():
    quick = R.PROFILES["quick"]
    table1 = R.experiment_runs("table1", quick)
    assert {task: sorted({r.seed for r in table1 if r.task == task}) for task in tasks.TASKS} == {
        "demosaic": [0, 1, 2],
        "sr": [0, 1, 2],
        "jpeg": [0, 1, 2],
    }
    assert len(table1) == (6 + 4 + 4) * 3
    assert len(R.experiment_runs("switching", quick)) == 4 * 3
    assert {r.seed for r in R.experiment_runs("alpha", quick)} == {0}
    assert [r.seed for r in table1[:14]] == [0] * 14  # seed by seed: a partial job has whole seeds
    assert quick.test_image_count("demosaic") is None and quick.test_image_count("jpeg") == 8


def test_geometry_runs_train_on_47_pixel_inputs_and_compare_with_the_profile(embedded):
    from imgloss.data.source import resolve

    quick = R.PROFILES["quick"]
    runs = R.experiment_runs("geometry", quick)
    assert [r.label for r in runs[:3]] == ["l1@patch47", "msssim@patch47", "mix@patch47"]
    assert sorted({r.seed for r in runs}) == [0, 1, 2] and len(runs) == 9
    data = R.run_data(resolve(None), tasks.get("demosaic"), quick)
    assert R.train_config(runs[0], quick, data).patch == 47
    assert R.train_config(R.spec("demosaic", "l1"), quick, data).patch == 31
    # the key tells the geometries apart
    assert R.run_key(runs[0], quick, data) != R.run_key(R.spec("demosaic", "l1"), quick, data)
    # a profile on the larger geometry compares against the paper's 31 x 31 inputs instead
    wide = replace(quick, patch=47)
    assert {r.patch for r in R.experiment_runs("geometry", wide)} == {31}
    assert R.train_config(R.spec("demosaic", "l1"), wide, data).patch == 47


def test_run_dir_is_derived_from_the_whole_configuration(tmp_path, embedded):
    run = R.spec("demosaic", "l2", "l1", seed=1)
    assert run.parent() == R.spec("demosaic", "l2", seed=1)
    a = R.run_dir(tmp_path, run, SMOKE)
    assert a == R.run_dir(tmp_path, R.spec("demosaic", "l2", "l1", seed=1), SMOKE)
    assert a.parts[-6:-1] == ("embedded", "runs", "smoke", "demosaic", "l2-l1")
    assert a.name.startswith("seed1-")
    assert a != R.run_dir(tmp_path, run, replace(SMOKE, steps=7))
    assert a != R.run_dir(tmp_path, run, replace(SMOKE, test_images=2))
    assert a != R.run_dir(tmp_path, R.spec("demosaic", "l2", "l1", seed=2), SMOKE)
    assert a != R.run_dir(tmp_path, run, replace(SMOKE, switch_lr=1e-3))
    # the switch continues at a tenth of the learning rate, for switch_steps steps
    from imgloss.data import embedded_source

    data = R.run_data(embedded_source(), tasks.get("demosaic"), SMOKE)
    phases = R.train_config(run, SMOKE, data).phases
    assert [(p.loss, p.steps, p.lr) for p in phases] == [
        ("l2", SMOKE.steps, SMOKE.lr),
        ("l1", SMOKE.switch_steps, SMOKE.switch_lr),
    ]
    assert SMOKE.switch_lr == SMOKE.lr / 10


def test_run_one_writes_metrics_curves_weights_crops_and_provenance(tmp_path, embedded):
    run = R.spec("jpeg", "mix", seed=0)
    folder = R.run_one(run, SMOKE, results=tmp_path, device="cpu", progress=False)
    assert folder.relative_to(tmp_path).parts[:3] == ("embedded", "runs", "smoke")
    assert (tmp_path / "embedded" / "source.json").is_file()
    m = _metrics(folder)
    assert m["kind"] == "run" and m["schema_version"] == 2
    assert m["data"]["train"]["name"] == "embedded_train"
    assert [d["name"] for d in m["data"]["test"]] == ["embedded_test"]
    assert list(m["test"]) == ["embedded_test"]
    table = m["test"]["embedded_test"]
    assert tuple(table["metrics"]) == METRICS + EXTRA_METRICS and len(table["per_image"]) == 1
    assert m["run"] == {"task": "jpeg", "schedule": "mix", "seed": 0}
    prov = m["provenance"]
    assert prov["profile"] == "smoke" and prov["device"].startswith("cpu")
    assert prov["train_data"]["name"] == "embedded_train"
    assert prov["test_data"][0]["name"] == "embedded_test" and prov["wall_s"] > 0
    assert {"git_commit", "versions", "date_utc", "config"} <= set(prov)
    assert prov["source"] == "embedded" and len(prov["train_data"]["checksum"]) == 64
    assert "/" not in json.dumps(prov["train_data"])  # data by name and checksum, not a path
    assert (folder / "model.safetensors").is_file() and (folder / "curves.json").is_file()
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert m["weights"] == {
        "file": "model.safetensors",
        "sha256": digest,
        "bytes": (folder / "model.safetensors").stat().st_size,
    }
    kinds = sorted(p.name.rsplit("-", 1)[1] for p in (folder / "crops").glob("*.png"))
    assert kinds == sorted(["input.png", "output.png", "target.png"] * 2)  # flat and edge crops
    # A finished run is reused, not retrained.
    stamp = (folder / "metrics.json").stat().st_mtime_ns
    assert R.run_one(run, SMOKE, results=tmp_path, device="cpu", progress=False) == folder
    assert (folder / "metrics.json").stat().st_mtime_ns == stamp


def test_switching_run_continues_from_its_finished_parent(tmp_path, embedded):
    folder = R.run_one(
        R.spec("demosaic", "l2", "l1"), SMOKE, results=tmp_path, device="cpu", progress=False
    )
    parent = R.run_dir(tmp_path, R.spec("demosaic", "l2"), SMOKE)
    assert R.is_finished(parent)
    curves = json.loads((folder / "curves.json").read_text())["curves"]
    assert [c["loss"] for c in curves] == ["l2", "l2", "l1", "l1"]
    parent_curves = json.loads((parent / "curves.json").read_text())["curves"]
    assert curves[:2] == parent_curves


def test_weights_are_checked_against_their_record_before_use(tmp_path, embedded, capsys):
    # A damaged or replaced model.safetensors is refused by name, wherever it would be used:
    # re-evaluation, the sweeps (run_weights) and a child run continuing from it.
    parent = R.spec("demosaic", "l2")
    folder = R.run_one(parent, SMOKE, results=tmp_path, device="cpu", progress=False)
    (folder / "checkpoint.pt").unlink()  # as on a fresh clone: only the committed final state
    record = R.finished_record(folder)
    assert R.run_weights(folder, record).keys() == models.for_task("demosaic").state_dict().keys()
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-1] ^= 1  # one flipped bit in the last weight
    (folder / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"model.safetensors: SHA-256 .* does not match"):
        R.run_weights(folder, record)
    with pytest.raises(WeightsError, match="does not match its run record"):
        R.run_one(
            R.spec("demosaic", "l2", "l1"), SMOKE, results=tmp_path, device="cpu", progress=False
        )
    argv = [
        "run",
        "table1",
        "--profile",
        "smoke",
        "--tasks",
        "demosaic",
        "--reevaluate",
        "--results",
        str(tmp_path),
        "--no-progress",
    ]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "does not match its run record" in err and "Traceback" not in err


def test_summary_has_means_and_confidence_intervals_over_seeds(tmp_path, embedded):
    two = replace(SMOKE, seeds=(0, 1))
    R.run_experiment("table1", two, results=tmp_path, device="cpu", tasks=["sr"], progress=False)
    summary = json.loads((tmp_path / "embedded" / "smoke" / "table1.json").read_text())
    cell = summary["tasks"]["sr"]["l1"]["embedded_test"]["psnr"]
    assert cell["seeds"] == 2 and cell["ci95"] is not None and cell["ci95"] >= 0
    assert len(cell["values"]) == 2 and cell["mean"] == pytest.approx(sum(cell["values"]) / 2)
    assert set(summary["tasks"]["sr"]) == {"l2", "l1", "msssim", "mix"}
    assert summary["source"] == "embedded" and len(summary["runs"]) == 8
    from imgloss.report.tables import table1_markdown
    from imgloss.results.records import open_view

    text = table1_markdown(open_view(tmp_path, "smoke"))
    assert "Super-resolution (x3), embedded_test" in text and "seeds per cell: 2" in text
    assert summary["images"]["sr"]["embedded_test"] == ["astronaut"]  # smoke: 1 image
    assert summary["evaluation"]["test_crop"] == 192
    assert " ± " in text and "**" in text  # CIs, and the best of ours in bold
    assert "The paper's Table 1, Super-resolution" in text and "31.34" in text  # labelled
    from imgloss.results.records import ci95

    assert ci95([1.0]) is None
    assert ci95([1.0, 3.0]) == pytest.approx(12.7062 * 2**0.5 / 2**0.5, rel=1e-4)
    assert ci95([0.0, 1.0] * 10) == pytest.approx(2.0930 * 0.51299 / 20**0.5, rel=1e-4)  # t, 19 df


def test_cli_train_and_list(tmp_path, embedded, capsys):
    assert (
        main(
            [
                "train",
                "--task",
                "sr",
                "--loss",
                "l1",
                "--profile",
                "smoke",
                "--results",
                str(tmp_path),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert "finished:" in capsys.readouterr().out
    assert (
        main(
            [
                "train",
                "--task",
                "sr",
                "--loss",
                "l1",
                "--alpha",
                "0.5",
                "--profile",
                "smoke",
                "--results",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "train",
                "--task",
                "sr",
                "--loss",
                "ssimx",
                "--profile",
                "smoke",
                "--results",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert "ssimx" in capsys.readouterr().err
    assert main(["run", "all", "--profile", "quick", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # Table 1 (14) + switching (4) + Fig. 8's SSIM1 and SSIM3 + the alpha sweep's 4 new alphas;
    # Table 1 (14) and switching (4) again at seeds 1 and 2; runs shared between experiments are
    # listed once.
    assert len(lines) == 14 + 4 + 2 + 4 + 2 * (14 + 4) and len(set(lines)) == len(lines)
    assert (
        "imgloss train --task demosaic --loss l2 l1 --seed 2 --profile quick --results results"
        in lines
    )
    assert not [line for line in lines if "--loss ssim1" in line and "--seed 1" in line]


def test_cli_no_progress_prints_no_bars(tmp_path, embedded, capsys):
    argv = ["--task", "sr", "--loss", "l1", "--profile", "smoke", "--results", str(tmp_path)]
    assert main(["train", *argv, "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "finished:" in out.out
    assert "step/s" not in out.err + out.out and "reading" not in out.err + out.out
    # and with bars: the trainer's bar goes to stderr (tqdm's default)
    assert main(["train", *argv[:-1], str(tmp_path / "other")]) == 0
    assert "step" in capsys.readouterr().err
    metrics = json.loads(
        next(tmp_path.glob("embedded/runs/smoke/sr/l1/*/metrics.json")).read_text()
    )
    assert metrics["training"]["conv_algorithm"] == "direct"  # SRCNN has no Fourier layer


def test_concurrent_launches_of_one_run_train_it_once(tmp_path, embedded, monkeypatch):
    import threading

    calls = []
    real = R.train

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(R, "train", counting)
    run = R.spec("sr", "l2")
    folders = []
    threads = [
        threading.Thread(
            target=lambda: folders.append(
                R.run_one(run, SMOKE, results=tmp_path, device="cpu", progress=False)
            )
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(folders) == 2 and folders[0] == folders[1] and len(calls) == 1


def test_switching_experiment_and_its_report(tmp_path, embedded):
    from imgloss.report.tables import switching_markdown
    from imgloss.results.records import open_view

    assert switching_markdown(open_view(tmp_path, "smoke")) == ""  # nothing run yet
    R.run_experiment("switching", SMOKE, results=tmp_path, device="cpu", progress=False)
    text = switching_markdown(open_view(tmp_path, "smoke"))
    assert "Loss switching (Section 5.1)" in text
    for label in ("l2 → l1", "l1 → l2", "l1 → l1", "l2 → l2"):
        assert f"| {label} |" in text


def test_reevaluate_rescores_saved_weights_and_adds_the_colour_bias(tmp_path, embedded, capsys):
    run = R.spec("sr", "l1")
    folder = R.run_one(run, SMOKE, results=tmp_path, device="cpu", progress=False)
    m = json.loads((folder / "metrics.json").read_text())
    old = m["test"]["embedded_test"]  # as a run scored before the colour bias was measured
    old["per_image"]["astronaut"].pop("colour_bias")
    old["mean"].pop("colour_bias")
    old["metrics"].remove("colour_bias")
    (folder / "metrics.json").write_text(json.dumps(m))
    assert R.reevaluate(run, SMOKE, results=tmp_path, device="cpu") == folder
    again = json.loads((folder / "metrics.json").read_text())
    row = again["test"]["embedded_test"]["per_image"]["astronaut"]
    assert (
        row["colour_bias"] >= 0
        and row["psnr"] == m["test"]["embedded_test"]["per_image"]["astronaut"]["psnr"]
    )
    assert "reevaluated" in again["provenance"] and again["training"] == m["training"]
    assert R.reevaluate(R.spec("sr", "l2"), SMOKE, results=tmp_path) is None  # not run yet
    # a finished run without its weights (committed before runs kept them) is named as such
    assert R.weights_missing(run, SMOKE, results=tmp_path) is None
    (folder / "model.safetensors").unlink()
    assert R.weights_missing(run, SMOKE, results=tmp_path) == folder
    assert R.reevaluate(run, SMOKE, results=tmp_path) is None
    argv = [
        "run",
        "table1",
        "--profile",
        "smoke",
        "--tasks",
        "sr",
        "--reevaluate",
        "--results",
        str(tmp_path),
        "--no-progress",
    ]
    assert main(argv) == 0
    assert "weights not present, skipped: sr l1 seed 0 (no model.safetensors in" in (
        capsys.readouterr().out
    )


def test_colour_bias_measures_a_uniform_colour_shift():
    from imgloss.metrics import evaluate

    y = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = y + torch.tensor([0.03, 0.0, -0.04], dtype=torch.float64).view(1, 3, 1, 1)
    assert evaluate(x, y, metrics=["colour_bias"])["colour_bias"] == pytest.approx(0.05)
    noisy = y + 0.1 * torch.randn(
        y.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    assert evaluate(noisy, y, metrics=["colour_bias"])["colour_bias"] < 0.01  # noise averages out


def test_cli_run_reevaluate(tmp_path, embedded, capsys):
    assert (
        main(
            [
                "run",
                "table1",
                "--profile",
                "smoke",
                "--tasks",
                "sr",
                "--reevaluate",
                "--results",
                str(tmp_path),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert "not finished, skipped: sr l2 seed 0" in capsys.readouterr().out
