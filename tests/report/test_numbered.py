"""Numbered tables (:mod:`imgloss.report.numbered`): every Markdown table of the report becomes a MyST
``{table}`` directive with a name and a caption, parsed back here with the MyST parser the book
uses (markdown-it with the MyST plugins)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgloss.report import tables as report
from imgloss.report.numbered import numbered
from imgloss.results import records

REPO = Path(__file__).resolve().parents[2]

TABLE = "| a | b |\n|---|---|\n| 1 | 2 |"


def directives(text: str) -> list[tuple[str, str, list[str]]]:
    """``(caption, name, table lines)`` of each ``{table}`` directive, read by MyST's parser."""
    mdit = pytest.importorskip("myst_parser.parsers.mdit")
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig

    tokens = mdit.create_md_parser(MdParserConfig(), RendererHTML).parse(text)
    out = []
    for t in tokens:
        if t.type == "fence" and t.info.startswith("{table}"):
            lines = t.content.splitlines()
            assert lines[0].startswith(":name: ") and lines[1] == ""
            out.append((t.info[len("{table}") :].strip(), lines[0][len(":name: ") :], lines[2:]))
    return out


def test_a_table_gets_the_name_and_the_caption():
    [(caption, name, lines)] = directives(numbered(TABLE, "tab-x", "The caption"))
    assert (caption, name) == ("The caption", "tab-x") and lines == TABLE.splitlines()


def test_the_heading_above_a_table_becomes_its_caption_and_later_tables_count_up():
    text = (
        f"intro text\n\n**Kodak24** (24 images)\n\n{TABLE}\n\n*The paper's Table 1:*\n\n{TABLE}\n"
    )
    out = numbered(text, "tab-t1", "fallback")
    found = directives(out)
    assert [(c, n) for c, n, _ in found] == [
        ("**Kodak24** (24 images)", "tab-t1"),
        ("The paper's Table 1", "tab-t1-2"),
    ]
    assert out.startswith("intro text\n\n") and "\n\n**Kodak24**" not in out  # moved


def test_captions_may_be_given_one_per_table():
    found = directives(numbered(f"{TABLE}\n\ntext\n\n{TABLE}", "tab-p", ["first", "second"]))
    assert [(c, n) for c, n, _ in found] == [("first", "tab-p"), ("second", "tab-p-2")]


def test_a_table_without_any_caption_is_refused():
    with pytest.raises(ValueError, match="table tab-z: no heading above it and no caption"):
        numbered(TABLE, "tab-z")


def test_without_a_table_the_missing_text_keeps_the_name_resolvable():
    assert numbered("*nothing here*", "tab-m", "Cap") == "*nothing here*\n"
    [(caption, name, lines)] = directives(numbered("", "tab-m", "Cap", missing="Not run yet."))
    assert (caption, name, lines) == ("Cap", "tab-m", ["| Not run yet. |", "|---|"])


def test_a_pipe_in_prose_is_not_a_table():
    text = "| not a table, no delimiter row |\n| second line |"
    assert numbered(text, "tab-q", "c") == text + "\n"


def test_table1_of_the_committed_results_is_numbered_ours_then_the_papers():
    view = records.open_view(REPO / "results", "quick", root=None)
    found = directives(numbered(report.table1_markdown(view, tasks=["demosaic"]), "tab-t1"))
    assert [n for _, n, _ in found] == ["tab-t1", "tab-t1-2"]
    assert found[0][0].startswith("**Joint denoising + demosaicking, Kodak24**")
    assert found[1][0].startswith("The paper's Table 1, Joint denoising + demosaicking")
    assert all(lines[0].startswith("| measure |") for _, _, lines in found)


def test_a_table_inside_a_block_directive_is_numbered_in_place():
    text = f":::{{div}} imgloss-wrap\n{TABLE}\n:::\n"
    out = numbered(text, "tab-w", "wrapped")
    assert out.startswith(":::{div} imgloss-wrap\n~~~~{table} wrapped\n:name: tab-w\n")
    assert out.rstrip().endswith("~~~~\n:::")
