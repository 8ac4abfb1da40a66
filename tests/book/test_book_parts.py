"""The pieces behind the book's notebooks: loss maps, the Fig. 9 toy analysis, figure crops,
precomputed sliders, the findings check and the book's command-line plumbing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from imgloss import data
from imgloss import losses as L
from imgloss.experiments import runner, toy
from imgloss.report import figures, style
from imgloss.report import tables as report
from imgloss.results import records
from imgloss.teaching import maps

from ..conftest import REAL_IMAGES, to_tensor

REPO = Path(__file__).resolve().parents[2]


def committed_view() -> records.View:
    """The committed ``quick`` results (on the registered data); they are part of the repository,
    so a clean clone has them: never skipped."""
    view = records.open_view(REPO / "results", "quick", root=None)
    assert view.tag is not None and view.tag.startswith("registered-"), view
    return view


# ------------------------------------------------------------------------------- loss maps
@pytest.fixture(scope="module")
def pair():
    clean = to_tensor(REAL_IMAGES[0][1])[..., :96, :96].double()
    g = torch.Generator().manual_seed(0)
    noisy = (clean + 0.08 * torch.randn(clean.shape, generator=g, dtype=clean.dtype)).clamp(0, 1)
    return noisy, clean


@pytest.mark.parametrize(
    "name, loss",
    [
        ("l1", lambda x, y: L.l1_loss(x, y)),
        ("l2", lambda x, y: L.l2_loss(x, y)),
        ("ssim5", lambda x, y: L.ssim_loss(x, y, sigma=5)),
        ("ssim1.5", lambda x, y: L.ssim_loss(x, y, sigma=1.5)),
        ("msssim", lambda x, y: L.ms_ssim_loss(x, y)),
        ("mix", lambda x, y: L.mix_loss(x, y)),
    ],
)
def test_the_mean_of_a_loss_map_is_the_loss(pair, name, loss):
    x, y = pair
    assert float(maps.loss_map(name, x, y).mean()) == pytest.approx(float(loss(x, y)), rel=1e-9)


def test_mix_map_alpha_interpolates_between_its_terms(pair):
    x, y = pair
    ends = [maps.loss_map("mix", x, y, alpha=a) for a in (0.0, 1.0)]
    mid = maps.loss_map("mix", x, y, alpha=0.25)
    torch.testing.assert_close(mid, 0.75 * ends[0] + 0.25 * ends[1])
    torch.testing.assert_close(ends[1], maps.loss_map("msssim", x, y))


def test_loss_map_rejects_unknown_names_and_align_crops_to_common_centre(pair):
    x, y = pair
    with pytest.raises(ValueError, match="ssimK"):
        maps.loss_map("ssim", x, y)
    aligned = maps.align({"l1": maps.loss_map("l1", x, y), "ssim9": maps.loss_map("ssim9", x, y)})
    assert aligned["l1"].shape == aligned["ssim9"].shape
    r = (96 - aligned["l1"].shape[-1]) // 2
    torch.testing.assert_close(aligned["l1"], (x - y).abs()[..., r:-r, r:-r])


# ------------------------------------------------------------------------------- Fig. 9 toy
def test_ssim_profile_matches_a_direct_1d_computation():
    """The 1-D profile (identical rows through the 2-D SSIM) equals eqs. 4-6 with 1-D weights."""
    rng = np.random.default_rng(3)
    y = toy.step_edge(64, 30)
    x = y + rng.normal(0, 0.05, 64)
    sigma = 3.0
    profile = toy.ssim_profile(x, y, sigma)
    c1, c2 = 0.01**2, 0.03**2
    for p in (20, 28, 31, 40):
        g = toy.support(sigma, 64, p)
        mx, my = g @ x, g @ y
        vx, vy, cxy = g @ x**2 - mx**2, g @ y**2 - my**2, g @ (x * y) - mx * my
        direct = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
        assert profile[p] == pytest.approx(direct, rel=1e-10)
    r = int(3.5 * sigma + 0.5)
    assert np.isnan(profile[:r]).all() and np.isnan(profile[-r:]).all()


def test_a_larger_support_tolerates_noise_near_an_edge_better():
    """Fig. 9b: at P near the edge, SSIM_9 > SSIM_3 > SSIM_1, beyond the noise of the mean."""
    e = toy.edge_experiment((1, 3, 9), trials=100, seed=0)
    means = {s: m for s, (m, _) in e["ssim_at_pixel"].items()}
    sems = {s: sd / np.sqrt(e["trials"]) for s, (_, sd) in e["ssim_at_pixel"].items()}
    assert means[9] - means[3] > 3 * (sems[9] + sems[3])
    assert means[3] - means[1] > 3 * (sems[3] + sems[1])
    assert e["support"][9][e["pixel"] + 3 :].sum() > 0.3  # spans the edge
    assert e["support"][1][e["pixel"] + 3 :].sum() < 0.01


def test_bias_costs_less_ssim_in_bright_regions():
    """Fig. 9d: on flat regions SSIM is eq. 5's luminance term, closer to 1 when bright."""
    b = toy.bias_experiment(3, bias=0.05)
    dark, bright = b["profile"][20], b["profile"][110]
    assert dark == pytest.approx(toy.bias_luminance(0.2, 0.05), rel=1e-12)
    assert bright == pytest.approx(toy.bias_luminance(0.8, 0.05), rel=1e-12)
    assert 1 - dark > 10 * (1 - bright)
    with pytest.raises(ValueError, match="edge"):
        toy.step_edge(10, 10)


