"""The whole book, built at the ``smoke`` profile and opened in headless Chromium.

The sources (``_config.yml``, ``_toc.yml``, ``book/``, ``notebooks/``) are copied into
``_build/book-test/``, the notebooks executed there with papermill (results in that folder, so a
built ``quick``/``paper`` book is not touched), the book built with jupyter-book (warnings are
errors), and every page of the TOC opened in Chromium with the network cut off. Screenshots of a
few pages stay in ``_build/book-test/screenshots/`` (CI artifacts).

Needs the ``book`` extra and a Chromium (Debian's ``chromium``; ``IMGLOSS_CHROMIUM`` overrides the
path). Without them the module is skipped, unless ``IMGLOSS_REQUIRE_BOOK=1`` (set by CI), which
turns a missing tool into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "_build" / "book-test"
REQUIRED = os.environ.get("IMGLOSS_REQUIRE_BOOK") == "1"
SCREENSHOTS = (
    "index",
    "book/executed/02-demosaicking",
    "book/executed/06-ssim-sigma",
    "book/executed/07-interactive-sweeps",
    "book/executed/08-results-summary",
)


def _need(condition: bool, what: str) -> None:
    if not condition:
        if REQUIRED:
            pytest.fail(f"IMGLOSS_REQUIRE_BOOK=1 but {what}")
        pytest.skip(what)


def _chromium() -> str | None:
    path = os.environ.get("IMGLOSS_CHROMIUM")
    return path or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def built_book():
    for module in ("papermill", "jupyter_book", "playwright", "ipywidgets"):
        try:
            __import__(module)
        except ImportError:
            _need(False, f"{module} is not installed (pip install -e '.[book]')")
    _need(_chromium() is not None, "no chromium found (apt-get install chromium)")
    from imgloss import book

    toc = (REPO / "_toc.yml").read_text()
    pages = ["index"] + re.findall(r"file:\s*(\S+)", toc)
    if os.environ.get("IMGLOSS_BOOK_TEST_REUSE") == "1" and (WORK / "_build" / "html").is_dir():
        return WORK / "_build" / "html", pages  # developers: re-test the last build
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO / name, WORK / name)
    shutil.copytree(REPO / "notebooks", WORK / "notebooks")
    shutil.copytree(REPO / "book", WORK / "book", ignore=shutil.ignore_patterns("executed"))
    vendor = book.vendor_js(REPO)  # cached in the checkout: fetched from npm once
    shutil.copytree(vendor, WORK / "_vendor")
    parameters = {"profile": "smoke", "results": str(WORK / "results"), "train_missing": True}
    book.execute(WORK, None, parameters, progress=False)
    return book.build(WORK), pages


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=_chromium(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    external: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def route(r):
        if r.request.url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_timeout(1500)
    return page, errors, external


#: Text that is TeX source rather than typeset math, in the article, headings and sidebar (code,
#: typeset math and scripts left out): a backslash command, a dollar sign, or a ``_{``.
RAW_TEX_JS = r"""(withArticle) => {
  const found = [];
  const where = withArticle ? 'article, nav, .bd-sidebar-primary' : 'nav, .bd-sidebar-primary';
  for (const root of document.querySelectorAll(where)) {
    const copy = root.cloneNode(true);
    copy.querySelectorAll('pre, code, mjx-container, script, style, .math, kbd')
        .forEach(e => e.remove());
    const text = copy.textContent;
    const hits = text.match(/\\(frac|mathcal|sigma|alpha|ell|mathrm|partial|sum|left|right)\b|\$|_\{/g);
    if (hits) found.push(...hits.slice(0, 5));
  }
  return found;
}"""
#: Typeset equations whose right edge passes the article's (clipped or overflowing).
CLIPPED_MATH_JS = """() => {
  const article = document.querySelector('article').getBoundingClientRect();
  return [...document.querySelectorAll('article mjx-container')]
    .filter(m => m.getBoundingClientRect().right > article.right + 1
                 || (m.getAttribute('display') === 'true' && m.scrollWidth > m.clientWidth + 1))
    .map(m => (m.getAttribute('aria-label') || m.textContent).slice(0, 60));
}"""


def test_every_page_renders_offline_with_math_images_and_no_errors(built_book, browser):
    html, pages = built_book
    shots = WORK / "screenshots"
    shots.mkdir(exist_ok=True)
    for name in pages:
        page, errors, external = _open(browser, (html / f"{name}.html").as_uri())
        try:
            where = f"page {name}"
            assert page.locator(".output.error, .output.traceback, .output.stderr").count() == 0, (
                where
            )
            body = page.inner_text("article")
            assert "Traceback" not in body and "Error:" not in body, where
            assert not errors, f"{where}: JavaScript errors {errors}"
            assert not external, f"{where}: requested the network {external}"
            math = page.locator("span.math, div.math").count()
            if math:
                page.wait_for_function(
                    f"document.querySelectorAll('mjx-container').length >= {math}", timeout=15000
                )
            images = page.locator("article img")
            broken = page.evaluate(
                "[...document.querySelectorAll('article img')]"
                ".filter(i => !(i.complete && i.naturalWidth > 0)).length"
            )
            assert broken == 0, f"{where}: {broken} images did not load"
            if name.startswith("book/executed/") and not name.endswith("08-results-summary"):
                assert images.count() > 0, f"{where}: no images"
            widths = page.evaluate(  # the figure crops of one table are shown at one size
                "[...document.querySelectorAll('table.imgloss-crops')].map(t => "
                "[...t.querySelectorAll('img')].map(i => i.getBoundingClientRect().width))"
            )
            spread = [max(w) - min(w) for w in widths if w]  # (sub-pixel layout rounding)
            assert all(s <= 1.5 for s in spread), f"{where}: crops of unequal sizes {widths}"
            overflow = page.evaluate(  # tables fit the text column (no sideways scrolling)
                "[...document.querySelectorAll('.pst-scrollable-table-container')]"
                ".filter(c => c.scrollWidth > c.clientWidth + 1).length"
            )
            assert overflow == 0, f"{where}: {overflow} tables wider than the text column"
            # the API reference's docstrings write formulas in ASCII on purpose (`sum_{c, i}`)
            raw = page.evaluate(RAW_TEX_JS, not name.startswith("book/api/"))
            assert not raw, f"{where}: raw TeX in the rendered text: {raw}"
            clipped = page.evaluate(CLIPPED_MATH_JS)
            assert not clipped, f"{where}: equations wider than the text column: {clipped}"
            page.screenshot(path=str(shots / (name.replace("/", "_") + ".png")), full_page=True)
        finally:
            page.close()


def test_the_pdf_has_every_chapter_with_its_figures_and_math(built_book, browser):
    """`imgloss book --pdf`: one PDF, one bookmark per page of the table of contents in its
    order, each chapter's title on its first sheet, figures as images, equations typeset."""
    from pypdf import PdfReader

    from imgloss import book_pdf

    _, pages = built_book
    out = book_pdf.make_pdf(WORK, WORK / "screenshots" / "imgloss-book.pdf", browser=browser)
    reader = PdfReader(out)
    outline = reader.outline
    assert len(outline) == len(book_pdf.toc_pages(WORK)) == len(pages)
    starts = [reader.get_destination_page_number(o) for o in outline] + [len(reader.pages)]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)  # every chapter prints
    for item, first in zip(outline, starts, strict=False):
        text = " ".join(reader.pages[first].extract_text().split())
        assert item.title.split()[0] in text, item.title
    demosaic = outline[[o.title for o in outline].index("Joint denoising and demosaicking")]
    first = reader.get_destination_page_number(demosaic)
    chapter = reader.pages[first : starts[starts.index(first) + 1]]
    assert sum(len(p.images) for p in chapter) > 0  # its figures are in the PDF
    losses = reader.pages[starts[1]].extract_text()
    assert "\\frac" not in losses and "$$" not in losses  # equations typeset, not TeX


def test_sliders_switch_precomputed_views_without_a_kernel(built_book, browser):
    html, _ = built_book
    page, errors, _ = _open(browser, (html / "book/executed/07-interactive-sweeps.html").as_uri())
    try:
        sliders = page.locator(".widget-slider")
        assert sliders.count() == 3
        for i in range(sliders.count()):
            widget = sliders.nth(i)
            stack = widget.locator("xpath=following-sibling::*[1]")
            before = stack.inner_html()
            readout = widget.locator(".widget-readout").inner_text()
            widget.locator(".noUi-handle").focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(300)
            assert widget.locator(".widget-readout").inner_text() != readout, f"slider {i}"
            assert stack.inner_html() != before, f"slider {i}: the view did not change"
            sizes = stack.evaluate(  # every panel of one sweep has one size
                "s => [...new Set([...s.querySelectorAll('img')]"
                ".map(i => i.naturalWidth + 'x' + i.naturalHeight))]"
            )
            assert len(sizes) == 1, f"slider {i}: panels of sizes {sizes}"
        assert not errors, errors
    finally:
        page.close()
