"""The book as one PDF, printed from the built HTML by the same headless Chromium.

``imgloss book --pdf`` (or :func:`make_pdf`) opens every page of ``_toc.yml`` in book order
(the front page first), waits until MathJax has typeset its equations, prints it with
Chromium's print engine (A4, backgrounds on, the theme's print stylesheet: no sidebars), and
joins the pages into ``_build/imgloss-book.pdf`` with one bookmark per chapter (pypdf).
Figures are the pages' own images and equations MathJax's own output, so the PDF shows what the
HTML shows. Chromium is the system's (``/usr/bin/chromium`` or ``$IMGLOSS_CHROMIUM``), driven by
playwright, which downloads nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from imgloss.book.build import BUILD, BookError

PDF_NAME = "imgloss-book.pdf"


@dataclass(frozen=True)
class Chapter:
    """One page of the book: its path in the built HTML (no suffix) and its title."""

    page: str
    title: str


def toc_pages(root: Path) -> list[str]:
    """The book's pages in reading order: the root, then every ``file:`` of ``_toc.yml``."""
    toc = (root / "_toc.yml").read_text()
    first = re.search(r"^root:\s*(\S+)", toc, re.MULTILINE)
    pages = [first.group(1)] if first else []
    return pages + [p for p in re.findall(r"file:\s*(\S+)", toc) if p not in pages]


def chromium() -> str:
    """The Chromium executable to print with (a ``imgloss.book.build.BookError`` if there is
    none)."""
    found = os.environ.get("IMGLOSS_CHROMIUM") or shutil.which("chromium")
    if not found:
        for candidate in ("chromium-browser", "google-chrome"):
            found = shutil.which(candidate)
            if found:
                break
    if not found:
        raise BookError(
            "no Chromium found to print the PDF: install chromium (e.g. apt-get install "
            "chromium) or set IMGLOSS_CHROMIUM to its executable"
        )
    return found


def make_pdf(
    root: str | os.PathLike, out: str | os.PathLike | None = None, *, browser=None
) -> Path:
    """Print the built book under ``root/_build/html`` into one PDF; return its path.

    By default the PDF is ``_build/imgloss-book.pdf``, copied into the built site as well
    (``_build/html/imgloss-book.pdf``, the file the front page links to, so that a published
    book carries it). ``browser``: a playwright Chromium browser to print with (default: start
    one)."""
    root = Path(root).resolve()
    html = root / BUILD / "html"
    if not (html / "index.html").is_file():
        raise BookError(f"no built book in {html}: build it first (`imgloss book`)")
    in_site = out is None
    out = Path(out) if out is not None else root / BUILD / PDF_NAME
    try:
        from playwright.sync_api import sync_playwright
        from pypdf import PdfReader, PdfWriter
    except ImportError as err:
        raise BookError(
            f"the PDF needs the book extra ({err.name} is missing): pip install -e '.[book]'"
        ) from None
    pages = [p for p in toc_pages(root) if (html / f"{p}.html").is_file()]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if browser is None:  # start our own, closed when the stack unwinds
            pw = stack.enter_context(sync_playwright())
            browser = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
            stack.callback(browser.close)
        chapters = [_print_page(browser, html, page, Path(tmp)) for page in pages]
        writer = PdfWriter()
        for chapter, page in zip(chapters, pages, strict=True):
            start = len(writer.pages)
            for sheet in PdfReader(Path(tmp) / _pdf_name(page)).pages:
                writer.add_page(sheet)
            writer.add_outline_item(title=chapter.title, page_number=start)
        writer.add_metadata({"/Title": chapters[0].title if chapters else "imgloss"})
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with open(partial, "wb") as handle:
            writer.write(handle)
        partial.replace(out)
    if in_site:
        shutil.copyfile(out, html / PDF_NAME)
    return out


def _pdf_name(page: str) -> str:
    return page.replace("/", "_") + ".pdf"


def _print_page(browser, html: Path, page: str, tmp: Path) -> Chapter:
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        tab.goto((html / f"{page}.html").as_uri(), wait_until="load")
        tab.evaluate("() => (window.MathJax && MathJax.startup && MathJax.startup.promise) || null")
        title = tab.evaluate(
            "() => (document.querySelector('article h1') || {}).textContent || document.title"
        )
        tab.emulate_media(media="print")
        tab.pdf(
            path=str(tmp / _pdf_name(page)),
            format="A4",
            print_background=True,
            margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
        )
        return Chapter(page, title.replace("#", "").strip() or page)
    finally:
        tab.close()
