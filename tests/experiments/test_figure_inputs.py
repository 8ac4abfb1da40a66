"""The figures' input and reference crops committed beside the results
(:mod:`imgloss.experiments.figure_inputs`): written by the runner, byte for byte the crops cut from the data,
shown by the figures and the sweeps on a clone without the data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from imgloss import data
from imgloss.design import experiments as design
from imgloss.experiments import crops, figure_inputs
from imgloss.experiments.crops import CONTEXT, figure_boxes, with_context
from imgloss.report import figures
from imgloss.results import records
from imgloss.teaching import sweeps
from imgloss.teaching.widgets import to_uint8

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_data_root(monkeypatch):
    shared = os.environ.get("IMGLOSS_DATA_ROOT")
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    return shared


def committed(profile: str = "quick") -> records.View:
    view = records.open_view(REPO / "results", profile, root=None)
    assert view.tag is not None and view.tag.startswith("registered-")
    return view


@pytest.mark.parametrize("task", ["demosaic", "sr", "jpeg"])
def test_every_task_of_the_committed_results_has_its_figure_inputs(task):
    view = committed()
    assert view.folder is not None
    stored = figure_inputs.load(view.folder, "quick", task)
    assert stored is not None and stored.task == task and stored.profile == "quick"
    assert stored.context == CONTEXT and stored.size == design.PROFILES["quick"].crop_size
    assert stored.licence == data.DATASETS[stored.dataset].licence
    assert stored.sha256 == data.DATASETS[stored.dataset].files[stored.image]["sha256"]
    readme = (stored.folder / "README.md").read_text()
    assert stored.licence in readme and stored.image in readme
    for k in range(len(stored.regions)):
        for kind in figure_inputs.KINDS:
            assert stored.crop(k, kind).shape == (stored.size, stored.size, 3)
    # the runs' own crops show the same image
    run = view.run_folder(task, "l1", 0)
    assert run is not None
    assert (run / "crops" / f"{stored.dataset}-{stored.stem}-0-output.png").is_file()


def test_the_committed_crops_are_the_crops_cut_from_the_data():
    """With the data at hand the figures cut input and reference themselves: the committed
    crops are the same bytes (the windows, the seeded corruption and the rounding agree)."""
    if not data.is_present("Kodak24"):
        pytest.skip("needs Kodak24 under IMGLOSS_DATA_ROOT")
    view = committed()
    assert view.folder is not None
    stored = figure_inputs.load(view.folder, "quick", "demosaic")
    assert stored is not None
    profile = design.PROFILES["quick"]
    x, y = crops.test_image("demosaic", profile, stored.dataset, stored.image)
    for k, box in enumerate(figure_boxes(y, profile)):
        np.testing.assert_array_equal(stored.crop(k, "input"), to_uint8(x[box].clamp(0, 1)))
        np.testing.assert_array_equal(stored.crop(k, "reference"), to_uint8(y[box]))
        region, _ = with_context(y, box)
        np.testing.assert_array_equal(stored.with_context(k, "reference"), to_uint8(region))


def test_without_the_data_the_figures_show_the_committed_input_and_reference(no_data_root):
    view = committed()
    sets = figures.crop_sets(view, "demosaic", ["l2", "l1"], root=None)
    assert sets.labels == ["input", "l2", "l1", "reference"]
    assert sets.unavailable and "no data root" in sets.unavailable
    assert sets.note is not None and "committed 8-bit crops of Kodak24/kodim01" in sets.note
    assert "Kodak" in sets.note and "unrestricted" in sets.note  # the dataset's licence
    stored = figures.committed_inputs(view, "demosaic", "Kodak24", "kodim01")
    assert stored is not None
    for k, row in enumerate(sets.crops):
        np.testing.assert_array_equal(row["input"], stored.crop(k, "input"))
        np.testing.assert_array_equal(row["reference"], stored.crop(k, "reference"))
    html = figures.crops_html(sets)
    assert html.count("<img") == 4 * len(sets.crops) and "licence" in html


def test_without_the_data_the_sweeps_show_the_networks_on_the_committed_crop(no_data_root):
    view = committed()
    if not view.summary("fig8"):
        pytest.skip("no committed fig8 results at the quick profile")
    settings = sweeps.sigma_settings(design.FIG8_SIGMAS)
    views, note = sweeps.build(view, settings, "fig8", root=None)
    assert "committed 8-bit crops" in note and "Kodak24 / kodim01" in note
    assert all(v.output is not None and v.output.shape == (96, 96, 3) for v in views)
    assert all(v.loss_map.shape == (96, 96) for v in views)
    if no_data_root and data.is_present("Kodak24", no_data_root):
        # the maps on the 8-bit crops are those on the data, up to the input's rounding
        exact, _ = sweeps.build(view, settings, "fig8", root=no_data_root)
        for a, b in zip(views, exact, strict=True):
            scale = float(np.abs(b.loss_map).max())
            assert np.abs(a.loss_map - b.loss_map).max() < 0.05 * scale


def test_the_sweep_says_why_when_neither_data_nor_crops_are_there(no_data_root, monkeypatch):
    view = committed()
    if not view.summary("fig8"):
        pytest.skip("no committed fig8 results at the quick profile")
    monkeypatch.setattr(figure_inputs, "load", lambda *a, **k: None)
    views, note = sweeps.build(view, sweeps.sigma_settings(design.FIG8_SIGMAS), "fig8")
    assert "the networks are not shown" in note and "Kodak24/kodim01" in note
    assert "(no data root: set IMGLOSS_DATA_ROOT" in note
    assert all(v.output is None for v in views)


def test_the_runner_writes_them_once_for_each_task(tmp_path, no_data_root):
    """On the embedded photographs (always at hand): ``imgloss run`` writes the figure inputs
    of the experiment's tasks; they are the crops of the runs' first test image, and a second
    run leaves them as they are."""
    from imgloss.experiments import runner

    runner.run_experiment("table1", "smoke", results=tmp_path, tasks=["sr"], progress=False)
    view = records.open_view(tmp_path, "smoke")
    assert view.folder is not None
    stored = figure_inputs.load(view.folder, "smoke", "sr")
    assert stored is not None and stored.dataset == "embedded_test"
    assert figure_inputs.load(view.folder, "smoke", "jpeg") is None  # no run of it
    run = view.run_folder("sr", "l1", 0)
    assert run is not None
    saved = figures.read_png(run / "crops" / f"{stored.dataset}-{stored.stem}-0-input.png")
    np.testing.assert_array_equal(stored.crop(0, "input"), saved)
    index = stored.folder / "index.json"
    before = index.read_bytes()
    runner.run_experiment("table1", "smoke", results=tmp_path, tasks=["sr"], progress=False)
    assert index.read_bytes() == before


def test_a_damaged_index_or_crop_is_named(tmp_path):
    view = committed()
    assert view.folder is not None
    source = figure_inputs.folder_of(view.folder, "quick", "demosaic")
    copy = records.SourceFolder(tmp_path, view.folder.tag)
    target = figure_inputs.folder_of(copy, "quick", "demosaic")
    target.mkdir(parents=True)
    for f in source.iterdir():
        (target / f.name).write_bytes(f.read_bytes())
    (target / "0-input.png").write_bytes(b"not a png")
    stored = figure_inputs.load(copy, "quick", "demosaic")
    assert stored is not None
    with pytest.raises(ValueError, match=r"0-input.png: unreadable figure crop .*imgloss run"):
        stored.crop(0, "input")
    index = json.loads((target / "index.json").read_text())
    del index["licence"]
    (target / "index.json").write_text(json.dumps(index))
    with pytest.raises(records.ResultsFileError, match=r"index.json: malformed .*'licence'"):
        figure_inputs.load(copy, "quick", "demosaic")
