"""The whole book, built at the ``smoke`` profile and opened in headless Chromium.

The sources (``_config.yml``, ``_toc.yml``, ``references.bib``, ``book/``, ``notebooks/``) are
copied into ``_build/book-test/``, the notebooks executed there with papermill (results in that folder, so a
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

REPO = Path(__file__).resolve().parents[2]
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
    from imgloss.book import build as book

    toc = (REPO / "_toc.yml").read_text()
    pages = ["index"] + re.findall(r"file:\s*(\S+)", toc)
    if os.environ.get("IMGLOSS_BOOK_TEST_REUSE") == "1" and (WORK / "_build" / "html").is_dir():
        return WORK / "_build" / "html", pages  # developers: re-test the last build
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml", "references.bib"):
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
            overflow = page.evaluate(  # tables fit the text column (no sideways scrolling),
                # except Table 1's, whose values never wrap and which may scroll (issue 33)
                "[...document.querySelectorAll('.pst-scrollable-table-container')]"
                ".filter(c => !c.closest('.imgloss-table1'))"
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

    from imgloss.book import pdf as book_pdf

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


# ------------------------------------------------------------- issue 33: publishing and reading
NOTEBOOK_PAGES = [
    f"book/executed/{n}" for n in ("00-introduction", "02-demosaicking", "09-which-ssim")
]


def test_notebook_pages_have_launch_buttons_and_downloads(built_book, browser):
    """Binder, Colab and JupyterHub buttons open the notebook's source in notebooks/ on the
    repository of _config.yml (for Table 1's pages, the one notebook they are executed from);
    the downloads offer the .ipynb and the page as PDF."""
    from urllib.parse import parse_qs, urlparse

    import yaml

    from imgloss.book.build import source_of

    html, _ = built_book
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    org_repo = urlparse(config["repository"]["url"]).path.strip("/")
    for name in NOTEBOOK_PAGES:
        stem = source_of(name.rsplit("/", 1)[1])  # Table 1's pages open notebooks/02-table1
        page, _, _ = _open(browser, (html / f"{name}.html").as_uri())
        try:
            links = page.evaluate(
                "[...document.querySelectorAll('.dropdown-launch-buttons a')]"
                ".map(a => [a.textContent.trim(), a.getAttribute('href')])"
            )
            urls = {text: href for text, href in links}
            assert {"Binder", "Colab", "JupyterHub"} <= set(urls), (name, links)
            for href in urls.values():
                parsed = urlparse(href)
                assert parsed.scheme == "https" and parsed.netloc, href
                assert "book/executed" not in href, href  # the sources, not ignored copies
            assert urlparse(urls["Colab"]).path == (
                f"/github/{org_repo}/blob/main/notebooks/{stem}.ipynb"
            )
            binder = urlparse(urls["Binder"])
            assert binder.path == f"/v2/gh/{org_repo}/main"
            assert parse_qs(binder.query)["urlpath"] == [f"lab/tree/notebooks/{stem}.ipynb"]
            hub = parse_qs(urlparse(urls["JupyterHub"]).query)
            assert hub["repo"] == [config["repository"]["url"]] and hub["branch"] == ["main"]
            downloads = page.evaluate(
                "[...document.querySelectorAll('.dropdown-download-buttons .btn')]"
                ".map(a => [a.textContent.trim(), a.getAttribute('href') || a.getAttribute('onclick')])"
            )
            texts = {text: target for text, target in downloads}
            assert ".ipynb" in texts and ".pdf" in texts, downloads
            ipynb = (html / name).parent / texts[".ipynb"]
            assert ipynb.resolve().is_file(), texts[".ipynb"]
        finally:
            page.close()


def test_front_page_links_the_pdf_and_how_to_cite(built_book, browser):
    html, _ = built_book
    page, _, _ = _open(browser, (html / "book/executed/00-introduction.html").as_uri())
    try:
        href = page.get_attribute("a.imgloss-pdf", "href")
        target = ((html / "book/executed") / href).resolve()
        assert target == (html / "imgloss-book.pdf").resolve()  # written by `imgloss book --pdf`
        cite = page.get_attribute("article a[href*='how-to-cite']", "href")
        assert cite and cite.split("#")[0].endswith("references.html")
    finally:
        page.close()


def test_citations_resolve_to_one_bibliography(built_book, browser):
    html, pages = built_book
    cited = 0
    for name in pages:
        text = (html / f"{name}.html").read_text()
        assert "{cite" not in text and "{term}" not in text and "{numref}" not in text, name
        cited += text.count('class="reference internal" href="references.html#id') + len(
            re.findall(r'href="[./]*book/references\.html#id\d+"', text)
        )
    assert cited >= 20
    page, _, _ = _open(browser, (html / "book/references.html").as_uri())
    try:
        entries = page.locator("article .citation, article dl.citation > dt, article div.citation")
        assert page.locator("article").inner_text().count("Zhao") >= 1
        assert entries.count() >= 20, entries.count()
        text = page.inner_text("article").lower()  # (titles are set in sentence case)
        assert "loss functions for image restoration with neural networks" in text
    finally:
        page.close()


def test_figures_are_numbered_with_captions_and_referenced(built_book, browser):
    html, _ = built_book
    for name, count in (("00-introduction", 1), ("01-losses", 2), ("06-ssim-sigma", 1)):
        page, _, _ = _open(browser, (html / f"book/executed/{name}.html").as_uri())
        try:
            numbers = page.evaluate(
                "[...document.querySelectorAll('article figure figcaption .caption-number')]"
                ".map(e => e.textContent.trim())"
            )
            assert len(numbers) >= count and all(n.startswith("Fig.") for n in numbers), numbers
            refs = page.evaluate(
                "[...document.querySelectorAll('article a.reference.internal span.std-numref')]"
                ".map(e => e.textContent.trim())"
            )
            assert refs and all(re.fullmatch(r"(Fig\.|Table) \d+", r) for r in refs), refs
            targets = page.evaluate(
                "[...document.querySelectorAll('article a.reference.internal')]"
                ".filter(a => a.querySelector('span.std-numref'))"
                ".map(a => document.getElementById(a.getAttribute('href').slice(1)) !== null)"
            )
            assert all(targets), name
        finally:
            page.close()


#: Per page: the least numbered figures and tables the committed chapters have at any profile.
NUMBERED = {
    "00-introduction": (1, 1),
    "02-demosaicking": (1, 2),
    "05-loss-switching": (2, 2),
    "06-ssim-sigma": (2, 2),
    "07-interactive-sweeps": (3, 1),
    "08-results-summary": (0, 6),
    "09-which-ssim": (1, 3),
    "10-ten-years-on": (2, 4),
}


def test_every_figure_and_table_has_a_number_a_caption_and_a_reference(built_book, browser):
    """Every output image of a chapter sits in a numbered figure and every table is numbered
    (the crops' layout tables sit inside their figure); each is referenced from the prose, and
    each reference leads to it."""
    html, _ = built_book
    for name, (figures, tables) in NUMBERED.items():
        page, _, _ = _open(browser, (html / f"book/executed/{name}.html").as_uri())
        try:
            found = page.evaluate(
                """() => {
                  const a = document.querySelector('article');
                  const num = sel => [...a.querySelectorAll(sel)].map(e => e.textContent.trim());
                  return {
                    figures: num('figure figcaption .caption-number'),
                    tables: num('table > caption .caption-number'),
                    bare_tables: [...a.querySelectorAll('table')].filter(t =>
                      !t.closest('figure') && !t.querySelector(':scope > caption .caption-number')
                    ).map(t => t.textContent.trim().slice(0, 60)),
                    bare_images: [...a.querySelectorAll('.cell_output img')].filter(i =>
                      !i.closest('figure')).map(i => (i.getAttribute('alt') || i.src).slice(0, 40)),
                    ids: [...a.querySelectorAll('figure[id], table[id]')].map(e => e.id),
                    refs: [...a.querySelectorAll('a.reference.internal')]
                      .filter(x => x.querySelector('span.std-numref'))
                      .map(x => [x.textContent.trim(), x.getAttribute('href').slice(1)]),
                  };
                }"""
            )
            assert len(found["figures"]) >= figures and len(found["tables"]) >= tables, (
                name,
                found,
            )
            assert all(re.fullmatch(r"Fig\. \d+", n) for n in found["figures"]), found["figures"]
            assert all(re.fullmatch(r"Table \d+", n) for n in found["tables"]), found["tables"]
            assert not found["bare_tables"] and not found["bare_images"], (name, found)
            refs = found["refs"]
            assert all(re.fullmatch(r"(Fig\.|Table) \d+", text) for text, _ in refs), refs
            assert all(target in found["ids"] for _, target in refs), (name, refs)
            cited = {target for _, target in refs}
            numbered = [i for i in found["ids"] if i.startswith(("fig-", "tab-"))]
            # each figure and the first table of each output is referenced from the prose
            firsts = [i for i in numbered if not re.search(r"-\d+$", i)]
            assert set(firsts) <= cited, (name, sorted(set(firsts) - cited))
        finally:
            page.close()


def test_the_committed_input_and_reference_crops_render_without_data(
    browser, tmp_path, monkeypatch
):
    """A clone without the test data shows the input and the reference beside the networks'
    crops: the committed 8-bit crops, decoded by the browser."""
    from imgloss.report import figures
    from imgloss.results import records

    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    view = records.open_view(REPO / "results", "quick", root=None)
    for task in ("demosaic", "sr", "jpeg"):
        sets = figures.crop_sets(view, task, ["l2", "l1"], root=None)
        assert sets.labels[0] == "input" and sets.labels[-1] == "reference", (task, sets.note)
        page_file = tmp_path / f"{task}.html"
        page_file.write_text(f"<html><body>{figures.crops_html(sets)}</body></html>")
        page, errors, _ = _open(browser, page_file.as_uri())
        try:
            shown = page.evaluate(
                """() => [...document.querySelectorAll('table.imgloss-crops img')].map(i =>
                     [i.alt, i.naturalWidth, i.naturalHeight])"""
            )
            alts = [alt for alt, _, _ in shown]
            assert alts.count("input") == alts.count("reference") == len(sets.crops), shown
            assert all(w == h == 96 for _, w, h in shown), shown
            assert "licence" in page.inner_text("caption") and not errors
        finally:
            page.close()


def test_glossary_links_resolve(built_book, browser):
    html, pages = built_book
    terms = {
        "cs",
        "luminance term",
        "data_range",
        "sigma_G",
        "MS-SSIM scales",
        "Mix",
        "patch-centre mode",
        "PSNR",
        "non-network columns",
    }
    page, _, _ = _open(browser, (html / "book/glossary.html").as_uri())
    try:
        defined = page.evaluate(
            "[...document.querySelectorAll('dl.glossary > dt')].map(d => [d.textContent.trim(), d.id])"
        )
        ids = {text.rstrip("#").strip(): anchor for text, anchor in defined}
        assert terms <= set(ids), ids
    finally:
        page.close()
    linked = set()
    for name in pages:
        for href in re.findall(
            r'<a class="reference internal" href="([^"]*glossary\.html#[^"]+)"',
            (html / f"{name}.html").read_text(),
        ):
            anchor = href.split("#")[1]
            assert anchor in ids.values(), (name, href)
            linked.add(anchor)
    assert len(linked) >= 8, linked


def test_no_table1_cell_wraps_at_1280px(built_book, browser):
    html, _ = built_book
    for name in ("02-demosaicking", "08-results-summary"):
        page, _, _ = _open(browser, (html / f"book/executed/{name}.html").as_uri())
        try:
            cells = page.evaluate(
                """() => [...document.querySelectorAll('.imgloss-table1 td')].map(td => {
                     // the line boxes of the cell's text: more than one top = a wrapped value
                     const walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
                     const tops = new Set();
                     for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                       if (!n.textContent.trim()) continue;
                       const r = document.createRange(); r.selectNodeContents(n);
                       [...r.getClientRects()].forEach(x => tops.add(Math.round(x.top)));
                     }
                     return [td.textContent.trim(), tops.size];
                   })"""
            )
            assert cells, f"{name}: no Table 1 cells"
            wrapped = [text for text, rows in cells if rows > 1]
            assert not wrapped, f"{name}: cells wrapped at 1280 px: {wrapped[:5]}"
        finally:
            page.close()
