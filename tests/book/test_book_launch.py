"""The book's launch buttons and what a launched notebook needs, without building the book.

One repository URL (``_config.yml``'s ``repository.url``) drives the Binder, Colab and
JupyterHub buttons, the notebooks' setup cell and ``CITATION.cff``; the buttons open the sources
in ``notebooks/`` (``book/_ext/imgloss_offline.py``). The built buttons are checked in a browser
by ``tests/book/test_book_browser.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from imgloss.book import build as book

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
URL = CONFIG["repository"]["url"]


def _setup_cell(name: str) -> str:
    nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())
    cells = [c for c in nb["cells"] if "launch-setup" in c["metadata"].get("tags", [])]
    assert len(cells) == 1, name
    assert "remove-cell" in cells[0]["metadata"]["tags"], name  # never shown in the book
    assert nb["cells"].index(cells[0]) < next(  # before the parameters cell and any import
        i for i, c in enumerate(nb["cells"]) if "parameters" in c["metadata"].get("tags", [])
    )
    return "".join(cells[0]["source"])


def test_one_repository_url_drives_the_launch_buttons():
    assert URL.startswith("https://github.com/") and len(URL.split("/")) == 5
    launch = CONFIG["launch_buttons"]
    assert {"binderhub_url", "colab_url", "jupyterhub_url"} <= set(launch)
    assert all(launch[k].startswith("https://") for k in ("binderhub_url", "colab_url"))
    assert CONFIG["repository"]["branch"] == "main"
    assert CONFIG["html"]["use_download_button"] is True
    assert (REPO / "binder" / "requirements.txt").is_file()
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["repository-code"] == URL


def test_every_notebook_has_the_same_setup_cell_with_the_repository_url():
    cells = {name: _setup_cell(name) for name in book.SOURCES}
    assert len(set(cells.values())) == 1, "the setup cells differ"
    assert f'REPOSITORY = "{URL}"' in next(iter(cells.values()))


def test_the_setup_cell_does_nothing_where_imgloss_is_installed(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    exec(_setup_cell("02-table1"), {})  # noqa: S102 - our own notebook
    assert calls == [] and Path.cwd() == tmp_path


def test_the_setup_cell_clones_and_installs_when_launched_alone(monkeypatch, tmp_path):
    """On Colab the notebook arrives alone: it clones the repository, installs it with pip into
    the running interpreter and works from the checkout (where the committed results are)."""
    monkeypatch.chdir(tmp_path)
    calls = []

    def run(command, check):
        calls.append(command)
        if command[:2] == ["git", "clone"]:
            Path(command[-1]).mkdir()

    monkeypatch.setattr(subprocess, "run", run)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "imgloss" else real(n, *a)
    )
    start = os.getcwd()
    try:
        exec(_setup_cell("02-table1"), {})  # noqa: S102 - our own notebook
        checkout = tmp_path / "imgloss"
        assert calls == [
            ["git", "clone", "--depth", "1", URL, str(checkout)],
            [sys.executable, "-m", "pip", "install", "-q", str(checkout)],
        ]
        assert Path.cwd() == checkout
    finally:
        os.chdir(start)


def test_the_launch_buttons_open_the_notebooks_sources():
    sys.path.insert(0, str(REPO / "book" / "_ext"))
    try:
        import imgloss_offline
    finally:
        sys.path.pop(0)
    base = "https://colab.research.google.com/github/imgloss/imgloss/blob/main/"
    context = {
        "header_buttons": [
            {"label": "download-buttons", "buttons": [{"url": "_sources/book/executed/x.ipynb"}]},
            {"label": "launch-buttons", "buttons": [{"url": base + "book/executed/02-x.ipynb"}]},
        ]
    }
    imgloss_offline._launch_sources(None, "book/executed/02-x", "page.html", context, None)
    assert context["header_buttons"][1]["buttons"][0]["url"] == base + "notebooks/02-x.ipynb"
    assert context["header_buttons"][0]["buttons"][0]["url"] == "_sources/book/executed/x.ipynb"
    # Table 1's chapters are one notebook executed per task: each page opens that notebook
    binder = "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/"
    for chapter in ("02-demosaicking", "03-super-resolution", "04-jpeg"):
        executed = f"book/executed/{chapter}"
        buttons = [{"url": f"{base}{executed}.ipynb"}, {"url": f"{binder}{executed}.ipynb"}]
        context = {"header_buttons": [{"label": "launch-buttons", "buttons": buttons}]}
        imgloss_offline._launch_sources(None, executed, "page.html", context, None)
        urls = [b["url"] for b in buttons]
        assert urls[0] == base + "notebooks/02-table1.ipynb", urls
        assert urls[1].endswith("urlpath=lab/tree/notebooks/02-table1.ipynb"), urls
        assert (REPO / "notebooks" / "02-table1.ipynb").is_file()


@pytest.mark.parametrize("name", book.SOURCES)
def test_a_launched_notebook_reads_the_committed_results_by_default(name):
    """The parameters' defaults need no data root and train nothing."""
    params = book.parameters_of(REPO / "notebooks" / f"{name}.ipynb")
    assert params["results"] == "results" and params["data_root"] is None
    assert params["train_missing"] is False and params["profile"] == "quick"
