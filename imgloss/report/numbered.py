"""Numbered tables for the book: the report's Markdown tables as MyST ``{table}`` directives.

The book renders the notebooks' Markdown outputs as MyST (``nb_render_markdown_format: myst``),
so a table written as

    ~~~~{table} Caption
    :name: tab-table1-demosaic

    | a | b |
    |---|---|
    ~~~~

gets a number ("Table 2.1") under ``numfig``, and the prose can refer to it with
``{numref}`tab-table1-demosaic```. :func:`numbered` turns every table of a Markdown text into
such a directive. A table's caption is the bold or italic paragraph right above it (the report
heads its tables that way; the paragraph moves into the caption), else the caption given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADING = re.compile(r"^(\*\*.+|\*[^*\s].*\*:?)$")
_DELIMITER = re.compile(r"^\s*\|[\s:|-]+\|\s*$")


def numbered(
    markdown: str,
    name: str,
    caption: str | Sequence[str] | None = None,
    *,
    missing: str | None = None,
) -> str:
    """``markdown`` with each table turned into a numbered ``{table}`` directive.

    The first table is named ``name``, the next ``name-2``, ``name-3``, ...; each is captioned by
    the heading paragraph above it, else by ``caption`` (one string for every table, or one per
    table). A table with neither raises ``ValueError``: every table of the book has a caption.
    Text that is not a table is kept. Where ``markdown`` holds no table and ``missing`` is given,
    a one-cell table saying ``missing`` takes its place, so that a reference to ``name`` always
    resolves (the book is built with warnings as errors).
    """
    out: list[str] = []
    count = 0
    for block in _blocks(markdown):
        head, table, tail = _split(block)
        if not table:
            out.append(block)
            continue
        title = _caption(head.pop()) if head and _HEADING.match(head[-1]) else None
        if not head and title is None and out and "\n" not in out[-1]:
            title = _caption(out.pop()) if _HEADING.match(out[-1]) else None
        title = title or _nth(caption, count)
        if not title:
            raise ValueError(f"table {name}: no heading above it and no caption given")
        fenced = directive(table, title, name if count == 0 else f"{name}-{count + 1}")
        out.append("\n".join([*head, fenced, *tail]))
        count += 1
    if count == 0 and missing is not None:
        title = _nth(caption, 0)
        if not title:
            raise ValueError(f"table {name}: a missing table needs a caption")
        out.append(directive([f"| {missing} |", "|---|"], title, name))
    return "\n\n".join(out) + "\n"


def _nth(caption: str | Sequence[str] | None, k: int) -> str | None:
    if caption is None or isinstance(caption, str):
        return caption
    return caption[k] if k < len(caption) else None


def directive(table: list[str], caption: str, name: str) -> str:
    """One Markdown table (its lines) as a ``{table}`` directive, fenced with tildes: a caption
    may hold code spans, which a backtick fence's info string may not."""
    caption = " ".join(caption.split())
    return "\n".join([f"~~~~{{table}} {caption}", f":name: {name}", "", *table, "~~~~"])


def _blocks(markdown: str) -> list[str]:
    """The paragraphs of ``markdown`` (split at blank lines), empty ones dropped."""
    return [b.strip("\n") for b in re.split(r"\n\s*\n", markdown) if b.strip()]


def _split(block: str) -> tuple[list[str], list[str], list[str]]:
    """``(lines before, table lines, lines after)`` of a paragraph holding one table (a header
    row, a delimiter row and the body), else ``(lines, [], [])``."""
    lines = block.splitlines()
    is_row = [line.lstrip().startswith("|") for line in lines]
    first = next((i for i, row in enumerate(is_row) if row), None)
    if first is None or first + 1 >= len(lines) or not _DELIMITER.match(lines[first + 1]):
        return lines, [], []
    last = first
    while last + 1 < len(lines) and is_row[last + 1]:
        last += 1
    return lines[:first], lines[first : last + 1], lines[last + 1 :]


def _caption(heading: str) -> str:
    """A heading paragraph as a caption: an italic one loses its emphasis and final colon."""
    heading = heading.strip()
    if heading.startswith("*") and not heading.startswith("**") and heading.endswith("*"):
        heading = heading[1:-1].rstrip(":").strip()
    return heading


#: The key, in an output's metadata, of the options of a numbered figure computed by a notebook
#: (:func:`display_figure`). The book's build (:func:`imgloss.book.build.finish`) moves them into
#: the cell's ``mystnb.figure`` metadata, where MyST-NB reads them.
FIGURE_KEY = "imgloss_figure"


def display_figure(obj, name: str, caption: str) -> None:
    """Display ``obj`` (anything IPython displays) as the numbered figure ``name`` with
    ``caption``, both computed: the cell's figure options, written by hand in its ``mystnb``
    metadata otherwise, so that chapters executed from one notebook (Table 1's, once per task)
    each name their own figure."""
    from IPython.display import display

    display(obj, metadata={FIGURE_KEY: {"caption": caption, "name": name}})
