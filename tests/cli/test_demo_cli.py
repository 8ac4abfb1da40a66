"""The ``imgloss`` command line: ``demo`` writes a figure and JSON, ``losses`` lists the names."""

from __future__ import annotations

import json
import math

import pytest

from imgloss.cli import commands as cli
from imgloss.losses import PAPER_LOSSES

NOISE = 0.1


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    """Run the demo once (a few seconds) and share its output folder between the tests."""
    out = tmp_path_factory.mktemp("demo")
    assert cli.main(["demo", "--out", str(out), "--noise", str(NOISE), "--seed", "0"]) == 0
    return out


def test_demo_writes_figure_and_json(demo_out):
    png = demo_out / "losses.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (demo_out / "losses.json").is_file()
    assert not list(demo_out.glob("*.tmp")), "temporary files left behind"


def test_demo_json_losses_and_provenance(demo_out):
    result = json.loads((demo_out / "losses.json").read_text())
    values = result["losses"]
    assert set(values) == set(PAPER_LOSSES)
    for name, value in values.items():
        assert math.isfinite(value) and value > 0, (name, value)
    provenance = result["provenance"]
    for (
        key
    ) in (  # the common provenance record of imgloss.core.provenance, plus the demo's settings
        "versions",
        "git_commit",
        "device",
        "image_source",
        "noise",
        "seed",
        "date_utc",
    ):
        assert key in provenance, key
    assert provenance["device"].startswith("cpu") and "torch" in provenance["versions"]
    assert provenance["noise"] == NOISE and provenance["seed"] == 0
    assert "clipped" in result["degradation"]


def test_demo_l2_is_the_noise_variance_reduced_by_clipping(demo_out):
    l2 = json.loads((demo_out / "losses.json").read_text())["losses"]["l2"]
    assert 0.5 * NOISE**2 < l2 < NOISE**2 * 1.01


def test_demo_missing_image_names_the_path(tmp_path, capsys):
    missing = tmp_path / "no-such-image.png"
    assert cli.main(["demo", "--out", str(tmp_path / "out"), "--image", str(missing)]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "losses.json").exists()


def test_demo_unreadable_image_names_the_path(tmp_path, capsys):
    bogus = tmp_path / "not-an-image.png"
    bogus.write_text("this is not a PNG")
    assert cli.main(["demo", "--out", str(tmp_path / "out"), "--image", str(bogus)]) == 1
    err = capsys.readouterr().err
    assert str(bogus) in err and len(err.strip().splitlines()) == 1


def test_losses_command_prints_names(capsys):
    assert cli.main(["losses"]) == 0
    printed = capsys.readouterr().out.split()
    for name in ("l1", "l2", "msssim", "mix"):
        assert name in printed
    assert any(name.startswith("ssim") for name in printed)


# ------------------------------------------------- demo --network: a trained network on a photo
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A smoke-profile super-resolution run (seconds, on the bundled photographs) and a photo."""
    import numpy as np
    from PIL import Image
    from skimage import data

    from imgloss.data.source import resolve
    from imgloss.experiments import runner
    from imgloss.results.records import SourceFolder

    mp = pytest.MonkeyPatch()
    mp.delenv("IMGLOSS_DATA_ROOT", raising=False)
    results = tmp_path_factory.mktemp("results")
    runner.run_one(runner.spec("sr", "l1"), "smoke", results=results, device="cpu", progress=False)
    summary = runner.summarize("table1", "smoke", results=results)  # the runs a view lists
    summary.save(SourceFolder(results, resolve(None).tag).summary("smoke", "table1"))
    photo = results / "coffee.png"
    Image.fromarray(np.ascontiguousarray(data.coffee()[:120, :150])).save(photo)
    yield results, photo
    mp.undo()


def test_demo_network_runs_a_trained_network_on_a_photo(trained, tmp_path, capsys):
    import numpy as np
    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio

    results, photo = trained
    argv = [
        "demo",
        "--network",
        "sr/l1",
        "--image",
        str(photo),
        "--results",
        str(results),
        "--out",
        str(tmp_path),
    ]
    assert cli.main(argv) == 0
    record = json.loads((tmp_path / "network.json").read_text())
    assert (record["task"], record["schedule"], record["profile"]) == ("sr", "l1", "smoke")
    assert len(record["weights_sha256"]) == 64 and record["image"] == "coffee.png"
    png = {
        k: np.asarray(Image.open(tmp_path / f"sr-l1-{k}.png"))
        for k in ("input", "output", "reference")
    }
    assert png["output"].shape == png["reference"].shape == (*record["size"], 3)
    for kind in ("input", "output"):  # scikit-image on the saved 8-bit images
        ours = record[f"{kind}_measures"]["psnr"]
        assert abs(peak_signal_noise_ratio(png["reference"], png[kind]) - ours) < 0.1
    assert "wrote sr-l1-input.png" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--network", "deblur/l1"], "--network: expected TASK/SCHEDULE with TASK one of"),
        (
            ["--network", "sr/ssim5"],
            (
                "--network sr/ssim5: its run at seed 0 is not in the results; networks with "
                "weights at the smoke profile: sr/l1 (seed 0)"
            ),
        ),
        (["--network", "sr/l1", "--seed", "3"], "sr/l1: its run at seed 3 is not in the results"),
    ],
)
def test_demo_network_refuses_what_it_cannot_run_in_one_line(
    trained, tmp_path, capsys, argv, message
):
    results, photo = trained
    code = cli.main(
        ["demo", *argv, "--image", str(photo), "--results", str(results), "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_demo_network_needs_an_image(trained, capsys):
    results, _ = trained
    assert cli.main(["demo", "--network", "sr/l1", "--results", str(results)]) != 0
    assert "--network needs --image PHOTO" in capsys.readouterr().err