def test_fig9_plot_draws_the_four_panels_from_the_experiments():
    import matplotlib

    matplotlib.use("Agg")
    edge = toy.edge_experiment((1, 3, 9), trials=5, seed=0)
    bias = toy.bias_experiment(3, seed=0)
    fig = figures.plot_fig9(edge, bias)
    a, b, c, d = fig.axes[:4]
    assert [ax.get_title()[:3] for ax in (a, b, c, d)] == ["(a)", "(b)", "(c)", "(d)"]
    m, sd = edge["ssim_at_pixel"][9]
    legend = [t.get_text() for t in b.get_legend().get_texts()]
    assert f"SSIM$_{{9}}$: at P {m:.3f} ± {sd:.3f}" in legend  # mathtext, no literal underscore
    assert np.array_equal(d.get_lines()[0].get_ydata(), bias["profile"], equal_nan=True)
    matplotlib.pyplot.close(fig)


def test_loss_map_plot_shows_each_map_with_its_mean():
    import matplotlib

    matplotlib.use("Agg")
    g = torch.Generator().manual_seed(0)
    y = torch.rand(1, 3, 64, 64, generator=g)
    x = (y + 0.05 * torch.randn(y.shape, generator=g)).clamp(0, 1)
    names = ["l2", "l1", "ssim5", "mix"]
    fig = maps.plot_loss_maps(x, y, names, prediction_label="noisy")
    error = maps.align({n: maps.loss_map(n, x, y) for n in names})
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[:2] == ["noisy", "reference"]
    for name in names:
        label = style.loss_label(name)  # mathtext: $\ell_2$, SSIM$_{5}$, ...
        assert f"{label}: loss {error[name][0].mean().item():.4f}" in titles
    crop = error["l2"].shape[-1]
    assert fig.axes[0].get_images()[0].get_array().shape == (crop, crop, 3)  # common region
    assert crop < 64  # the windowed maps are smaller than the image
    matplotlib.pyplot.close(fig)


# ------------------------------------------------------------------------------- widgets
def test_precomputed_slider_links_the_slider_to_the_views_in_the_browser():
    ipywidgets = pytest.importorskip("ipywidgets")
    from imgloss.teaching import widgets

    views = [ipywidgets.HTML(str(i)) for i in range(3)]
    box = widgets.precomputed_slider(["a", "b", "c"], views, description="k", initial=1)
    slider, stack = box.children
    assert stack.selected_index == 1 and slider.index == 1
    assert box.link.source == (slider, "index")
    assert box.link.target == (stack, "selected_index")
    assert box.link.get_state()["_model_name"] == "LinkModel"  # a browser-side link
    with pytest.raises(ValueError, match="equal length"):
        widgets.precomputed_slider(["a"], views, description="k")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        widgets.png(np.full((2, 2), 1.5))
    assert widgets.png(np.zeros((2, 3)), scale=2)[:4] == b"\x89PNG"


