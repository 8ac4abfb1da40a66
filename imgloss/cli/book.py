"""The book: ``imgloss reproduce`` (the main job: demo, results and the book) and ``imgloss
book`` (execute the notebooks, build the HTML book, print it to PDF, publish it)."""

from __future__ import annotations

import argparse

from imgloss.cli import options
from imgloss.core.errors import InputError


def add_parsers(sub) -> None:
    reproduce = sub.add_parser(
        "reproduce",
        help="the main job: demo, results and the book (what scripts/reproduce.sh runs)",
        description="With a data root: compute the baselines and train every run of the "
        "profile that is not finished on that data, then build the book from them. Without one: "
        "train nothing, build the book from the committed results (and what the embedded "
        "photographs allow: the demo, the loss maps, the toy analysis). Committed files are "
        "never rewritten unless their data root is given and they are missing.",
    )
    options.add(reproduce, "profile", "results", "root")
    reproduce.add_argument(
        "--train-embedded",
        action="store_true",
        help="without a data root, train the profile's runs on the embedded photographs (a "
        "smoke check of the pipeline; their results never replace results on real data)",
    )
    reproduce.add_argument("--no-book", action="store_true", help="skip the book")
    reproduce.set_defaults(func=reproduce_command)

    book = sub.add_parser(
        "book",
        help="execute the notebooks with papermill and build the HTML book (from a checkout)",
        description="Execute notebooks/ with papermill into book/executed/ (finished runs are "
        "reused, missing ones trained), then build the book with jupyter-book into _build/html. "
        "Examples: `imgloss book` (everything); `imgloss book --only 06 -p seed=1` (rerun one "
        "notebook with new parameters, then rebuild).",
    )
    options.add(
        book,
        "profile",
        profile={"help": "the runs shown (default: paper on a GPU, quick otherwise)"},
    )
    book.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="NOTEBOOK",
        help="execute only these notebooks (name, number or unique part, e.g. 06 or switching; "
        "table1: Table 1's three chapters)",
    )
    book.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="notebook parameter (repeatable); VALUE is read as Python/JSON when it parses, "
        "else as a string",
    )
    book.add_argument("--no-build", action="store_true", help="execute only, skip jupyter-book")
    book.add_argument("--list", action="store_true", help="list the notebooks and parameters")
    book.add_argument(
        "--pdf",
        action="store_true",
        help="also print the built book into one PDF (_build/imgloss-book.pdf) with headless "
        "Chromium; with --pdf-only, print the last build without executing anything",
    )
    book.add_argument(
        "--pdf-only", action="store_true", help="print the existing build into the PDF only"
    )
    book.add_argument(
        "--publish",
        nargs="?",
        const="origin",
        default=None,
        metavar="REMOTE",
        help="push the last build (_build/html, with the PDF when it was printed) to the "
        "gh-pages branch of REMOTE (default origin) with ghp-import, executing and building "
        "nothing; build it first with `imgloss book --pdf`",
    )
    book.add_argument(
        "--repo", default=None, help="the repository checkout (default: found from the cwd)"
    )
    book.set_defaults(func=book_command)


def reproduce_command(args: argparse.Namespace) -> int:
    from imgloss.book import reproduce

    return reproduce.main_job(
        options.default_profile(args.profile),
        results=args.results,
        root=args.root,
        train_embedded=args.train_embedded,
        build_book=not args.no_book,
    )


def parse_parameters(items: list[str]) -> dict:
    """``["seed=1", "profile=paper"]`` -> ``{"seed": 1, "profile": "paper"}``."""
    import ast

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise InputError(f"-p expects NAME=VALUE with a Python identifier, got {item!r}")
        try:
            out[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[name] = value
    return out


def book_command(args: argparse.Namespace) -> int:
    from imgloss.book import build as book

    root = book.find_root(args.repo)
    if args.publish is not None:
        commit = book.publish(root, args.publish)
        print(f"published: {args.publish} {book.PAGES_BRANCH} at {commit[:12]}")
        return 0
    if args.pdf_only:
        return _book_pdf(root)
    if args.list:
        for name in book.NOTEBOOKS:
            source = book.source_of(name)
            params = book.parameters_of(root / "notebooks" / f"{source}.ipynb")
            params |= book.VARIANTS.get(name, (source, {}))[1]
            shared = f" (notebooks/{source}.ipynb)" if source != name else ""
            print(f"{name}{shared}: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
        return 0
    parameters = parse_parameters(args.parameter)
    if "profile" in parameters and args.profile and parameters["profile"] != args.profile:
        raise InputError("give the profile once: --profile or -p profile=..., not both")
    parameters.setdefault("profile", options.default_profile(args.profile))
    # as before: the book trains a notebook's missing runs when a data root is set (None);
    # a notebook opened by hand trains nothing unless asked (its default is False)
    parameters.setdefault("train_missing", None)
    html = book.make(root, notebooks=args.only, parameters=parameters, build_html=not args.no_build)
    if html is not None:
        print(f"book: {html / 'index.html'}")
    return _book_pdf(root) if args.pdf else 0


def _book_pdf(root) -> int:
    from imgloss.book import pdf as book_pdf

    out = book_pdf.make_pdf(root)
    print(f"pdf: {out}")
    return 0
