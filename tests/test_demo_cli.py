"""The ``imgloss`` command line: ``demo`` writes a figure and JSON, ``losses`` lists the names."""

from __future__ import annotations

import json
import math

import pytest

from imgloss import cli
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
    for key in (  # the common provenance record of imgloss.provenance, plus the demo's settings
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