# ------------------------------------------------------------------------------- figures
def test_crop_sets_read_committed_outputs_and_psnr_is_consistent():
    """The quick profile's committed crops."""
    view = committed_view()
    assert figures.finished_run(view, "demosaic", "l1") is not None
    sets = figures.crop_sets(view, "demosaic", ["l1", "l2", ("l2", "l1")])
    assert {"l1", "l2", "l2-l1"} <= set(sets.labels)
    assert sets.crops and sets.crops[0]["l1"].dtype == np.uint8
    html = figures.crops_html(sets, caption="c")
    assert html.count("<img") == sum(len(r) for r in sets.crops)
    a = sets.crops[0]["l1"]
    assert figures.psnr(a, a) == float("inf")
    b = a.astype(int)
    b[0, 0, 0] = (b[0, 0, 0] + 10) % 256
    expected = 10 * np.log10(255**2 / (min(10, 256 - 10) ** 2 / a.size))
    assert figures.psnr(a, b.astype(np.uint8)) == pytest.approx(expected, rel=1e-9) or (
        figures.psnr(a, b.astype(np.uint8)) > 60
    )


def test_crop_sets_recut_inputs_equal_the_runs_saved_inputs(tmp_path):
    """Input and reference crops are cut again from the test data with the corruption the run was
    scored on: byte for byte the run's own saved crops (the noise is seeded by the file name,
    ``kodim01.png``, while the crop files are named by its stem)."""
    if not data.is_present("Kodak24"):
        pytest.skip("needs Kodak24 under IMGLOSS_DATA_ROOT (file names with an extension)")
    torch.manual_seed(0)
    folder = runner.run_one(
        runner.spec("demosaic", "l1"), "smoke", results=tmp_path, progress=False
    )
    runner.run_experiment("table1", "smoke", results=tmp_path, tasks=["demosaic"], progress=False)
    sets = figures.crop_sets(records.open_view(tmp_path, "smoke"), "demosaic", ["l1"])
    assert sets.note is None and sets.labels == ["input", "l1", "reference"]
    assert sets.dataset == "Kodak24" and sets.crops
    for k, row in enumerate(sets.crops):
        for label, kind in (("input", "input"), ("reference", "target")):
            saved = figures.read_png(folder / "crops" / f"Kodak24-kodim01-{k}-{kind}.png")
            np.testing.assert_array_equal(row[label], saved)


