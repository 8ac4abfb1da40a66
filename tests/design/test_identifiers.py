"""Identifiers built and parsed in one place: schedule labels (:func:`imgloss.design.experiments.
schedule_label`, :func:`imgloss.design.experiments.label_phases`) and the runs' crop file names
(:class:`imgloss.experiments.crops.CropFile`), robust to hyphens in image names."""

from __future__ import annotations

import pytest

from imgloss.design import experiments as design
from imgloss.experiments.crops import CropFile
from imgloss.report import style


@pytest.mark.parametrize(
    "losses, label",
    [
        (("l1",), "l1"),
        (("l2", "l1"), "l2-l1"),
        ((("mix", {"alpha": 0.5}),), "mix_alpha0.5"),
        ((("mix", {"alpha": 0.25}), "l2"), "mix_alpha0.25-l2"),
    ],
)
def test_a_schedule_label_parses_back_into_its_phases(losses, label):
    run = design.spec("demosaic", *losses)
    assert run.label == label
    assert design.schedule_label(*design.label_phases(label)) == label
    assert design.label_phases(f"{label}@patch47") == design.label_phases(label)
    assert design.label_phases(f"{label}@ext") == tuple(label.split("-"))


def test_run_qualifiers_are_not_phases():
    run = design.RunSpec("demosaic", (("l1", ()), ("l2", ())), patch=47, extended=True)
    assert run.label == "l1-l2@patch47@ext"
    assert design.label_phases(run.label) == ("l1", "l2")
    assert style.loss_label(run.label) == r"$\ell_1$ → $\ell_2$"
    assert style.loss_colour(run.label) == style.loss_colour("l2")


def test_a_phase_holding_a_separator_is_refused():
    for bad in ("l1-l2", "mix@ext", ""):
        with pytest.raises(ValueError, match="not a loss label"):
            design.schedule_label("l1", bad)


@pytest.mark.parametrize("image", ["kodim01", "img-001", "a-b-c", "x-0-output"])
def test_crop_file_names_survive_hyphens_in_image_names(image):
    crop = CropFile("Kodak24", image, 1, "output")
    assert crop.name == f"Kodak24-{image}-1-output.png"
    assert CropFile.parse(crop.name) == crop


def test_a_foreign_file_name_is_not_a_crop():
    for name in ("notes.png", "Kodak24-kodim01-x-output.png", "Kodak24.png"):
        with pytest.raises(ValueError, match="not a figure crop's file name"):
            CropFile.parse(name)
    with pytest.raises(ValueError, match="holds no hyphen"):
        CropFile("my-set", "a", 0, "input")


def test_a_loss_option_equal_to_its_default_is_dropped_from_the_schedule():
    """Options at their default spell the same run (same label, same key): read from the loss's
    options dataclass, whatever the module's constructor signature."""
    from imgloss.design.experiments import canonical_loss

    assert canonical_loss("mix", {"alpha": 0.84}) == ("mix", ())
    assert canonical_loss("msssim", {"k1": 0.01, "k2": 0.03}) == ("msssim", ())
    assert canonical_loss("SSIM 5.0", {"k2": 0.03}) == ("ssim5", ())
    assert canonical_loss("mix", {"alpha": 0.5}) == ("mix", (("alpha", 0.5),))
