"""Table 1's non-network columns, the paper's transcribed numbers, and the CLI command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from imgloss.cli.commands import main
from imgloss.design import paper, tasks
from imgloss.experiments import baselines
from imgloss.metrics import METRICS

PAPER_MD = Path(__file__).resolve().parents[3] / "shared" / "paper" / "zhao2017-loss-functions.md"


def test_test_sets_come_from_the_data_source(monkeypatch, tmp_path):
    from imgloss.data import DataRootError, resolve_source

    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    assert baselines.test_sets(tasks.get("demosaic")) == ["embedded_test"]
    assert baselines.test_sets(tasks.get("sr")) == ["embedded_test"]
    with pytest.raises(DataRootError, match="LIVE1"):  # not in the embedded source
        baselines.test_sets(tasks.get("jpeg"), ["LIVE1"])
    (tmp_path / "Set5").mkdir()
    with pytest.raises(DataRootError, match="Set5 .* incomplete"):
        resolve_source(tmp_path)


def test_baseline_table_on_embedded_data_records_values_paper_and_provenance(monkeypatch):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    result = baselines.baseline_table("demosaic", ["embedded_test"], metrics=["psnr", "ssim", "l2"])
    table = result.tables["embedded_test"]
    mean = table.mean()
    assert set(table.rows) == {"astronaut", "chelsea", "coffee"}
    assert 20 < mean["psnr"] < 35 and 0 < mean["ssim"] < 1
    assert 20 < result.extras["embedded_test"]["mosaic_psnr"] < 35
    assert result.column == "Noisy" and result.source == "embedded"
    assert result.paper["values"]["psnr"] == 28.24
    prov = result.provenance
    assert (
        prov["data"][0]["name"] == "embedded_test" and "scikit-image" in prov["data"][0]["source"]
    )
    assert {"git_commit", "versions", "device", "date_utc"} <= set(prov)
    # Same seed, same numbers; the table formats our values next to the paper's.
    again = baselines.baseline_table("demosaic", ["embedded_test"], metrics=["psnr", "ssim", "l2"])
    assert again.tables["embedded_test"].mean() == mean
    text = baselines.format_table(result)
    assert "embedded_test (ours)" in text and "paper (40 MIT-Adobe FiveK" in text
    assert "1000·ℓ2" in text
    matlab = baselines.baseline_table("demosaic", ["embedded_test"], metrics=["ssim_matlab"])
    row = next(r for r in baselines.format_table(matlab).splitlines() if "ssim.m" in r)
    assert row.endswith("| — |")  # a measure the paper does not report has no paper cell
    sr = baselines.baseline_table("sr", ["embedded_test"], metrics=["psnr"])
    assert sr.paper["test_set"] == "test images not named in the paper"  # the paper never says


def test_cli_baselines_writes_one_json_per_task(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    status = main(
        [
            "baselines",
            "--task",
            "jpeg",
            "sr",
            "--datasets",
            "embedded_test",
            "--metrics",
            "psnr",
            "l1",
            "--results",
            str(tmp_path),
        ]
    )
    assert status == 0
    for task in ("jpeg", "sr"):
        result = json.loads((tmp_path / "embedded" / "baselines" / f"{task}.json").read_text())
        assert result["kind"] == "baseline" and result["source"] == "embedded"
        assert result["task"] == task and result["provenance"]["metrics"] == ["psnr", "l1"]
    out = capsys.readouterr().out
    assert "Original JPEG" in out and "Bilinear" in out
    # a later subset adds to the file, never shrinks it
    path = tmp_path / "embedded" / "baselines" / "sr.json"
    before = json.loads(path.read_text())["datasets"]["embedded_test"]["per_image"]
    argv = [
        "baselines",
        "--task",
        "sr",
        "--datasets",
        "embedded_test",
        "--metrics",
        "ssim",
        "--results",
        str(tmp_path),
    ]
    assert main(argv) == 0
    after = json.loads(path.read_text())
    assert after["provenance"]["metrics"] == ["psnr", "l1", "ssim"]
    for image, row in after["datasets"]["embedded_test"]["per_image"].items():
        assert row["psnr"] == before[image]["psnr"] and 0 < row["ssim"] <= 1
    assert main([*argv[:-2], "--seed", "1", "--results", str(tmp_path)]) == 1
    assert "seed 0" in capsys.readouterr().err  # another noise draw is not mixed in


def test_cli_baselines_reports_a_missing_dataset(tmp_path, capsys, monkeypatch):
    (tmp_path / "Kodak24").mkdir()  # a data root whose only dataset folder is empty
    monkeypatch.setenv("IMGLOSS_DATA_ROOT", str(tmp_path))
    status = main(["baselines", "--task", "sr", "--datasets", "Set5", "--results", str(tmp_path)])
    assert status == 1
    err = capsys.readouterr().err
    assert "Kodak24" in err and "imgloss data fetch Kodak24" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("IMGLOSS_DATA_ROOT", str(tmp_path / "typo"))
    assert main(["baselines", "--task", "sr", "--results", str(tmp_path)]) == 1
    assert "is not a folder" in capsys.readouterr().err
    assert not any(tmp_path.glob("*/baselines"))  # nothing written, nothing silently replaced


@pytest.mark.skipif(not PAPER_MD.is_file(), reason="the paper's text is not next to the repo")
def test_paper_table1_transcription_matches_the_paper_text():
    text = PAPER_MD.read_text()
    rows = {
        "1000 \\cdot \\ell_2": "l2",
        "PSNR": "psnr",
        "1000 \\cdot \\ell_1": "l1",
        "SSIM": "ssim",
        "MS-SSIM": "ms_ssim",
        "IW-SSIM": "iw_ssim",
        "GMSD": "gmsd",
        "FSIM": "fsim",
        "FSIM <sub>c</sub>": "fsimc",
    }
    blocks = text.split("Training cost function")[1:4]
    for task, block in zip(("demosaic", "sr", "jpeg"), blocks, strict=True):
        columns = list(paper.TABLE1[task])
        found = 0
        for line in block.splitlines():
            cells = line.split("\t")
            label = cells[0].replace("$", "").strip()
            if label in rows:
                numbers = [float(re.sub(r"<[^>]+>", "", c)) for c in cells[1:]]
                metric = rows[label]
                scale = 1000 if metric in ("l2", "l1") else 1
                for column, value in zip(columns, numbers, strict=True):
                    assert paper.TABLE1[task][column][metric] * scale == pytest.approx(value)
                found += 1
        assert found == len(METRICS), task


def test_noise_analysis_predicts_the_noisy_psnr_from_the_mean_intensity():
    from imgloss.data import load_embedded

    images = load_embedded("embedded_test")
    out = baselines.noise_analysis(tasks.get("demosaic"), images, "embedded_test", seed=0)
    # Clipping only lowers the error, so the model's prediction is a lower bound, and close.
    assert out["model_predicted_mosaic_psnr"] <= out["mosaic_psnr"] + 0.05
    assert abs(out["mosaic_psnr"] - out["model_predicted_mosaic_psnr"]) < 1.0
    assert 0 < out["mean_mosaic_intensity"] < 1
    # 28.24 dB = -10 log10(0.005 m + 0.0001)  =>  m ~= 0.28
    assert out["paper_psnr_implies_mean_intensity"] == pytest.approx(0.2797, abs=1e-3)


def test_report_compares_the_baseline_on_the_images_the_networks_were_scored_on(
    tmp_path, monkeypatch
):
    from imgloss.data import embedded_source
    from imgloss.design.experiments import PROFILES, evaluation_settings, run_data
    from imgloss.metrics import MetricTable
    from imgloss.report.tables import table1_markdown
    from imgloss.results.records import RunRecord, folder_for, open_view, summarize_runs

    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    base = baselines.baseline_table("sr", ["embedded_test"], metrics=list(METRICS)[:3])
    base.provenance["metrics"] = list(METRICS)
    filled = MetricTable(METRICS)
    for image, row in base.tables["embedded_test"].rows.items():  # fill the rest: a full table
        filled.add(image, row | {m: 0.5 for m in METRICS[3:]})
    base.tables["embedded_test"] = filled
    folder = folder_for(tmp_path, embedded_source())
    base.save(folder.baseline("sr"))
    scored = MetricTable(METRICS)
    scored.add("chelsea", {m: 0.9 for m in METRICS})
    profile = PROFILES["quick"]
    record = RunRecord(
        task="sr",
        schedule="l1",
        seed=0,
        profile="quick",
        data=run_data(embedded_source(), tasks.get("sr"), profile),
        test={"embedded_test": scored},
        training={},
        provenance={"git_commit": "abc", "device": "cpu", "wall_s": 1.0},
    )
    evaluation = evaluation_settings(profile)
    summary = summarize_runs("table1", "quick", "embedded", evaluation, [("runs/x", record)])
    summary.save(folder.summary("quick", "table1"))
    text = table1_markdown(open_view(tmp_path, "quick"))
    psnr = filled.rows["chelsea"]["psnr"]
    assert f"| PSNR | {psnr:.2f} | 0.90 |" in text  # chelsea only, not the 3-image mean
    assert "1 images" in text
    summary.evaluation = evaluation | {"test_crop": 192}  # networks scored on crops: no baseline
    summary.save(folder.summary("quick", "table1"))
    assert "| PSNR | — | 0.90 |" in table1_markdown(open_view(tmp_path, "quick"))