def test_table1_bolds_the_best_network_not_the_reference_columns():
    """With the BM3D column present (better than every quick network), the bold still marks the
    best loss of each row; the non-network and BM3D columns are never bold."""
    view = committed_view()
    assert view.bm3d() is not None  # committed with the quick results
    text = report.table1_markdown(view, tasks=["demosaic"])
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| measure"))
    table = lines[start : lines.index("", start)]  # ours (the paper's table comes after)
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header[:3] == ["measure", "Noisy", "BM3D"]
    for line in table[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert not cells[1].startswith("**") and not cells[2].startswith("**"), line
        nets = [float(c.strip("*").split(" ")[0]) for c in cells[3:]]
        bold = [i for i, c in enumerate(cells[3:]) if c.startswith("**")]
        lower = cells[0] in ("1000·ℓ2", "1000·ℓ1", "GMSD", "1000·colour bias")
        signed = cells[0] == "chroma shift"  # best at zero
        best = min(nets, key=abs) if signed else min(nets) if lower else max(nets)
        assert bold and all(nets[i] == best for i in bold), line


def test_switching_curves_join_both_phases():
    curves = figures.switching_curves(committed_view())
    c = curves["l2 → l1"]
    assert c["switch"] == runner.PROFILES["quick"].steps
    assert c["step"][-1] == runner.PROFILES["quick"].steps + runner.PROFILES["quick"].switch_steps
    assert len(c["value"]) == len(c["step"])


def test_switching_plot_shows_each_pair_and_zooms_after_the_switch():
    import matplotlib

    matplotlib.use("Agg")
    steps = [100, 200, 300, 400]
    curves = {
        "l1 → l2": {"step": steps, "value": [3e-3, 2e-3, 1.5e-3, 1.4e-3], "switch": 200},
        "l1 → l1": {"step": steps, "value": [3e-3, 2e-3, 1.6e-3, 1.5e-3], "switch": 200},
    }
    fig = figures.plot_switching(curves, title="t")
    full, zoom = fig.axes
    labels = [line.get_label() for line in full.get_lines()[:2]]
    assert labels == [r"$\ell_1$ → $\ell_2$", r"$\ell_1$ → $\ell_1$"]  # mathtext
    switched, control = full.get_lines()[:2]
    assert switched.get_linestyle() == "-" and control.get_linestyle() == ":"
    assert switched.get_color() == control.get_color()  # same first loss, same colour
    assert list(switched.get_ydata()) == [3.0, 2.0, 1.5, 1.4]  # scaled by 1000
    zoomed = zoom.get_lines()[0]
    assert list(zoomed.get_xdata()) == [200, 300, 400]  # from the switch on
    assert full.get_title() == "t" and "1000" in full.get_ylabel()
    matplotlib.pyplot.close(fig)


# ------------------------------------------------------------------------------- findings
def _summary(experiment, cells):
    """A summary of one seed per schedule on Kodak24 with the given means."""
    from imgloss.data import RunData, dataset_ref

    ref = dataset_ref("Kodak24")
    return records.ExperimentSummary(
        experiment=experiment,
        profile="quick",
        source="registered-test",
        evaluation={},
        cells={
            "demosaic": {
                label: {"Kodak24": {m: records.Cell(v, None, 1, (v,)) for m, v in d.items()}}
                for label, d in cells.items()
            }
        },
        images={"demosaic": {"Kodak24": ["a.png"]}},
        data={"demosaic": RunData(dataset_ref("BSDS_train"), ref, (ref,))},
        runs=(),
        commits=("abc",),
        devices=("cpu",),
        metrics=(),
    )


def _view(tmp_path, **summaries):
    """A View over fake summaries (``experiment=cells``) of one registered source."""
    from imgloss.data import DataSource, dataset_ref

    source = DataSource("registered", (dataset_ref("Kodak24"), dataset_ref("BSDS_train")))
    folder = records.folder_for(tmp_path, source)
    for experiment, cells in summaries.items():
        summary = _summary(experiment, cells)
        summary.source = source.tag
        summary.save(folder.summary("quick", experiment))
    return records.View(tmp_path, "quick", source.tag)


# ------------------------------------------------------------------------------- book plumbing
def test_notebooks_are_parameterized_and_listed_in_the_toc():
    from imgloss.book import build as book

    toc = (REPO / "_toc.yml").read_text()
    for name in book.NOTEBOOKS:
        source = REPO / "notebooks" / f"{book.source_of(name)}.ipynb"
        params = book.parameters_of(source)
        assert {"profile", "results", "data_root", "train_missing", "seed"} <= set(params)
        assert set(book.VARIANTS.get(name, ("", {}))[1]) <= set(params), name  # e.g. task
        assert f"book/executed/{name}" in toc
        nb = json.loads(source.read_text())
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), name
    # every notebook of notebooks/ is a source of the book, each once
    assert sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb")) == sorted(book.SOURCES)
    assert book.resolve(["06"]) == ["06-ssim-sigma"]
    assert book.resolve(["switching"]) == ["05-loss-switching"]
    table1 = ["02-demosaicking", "03-super-resolution", "04-jpeg"]
    assert book.resolve(["table1"]) == book.resolve(["02-table1.ipynb"]) == table1
    assert book.resolve(["jpeg", "table1"]) == ["04-jpeg", "02-demosaicking", "03-super-resolution"]
    with pytest.raises(book.BookError, match="matches 0 notebooks"):
        book.resolve(["nope"])


