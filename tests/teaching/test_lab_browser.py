"""The live path of the sweeps, as a reader meets it: JupyterLab on localhost, notebook 07 opened
in headless Chromium (playwright), "Run All Cells", the sigma slider moved, a PNG uploaded.

The notebook and the committed results are copied into a temporary folder that the server
serves (Lab saves notebooks it runs; the repository is never touched). No data root: the maps
are computed on the photographs bundled with scikit-image, as on a fresh clone. Needs the
``book`` extra (JupyterLab, playwright) and a Chromium; skipped without them unless
``IMGLOSS_REQUIRE_BOOK=1`` (CI).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "notebooks/07-interactive-sweeps.ipynb"
REQUIRED = os.environ.get("IMGLOSS_REQUIRE_BOOK") == "1"
#: Seconds for "Run All Cells" on a busy 2-core machine (about 40 s on a quiet one).
RUN_ALL_S = 420


def _need(condition: bool, what: str) -> None:
    if not condition:
        if REQUIRED:
            pytest.fail(f"IMGLOSS_REQUIRE_BOOK=1 but {what}")
        pytest.skip(what)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited with {server.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer at {url} within {timeout} s")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of notebook 07 and the results; yields its notebook URL."""
    for module in ("jupyterlab", "playwright", "ipywidgets"):
        try:
            __import__(module)
        except ImportError:
            _need(False, f"{module} is not installed (pip install -e '.[book]')")
    chromium = os.environ.get("IMGLOSS_CHROMIUM") or shutil.which("chromium")
    _need(chromium is not None, "no chromium found (apt-get install chromium)")
    work = tmp_path_factory.mktemp("lab")
    shutil.copy(REPO / "_toc.yml", work / "_toc.yml")  # marks the repository root for the notebook
    (work / "notebooks").mkdir()
    shutil.copy(REPO / NOTEBOOK, work / NOTEBOOK)
    shutil.copytree(REPO / "results", work / "results")
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "IMGLOSS_DATA_ROOT"}
    env |= {"JUPYTER_CONFIG_DIR": str(work / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(work / ".rt")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            "--ServerApp.open_browser=False",
            "--allow-root",  # CI runs as root
        ],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / "lab.log").open("w"),
    )
    try:
        _wait_for_server(
            f"http://127.0.0.1:{port}/api/status?token={token}", server, work / "lab.log"
        )
        yield chromium, f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={token}", work
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    assert server.returncode is not None  # stopped


def _visible_images(locator) -> list[str]:
    """The ``src`` of the images of ``locator`` that are displayed."""
    return locator.evaluate(
        "el => [...el.querySelectorAll('img')].filter(i => i.offsetParent !== null).map(i => i.src)"
    )


def _errors_in_outputs(page) -> list[str]:
    return page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error'],"
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    ).all_inner_texts()


def _tiny_png(path: Path) -> Path:
    import numpy as np
    from PIL import Image
    from skimage import data

    Image.fromarray(np.ascontiguousarray(data.chelsea()[60:220, 120:280])).save(path)
    return path


def test_notebook_07_runs_live_in_jupyterlab(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    chromium, url, _ = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page_errors: list[str] = []
        page.on("pageerror", lambda e: page_errors.append(str(e)))
        try:
            page.goto(url)
            page.wait_for_selector(".jp-Notebook", timeout=90_000)
            # the kernel started and idle (the status bar's "Python 3 (ipykernel) | Idle")
            page.locator(".jp-StatusBar-Widget").filter(has_text="| Idle").first.wait_for(
                timeout=120_000
            )
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            # the sweeps' widgets: two sliders of precomputed views, one chooser each (live)
            page.wait_for_selector(".widget-upload", state="attached", timeout=RUN_ALL_S * 1000)
            page.wait_for_function(
                "document.querySelectorAll('.widget-upload').length == 2 && "
                "document.querySelector(\".jp-Notebook-ExecutionIndicator[data-status='idle']\")",
                timeout=RUN_ALL_S * 1000,
            )
            assert not _errors_in_outputs(page)

            # the sigma slider switches the maps
            sigma = page.locator(".widget-slider").filter(has_text="SSIM's σ").first
            box = sigma.locator("xpath=..")
            before = _visible_images(box)
            sigma.locator(".noUi-handle").focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(500)
            after = _visible_images(box)
            assert before and after and after != before, "the maps did not change with sigma"

            # an uploaded PNG: the chooser's sweep is recomputed for it, with its name
            with page.expect_file_chooser() as chooser_opened:  # the upload button's file dialog
                page.locator(".widget-upload").first.click()
            chooser_opened.value.set_files(str(_tiny_png(tmp_path / "chelsea-crop.png")))
            chooser = page.locator(".widget-upload").first.locator("xpath=../..")
            chooser.get_by_text("chelsea-crop.png: ").first.wait_for(timeout=180_000)
            assert len(_visible_images(chooser)) >= 2  # its loss map and gradient map
            assert not _errors_in_outputs(page)
            assert not page_errors, page_errors
        finally:
            browser.close()
    assert not (REPO / "notebooks" / "results").exists()
