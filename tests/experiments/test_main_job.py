"""The main job as a new user meets it: a fresh clone, no data root, no GPU.

``imgloss reproduce`` (what ``scripts/reproduce.sh`` runs) must train nothing, build the book from
the committed results, show our Table 1 for the three tasks in ``imgloss report`` and in the book,
and leave every committed file byte-identical. The repository is copied (its tracked and
unignored files, as a clean clone has them) into a fresh git repository, and the job runs there
with this interpreter, the copy's own ``imgloss`` first on the path.

Needs the ``book`` extra (papermill, jupyter-book) and the vendored JavaScript (fetched from npm
once); skipped without them unless ``IMGLOSS_REQUIRE_BOOK=1`` (CI).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imgloss.design.experiments import PROFILES, experiment_runs
from imgloss.results import records
from imgloss.results.estimate import of_view

REPO = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("IMGLOSS_REQUIRE_BOOK") == "1"
#: Our Table 1's first test set per task, and the book page that shows it.
PAGES = {"demosaic": "02-demosaicking", "sr": "03-super-resolution", "jpeg": "04-jpeg"}


def _need(condition: bool, what: str) -> None:
    if not condition:
        if REQUIRED:
            pytest.fail(f"IMGLOSS_REQUIRE_BOOK=1 but {what}")
        pytest.skip(what)


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def _clean_copy(dest: Path) -> None:
    """The repository's files as a clean clone of this tree has them, committed in ``dest``."""
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # (a file deleted in the work tree is not part of it)
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    _git("init", "-q", cwd=dest)
    _git("add", "-A", cwd=dest)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clean", cwd=dest)


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory):
    for module in ("papermill", "jupyter_book", "ipywidgets"):
        try:
            __import__(module)
        except ImportError:
            _need(False, f"{module} is not installed (pip install -e '.[book]')")
    _need(shutil.which("git") is not None, "git is not installed")
    from imgloss.book import build as book

    try:
        vendor = book.vendor_js(REPO)  # cached in the checkout (ignored): fetched from npm once
    except book.BookError as err:
        _need(False, str(err))
    clone = tmp_path_factory.mktemp("fresh") / "imgloss"
    clone.mkdir()
    _clean_copy(clone)
    shutil.copytree(vendor, clone / "_vendor")  # ignored by git, like a user's first fetch
    env = {k: v for k, v in os.environ.items() if k != "IMGLOSS_DATA_ROOT"}
    env |= {"PYTHONPATH": str(clone), "TQDM_DISABLE": "1", "CUDA_VISIBLE_DEVICES": ""}
    job = subprocess.run(
        [sys.executable, "-m", "imgloss.cli", "reproduce", "--profile", "quick"],
        check=False,
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    return clone, job, env


def test_the_main_job_trains_nothing_and_leaves_committed_files_untouched(fresh_clone):
    clone, job, _ = fresh_clone
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    view = records.open_view(clone / "results", "quick", root=None)
    runs = len(view.runs())
    quick = PROFILES["quick"]
    made = {r for e in quick.experiments for r in experiment_runs(e, quick)}
    assert runs >= len(made) == 60  # every run of `imgloss run all`, plus any ablation runs
    assert f"the book shows {runs} runs of profile quick on registered datasets" in job.stdout
    assert "trained in this call: 0" in job.stdout and "nothing is trained" in job.stdout
    assert "source .venv/bin/activate" in job.stdout  # how to get imgloss on the PATH
    assert _git("status", "--porcelain", cwd=clone) == ""  # ignored files only
    assert (clone / "_build" / "html" / "index.html").is_file()
    assert (clone / "results" / "demo" / "losses.png").is_file()


def _our_table1_markers(view: records.View, task: str) -> tuple[str, str]:
    """The heading of our Table 1 for ``task`` and its l1 PSNR as the table prints it."""
    from imgloss.design.tasks import TASKS

    summary = view.summary("table1")
    dataset = summary.datasets(task)[0]
    psnr = summary.cell(task, "l1", dataset, "psnr").mean
    return f"{TASKS[task].title}, {dataset}", f"{psnr:.2f}"


def test_our_table1_is_in_the_report_and_in_the_book(fresh_clone):
    clone, job, env = fresh_clone
    assert job.returncode == 0, job.stderr[-3000:]
    view = records.open_view(clone / "results", "quick", root=None)
    report = subprocess.run(
        [sys.executable, "-m", "imgloss.cli", "report", "--profile", "quick"],
        check=False,
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr
    html = clone / "_build" / "html" / "book" / "executed"
    summary_page = (html / "08-results-summary.html").read_text()
    for task, page in PAGES.items():
        heading, psnr = _our_table1_markers(view, task)
        assert f"**{heading}** (ours: profile `quick`" in report.stdout
        assert "| PSNR | " in report.stdout and psnr in report.stdout
        for text in ((html / f"{page}.html").read_text(), summary_page):
            assert re.search(rf"{re.escape(heading)}</strong>\s*\(ours: profile", text), page
            cell = rf"<td><p>(<strong>)?{re.escape(psnr)}( ± [0-9.]+)?(</strong>)?</p></td>"
            assert re.search(cell, text), page  # our l1 PSNR, in a table cell
    assert "registered datasets" in summary_page and "BSDS_train" in summary_page


def test_the_readme_quotes_the_measured_time_of_the_quick_profile():
    """One source of the time estimate: the committed runs' own wall times."""
    view = records.open_view(REPO / "results", "quick", root=None)
    estimate = of_view(view, PROFILES["quick"].experiments)
    readme = (REPO / "README.md").read_text()
    match = re.search(r"`quick` profile's (\d+) training runs take\s+about (\d+) minutes", readme)
    assert match, "the README states the quick profile's time"
    assert int(match.group(1)) == estimate.runs
    assert abs(int(match.group(2)) - estimate.minutes) <= 1
    for place in ("scripts/reproduce.sh", "imgloss/design/experiments.py"):
        text = (REPO / place).read_text()
        assert "--estimate" in text and not re.search(r"\d+ min(utes)? on 2", text), place


def test_the_pages_show_no_plumbing_cells(fresh_clone):
    """Parameters, papermill's injected parameters and the imports are removed from the HTML;
    the tables are shown without the code that displays them."""
    clone, job, _ = fresh_clone
    assert job.returncode == 0, job.stderr[-3000:]
    html = clone / "_build" / "html" / "book" / "executed"
    for page in sorted(html.glob("0*.html")):
        text = page.read_text()
        assert "# Parameters" not in text and "train_missing" not in text, page.name
        assert "from IPython.display import" not in text, page.name
        assert "display(Markdown(report." not in text, page.name
    assert "closed_form" in (html / "01-losses.html").read_text()  # teaching code stays


def test_the_front_page_opens_with_the_claims_and_the_key_figure(fresh_clone):
    """The book's first page: the paper's claims with our verdicts (a table with effect,
    interval and counts) and the gains-over-l2 figure, from the committed results."""
    clone, job, _ = fresh_clone
    assert job.returncode == 0, job.stderr[-3000:]
    front = (clone / "_build" / "html" / "book" / "executed" / "00-introduction.html").read_text()
    assert re.search(r"claims of the paper, checked \d+ times", front)
    assert "effect [95% CI]" in front and "images × seeds" in front
    for verdict in ("holds", "undecided"):
        assert f"<strong>{verdict}</strong>" in front
    assert front.count("<img") >= 1  # the key figure
    index = (clone / "_build" / "html" / "index.html").read_text()
    assert "00-introduction" in index  # the book opens on it


def test_the_book_without_data_shows_the_committed_input_and_reference(fresh_clone):
    """No data root: the visual comparisons still show the input and the reference (the crops
    committed beside the results, their licence named), and the sweeps show the networks."""
    clone, job, _ = fresh_clone
    assert job.returncode == 0, job.stderr[-3000:]
    html = clone / "_build" / "html" / "book" / "executed"
    for page in PAGES.values():
        text = (html / f"{page}.html").read_text()
        table = text[text.index('class="imgloss-crops"') :]
        table = table[: table.index("</table>")]
        assert table.count('alt="input"') == table.count('alt="reference"') == 2, page
        assert "committed 8-bit crops" in table and "licence" in table, page
    sweeps = (html / "07-interactive-sweeps.html").read_text()
    assert "from the committed 8-bit crops" in sweeps
    assert "the networks are not shown" not in sweeps