def test_table1_is_one_notebook_executed_once_per_task():
    """Table 1's three chapters come from one notebook, each with its task; their prose and
    labels come from imgloss.report.task_pages, one page per task, no label shared."""
    from imgloss.book import build as book
    from imgloss.design.tasks import TASKS
    from imgloss.report import task_pages

    tasks = {n: p["task"] for n, (source, p) in book.VARIANTS.items() if source == "02-table1"}
    assert sorted(tasks.values()) == sorted(TASKS) == sorted(task_pages.TASK_PAGES)
    labels = []
    for task in TASKS:
        page = task_pages.get(task)
        assert page.title and "$" not in page.title  # the sidebar shows titles without math
        assert page.heading.startswith(f"# {page.title}\n")
        mine = (page.claims_label, page.table_label, page.figure_label)
        for section, label in zip(
            (page.claims_section, page.table_section, page.crops_section), mine, strict=True
        ):
            assert section.startswith("## ") and f"{{numref}}`{label}`" in section, task
            assert all(other not in section for other in labels), task  # never another's
        labels += mine
        assert ("BM3D" in page.table_section) == TASKS[task].bm3d_column
        assert page.name in page.figure_caption and page.name in page.missing
    assert len(set(labels)) == len(labels) == 9
    with pytest.raises(ValueError, match="unknown task 'x'; choose from demosaic, sr, jpeg"):
        task_pages.get("x")
    with pytest.raises(book.BookError, match="set by the book for each chapter"):
        book.execute(REPO, ["table1"], {"task": "sr"}, progress=False)


def test_executed_notebooks_are_finished_for_the_book():
    """What a notebook computed becomes part of the page: a cell tagged output-as-markdown
    becomes a Markdown cell holding its output (headings included), and a figure's options
    given with its output move into the cell's mystnb metadata; plumbing cells are removed."""
    from imgloss.book import build as book
    from imgloss.report.numbered import FIGURE_KEY

    def markdown(text):
        return {
            "output_type": "display_data",
            "metadata": {},
            "data": {"text/markdown": text, "text/plain": "<Markdown>"},
        }

    figure = {"name": "fig-x-sr", "caption": "X, super-resolution."}
    nb = {
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": "p",
                "metadata": {"tags": ["parameters"]},
                "source": "",
                "outputs": [],
                "execution_count": 1,
            },
            {
                "cell_type": "code",
                "id": "t",
                "metadata": {"tags": ["remove-input", book.MARKDOWN_TAG]},
                "source": "display(Markdown(page.heading))",
                "execution_count": 2,
                "outputs": [markdown("# Title\n\nProse.\n"), markdown(["## Next\n", "More."])],
            },
            {
                "cell_type": "code",
                "id": "f",
                "metadata": {"tags": ["hide-input"]},
                "source": "",
                "execution_count": 3,
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {FIGURE_KEY: figure},
                        "data": {"text/html": "<table></table>"},
                    }
                ],
            },
        ],
    }
    cells = book.finish(nb)["cells"]
    assert "remove-cell" in cells[0]["metadata"]["tags"]
    assert cells[1] == {
        "cell_type": "markdown",
        "id": "t",
        "metadata": {"tags": [book.MARKDOWN_TAG]},
        "source": "# Title\n\nProse.\n\n## Next\nMore.\n",
    }
    assert cells[2]["metadata"]["mystnb"] == {"figure": figure}
    assert cells[2]["outputs"][0]["metadata"] == {}
    import nbformat

    nbformat.validate(nbformat.from_dict({**nb, "nbformat": 4, "nbformat_minor": 5}))
    wrong = {
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": "w",
                "metadata": {"tags": [book.MARKDOWN_TAG]},
                "source": "",
                "execution_count": 1,
                "outputs": [{"output_type": "stream", "name": "stderr", "text": "a warning"}],
            },
        ],
    }
    with pytest.raises(ValueError, match="cell 0 is tagged 'output-as-markdown' but has an"):
        book.finish(wrong)


def test_cli_book_parameters_are_parsed_as_python_values():
    from imgloss.cli.book import parse_parameters as _parse_parameters
    from imgloss.cli.commands import main

    assert _parse_parameters(["seed=1", "profile=paper", "data_root=None", "x=a b"]) == {
        "seed": 1,
        "profile": "paper",
        "data_root": None,
        "x": "a b",
    }
    with pytest.raises(ValueError, match="NAME=VALUE"):
        _parse_parameters(["seed"])
    assert main(["book", "--repo", str(REPO), "--list"]) == 0


def test_a_failing_notebook_names_itself_and_the_cell(tmp_path, monkeypatch):
    pytest.importorskip("papermill")
    import nbformat

    from imgloss.book import build as book

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_config.yml").write_text("title: t\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("profile = 'quick'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise RuntimeError('boom ' + profile)"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "notebooks" / "01-losses.ipynb")
    monkeypatch.setattr(book, "NOTEBOOKS", ("01-losses",))
    with pytest.raises(book.BookError, match="unknown notebook parameter"):
        book.execute(tmp_path, None, {"nope": 1}, progress=False)
    with pytest.raises(book.NotebookError) as err:
        book.execute(tmp_path, None, {"profile": "smoke"}, progress=False)
    message = str(err.value)
    assert "'01-losses'" in message and "RuntimeError: boom smoke" in message
    assert err.value.cell is not None and "cell" in message
    assert (tmp_path / "book" / "executed" / "01-losses.ipynb").is_file()


def test_fig8_table_and_measures_text(tmp_path):
    """Fig. 8's table: one column per sigma in order, scaled values, the best sigma in bold, a
    dash for a missing run; measures_text formats one cell the same way."""
    from imgloss.metrics import LOWER_IS_BETTER

    def cells(good):
        return {
            m: (1 - good) / 1000 if m in LOWER_IS_BETTER else good for m in report.FIG8_MEASURES
        }

    table = {"ssim1": cells(0.5), "ssim3": cells(0.9), "ssim9": cells(0.7)}  # no ssim5 run
    text = report.fig8_markdown(_view(tmp_path, fig8=table))
    lines = text.splitlines()
    assert lines[0].startswith("**Networks trained with SSIM at σ = k, Kodak24**")
    assert lines[2] == "| measure | SSIM1 | SSIM3 | SSIM5 | SSIM9 |"
    assert lines[4] == "| 1000·ℓ2 | 0.500 | **0.100** | — | 0.300 |"  # lower is better
    assert "| SSIM | 0.5000 | **0.9000** | — | 0.7000 |" in lines
    assert "| chroma shift | **0.50** | 0.90 | — | 0.70 |" in lines  # signed: best at zero
    assert len(lines) == 4 + len(report.FIG8_MEASURES)
    assert report.fig8_markdown(records.open_view(tmp_path / "none", "quick")) == ""
    cells = _summary("x", {"a": {"psnr": 29.904, "ssim": 0.86931}}).measures(
        "demosaic", "a", "Kodak24"
    )
    assert report.measures_text(cells) == "PSNR 29.90 · SSIM 0.8693"
    assert report.measures_text(None) == ""


def test_a_notebook_started_in_notebooks_reads_the_committed_results(tmp_path, monkeypatch):
    """JupyterLab starts kernels in ``notebooks/``: the results are still found from the
    repository root, the notebook trains nothing by default, and nothing is written there."""
    papermill = pytest.importorskip("papermill")
    from imgloss.book import build as book

    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    notebooks = REPO / "notebooks"
    before = sorted(p.name for p in notebooks.iterdir())
    assert book.repository_root(notebooks) == REPO and book.repository_root(tmp_path) is None
    assert book.parameters_of(notebooks / "02-table1.ipynb")["train_missing"] is False
    out = tmp_path / "02.ipynb"
    papermill.execute_notebook(
        str(notebooks / "02-table1.ipynb"),
        str(out),
        cwd=str(notebooks),
        parameters={"profile": "quick"},
        progress_bar=False,
        kernel_name="python3",
    )
    shown = "".join(json.dumps(c.get("outputs", [])) for c in json.loads(out.read_text())["cells"])
    assert "No demosaicking results" not in shown and "l1 beats l2" in shown
    assert sorted(p.name for p in notebooks.iterdir()) == before


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [
        ("profile=quik", "one of smoke, quick, paper"),
        ("seed=-1", "a whole number >= 0"),
        ("train_missing=maybe", "True, False or None"),
        ("data_root=/no/such/folder", "an existing folder of datasets"),
        ("data_source=mine", "auto, embedded or registered-<checksum>"),
    ],
)
def test_book_parameters_are_checked_before_any_notebook_runs(parameter, expected, capsys):
    from imgloss.cli.commands import main

    name = parameter.split("=")[0]
    assert main(["book", "--repo", str(REPO), "--no-build", "-p", parameter]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: notebook parameter {name}=") and expected in err
    assert "executing" not in err
