"""Build the HTML book: execute the notebooks with papermill, then run jupyter-book 1.x.

The book lives in the repository (``_config.yml``, ``_toc.yml``, ``book/``, ``notebooks/``), not
in the installed package, so every function takes the repository root. The steps:

1. :func:`vendor_js` puts MathJax 3 and the ipywidgets HTML manager into ``_vendor/`` (from the npm
   registry, once): the built pages load them from there, never from a CDN, so the book renders with
   no network.
2. :func:`execute` runs each chapter of :data:`NOTEBOOKS` with papermill, injecting the
   parameters (``profile``, ``results``, ...), into ``book/executed/`` (git-ignored). A chapter
   is executed from its own notebook in ``notebooks/``, or from a shared one with parameters of
   its own (:data:`VARIANTS`: Table 1's notebook once per task, three pages). The notebooks call
   :mod:`imgloss.experiments.runner`, which reuses finished runs and trains missing ones. A failing
   notebook raises :class:`NotebookError` naming the notebook and the cell. The executed copy is
   then finished for the book (:func:`finish`): text a notebook computed becomes Markdown cells
   (headings included) and figure options its cells' ``mystnb`` metadata, so that one notebook's
   pages differ in their titles, prose and labels.
3. :func:`build` runs ``jupyter-book build -W -n --keep-going`` with notebook execution off, so a
   warning fails the build and only the files in ``_toc.yml`` are built.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from imgloss.core.errors import UserError
from imgloss.report.numbered import FIGURE_KEY

#: The chapters, in the order they are executed (their file stems in book/executed/, one page
#: each). The book's order is ``_toc.yml``'s: the introduction opens the book but runs last, so
#: that its table of claims sees the runs the other chapters trained.
NOTEBOOKS: tuple[str, ...] = (
    "01-losses",
    "02-demosaicking",
    "03-super-resolution",
    "04-jpeg",
    "05-loss-switching",
    "06-ssim-sigma",
    "07-interactive-sweeps",
    "08-results-summary",
    "09-which-ssim",
    "10-ten-years-on",
    "00-introduction",
)
#: The chapters executed from a shared notebook, as ``chapter: (notebook, parameters)``. Table 1's
#: notebook (``notebooks/02-table1.ipynb``) is executed once per task. The parameters are the
#: chapter's own and cannot be given on the command line. Every other chapter is its own notebook.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "02-demosaicking": ("02-table1", {"task": "demosaic"}),
    "03-super-resolution": ("02-table1", {"task": "sr"}),
    "04-jpeg": ("02-table1", {"task": "jpeg"}),
}
EXECUTED = Path("book", "executed")  # papermill's output, relative to the repository root


def source_of(chapter: str) -> str:
    """The notebook (its stem in ``notebooks/``) that ``chapter`` is executed from."""
    return VARIANTS[chapter][0] if chapter in VARIANTS else chapter


#: The notebooks of ``notebooks/``, each once, in the order of :data:`NOTEBOOKS`.
SOURCES: tuple[str, ...] = tuple(dict.fromkeys(source_of(n) for n in NOTEBOOKS))


def repository_root(start: str | os.PathLike | None = None) -> Path | None:
    """The repository holding the notebooks (the first folder at or above ``start``, default the
    working directory, with ``_toc.yml`` and ``notebooks/``), or ``None`` outside one."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return None


def enter_repository_root() -> Path:
    """Make a notebook's relative paths (``results``, crops, data) mean the same wherever its
    kernel started: JupyterLab starts it in ``notebooks/``, papermill where it is told. Changes
    the working directory to :func:`repository_root` (unchanged outside a repository)."""
    root = repository_root()
    if root is not None:
        os.chdir(root)
    return Path.cwd()


BUILD = Path("_build")

#: npm packages served from _vendor/, as ``name: (package@version, folder, entry file)``
#: (pinned: html-manager 1.0.x is the one for ipywidgets 8).
VENDORED = {
    "mathjax": ("mathjax@3.2.2", "es5", "tex-mml-chtml.js"),
    "jupyter-widgets": ("@jupyter-widgets/html-manager@1.0.15", "dist", "embed.js"),
}


class BookError(UserError, RuntimeError):
    """The book could not be built (a missing tool, a failed step): a documented user error."""


class NotebookError(BookError):
    """A notebook failed while papermill executed it."""

    def __init__(self, notebook: str, cell: int | None, error: str, output: Path):
        where = f"cell {cell}" if cell is not None else "an unknown cell"
        super().__init__(
            f"notebook {notebook!r} failed in {where}: {error} (executed copy with the "
            f"traceback: {output})"
        )
        self.notebook, self.cell, self.output = notebook, cell, output


def find_root(start: str | os.PathLike | None = None) -> Path:
    """The repository root: the first folder upwards holding ``_config.yml`` and ``notebooks/``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "notebooks").is_dir():
            return folder
    raise BookError(
        f"no book found above {here}: the book is built from a checkout of the imgloss "
        "repository (a folder with _config.yml and notebooks/), not from the installed package"
    )


def vendor_js(root: str | os.PathLike, *, npm: str = "npm") -> Path:
    """Unpack MathJax and the widgets' HTML manager into ``<root>/_vendor`` unless present.

    Uses ``npm pack`` (which checks the registry's integrity hash) on the pinned versions of
    :data:`VENDORED`. Returns the ``_vendor`` folder.
    """
    vendor = Path(root) / "_vendor"
    missing = {k: v for k, v in VENDORED.items() if not (vendor / k / v[2]).is_file()}
    if not missing:
        return vendor
    if shutil.which(npm) is None:
        raise BookError(
            f"npm not found: it is needed once to fetch {', '.join(v[0] for v in missing.values())} "
            f"into {vendor} (install Node.js, or unpack those packages there by hand)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        for folder, (package, subdir, _) in missing.items():
            done = subprocess.run(
                [npm, "pack", package, "--silent"],
                cwd=tmp,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise BookError(f"npm pack {package} failed: {done.stderr.strip()}")
            tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
            with tarfile.open(tarball) as tar:
                tar.extractall(Path(tmp) / folder, filter="data")
            target = vendor / folder
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(Path(tmp) / folder / "package" / subdir, target)
            licence = Path(tmp) / folder / "package" / "LICENSE"
            if licence.is_file():
                shutil.copy(licence, target / "LICENSE")
    return vendor


def parameters_of(notebook: str | os.PathLike) -> dict[str, Any]:
    """The names and default values of the notebook's ``parameters`` cell."""
    nb = json.loads(Path(notebook).read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            namespace: dict[str, Any] = {}
            exec("".join(cell["source"]), {}, namespace)  # noqa: S102 - our own notebook
            return namespace
    raise BookError(f"{notebook} has no cell tagged 'parameters'")


def resolve(names: Iterable[str] | None) -> list[str]:
    """Chapters from full stems or unambiguous prefixes/parts (``"05"``, ``"switching"``); a
    shared notebook's name (``"02-table1"``, ``"table1"``) means all of its chapters."""
    if names is None:
        return list(NOTEBOOKS)
    out = []
    for name in names:
        stem = Path(name).stem
        hits = [n for n in NOTEBOOKS if n == stem or n.startswith(stem) or stem in n]
        shared = {s for s in set(SOURCES) - set(NOTEBOOKS) if s == stem or stem in s}
        if not hits and len(shared) == 1:
            hits = [n for n in NOTEBOOKS if source_of(n) in shared]
        elif len(hits) != 1:
            raise BookError(
                f"notebook {name!r} matches {len(hits)} notebooks; choose from "
                f"{', '.join(NOTEBOOKS)} (or {', '.join(sorted(set(SOURCES) - set(NOTEBOOKS)))}: "
                "all of its chapters)"
            )
        out += [n for n in hits if n not in out]
    return out


def execute(
    root: str | os.PathLike,
    notebooks: Iterable[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    *,
    progress: bool = True,
) -> list[Path]:
    """Execute chapters with papermill into ``<root>/book/executed``; return their paths.

    ``parameters`` are injected into every notebook that declares them (others are ignored,
    so ``profile="smoke"`` can be given to all). Unknown names, and the parameters a chapter of
    :data:`VARIANTS` sets itself (``task``), raise :class:`BookError`.
    """
    root = Path(root)
    names = resolve(notebooks)
    parameters = dict(parameters or {})
    declared = {n: parameters_of(root / "notebooks" / f"{source_of(n)}.ipynb") for n in names}
    fixed = sorted(set(parameters) & {k for n in names for k in VARIANTS.get(n, ("", {}))[1]})
    if fixed:
        raise BookError(
            f"notebook parameter(s) {fixed} are set by the book for each chapter "
            f"({', '.join(f'{n}: {VARIANTS[n][1]}' for n in names if n in VARIANTS)}); run "
            "papermill on the notebook itself to choose them"
        )
    if any("live" in d for d in declared.values()):
        parameters.setdefault("live", False)  # the static book has no kernel for live widgets
    unknown = set(parameters) - set().union(*(set(d) for d in declared.values()))
    if unknown:
        raise BookError(
            f"unknown notebook parameter(s) {sorted(unknown)}; the notebooks declare "
            f"{sorted(set().union(*(set(d) for d in declared.values())))}"
        )
    check_parameters(parameters)
    out_dir = root / EXECUTED
    out_dir.mkdir(parents=True, exist_ok=True)
    with _quiet_kernels():
        return [_execute_one(root, name, declared, parameters, progress) for name in names]


def check_parameters(parameters: Mapping[str, Any]) -> None:
    """The notebooks' shared parameters checked with the command line's rules, before any
    notebook runs: a :class:`BookError` names the parameter, the value and what it expects."""
    from imgloss.design.experiments import PROFILES

    def bad(name: str, expected: str) -> BookError:
        return BookError(f"notebook parameter {name}={parameters[name]!r}: expected {expected}")

    checks = {
        "profile": (lambda v: v in PROFILES, f"one of {', '.join(PROFILES)}"),
        "seed": (
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
            "a whole number >= 0",
        ),
        "train_missing": (lambda v: v in (None, True, False), "True, False or None"),
        "live": (lambda v: isinstance(v, bool), "True or False"),
        "results": (
            lambda v: isinstance(v, str) and not Path(v).is_file(),
            "a results folder (a path, not a file)",
        ),
        "data_root": (
            lambda v: v is None or Path(str(v)).is_dir(),
            "None or an existing folder of datasets",
        ),
        "data_source": (
            lambda v: (
                isinstance(v, str) and (v in ("auto", "embedded") or v.startswith("registered-"))
            ),
            "auto, embedded or registered-<checksum>",
        ),
    }
    for name, (ok, expected) in checks.items():
        if name in parameters and not ok(parameters[name]):
            raise bad(name, expected)


@contextlib.contextmanager
def _quiet_kernels():
    """``TQDM_DISABLE=1`` for the kernels papermill starts (they inherit the environment), so no
    progress bar becomes a stderr cell that would look like an error in the book; the
    process's environment is restored afterwards."""
    before = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = before


def _execute_one(root: Path, name: str, declared, parameters, progress: bool) -> Path:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out_dir = root / EXECUTED
    source = root / "notebooks" / f"{source_of(name)}.ipynb"
    output = out_dir / f"{name}.ipynb"
    own = VARIANTS[name][1] if name in VARIANTS else {}
    given = {k: v for k, v in parameters.items() if k in declared[name]} | own
    if progress:
        print(f"executing {name} {given or ''}", file=sys.stderr, flush=True)
    partial = output.with_suffix(".partial.ipynb")
    try:
        papermill.execute_notebook(
            str(source),
            str(partial),
            parameters=given,
            cwd=str(root),
            kernel_name="python3",
            progress_bar=progress,
            log_output=False,
        )
    except PapermillExecutionError as e:
        partial.replace(output)
        raise NotebookError(name, e.exec_count, f"{e.ename}: {e.evalue}", output) from None
    nb = json.loads(partial.read_text())
    try:
        finish(nb)
    except ValueError as err:
        partial.replace(output)
        raise BookError(f"notebook {name!r}: {err} (executed copy: {output})") from None
    nb["metadata"]["imgloss"] = {"source": f"notebooks/{source.name}", "parameters": own}
    partial.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    partial.replace(output)  # atomic: a half-executed notebook never reaches the book
    return output


#: The tags of the cells that are plumbing for a reader (parameters, papermill's injected ones).
PLUMBING_TAGS = ("parameters", "injected-parameters")
#: The tag of a code cell whose Markdown output becomes a Markdown cell of the executed notebook.
#: Text computed by the notebook (a title, headings, prose that differs between the chapters of
#: one notebook) is then part of the page as if written in a Markdown cell (MyST-NB renders
#: headings only there, never in outputs). The output must be Markdown and nothing else.
MARKDOWN_TAG = "output-as-markdown"


def finish(nb: dict) -> dict:
    """An executed notebook (nbformat's JSON, changed in place) made ready for the book: the
    plumbing cells tagged ``remove-cell`` (papermill's injected cell carries only its own tag),
    the cells tagged :data:`MARKDOWN_TAG` replaced by Markdown cells holding their output, and
    the figure options a notebook computed (``imgloss.report.numbered.display_figure``, under
    the key ``FIGURE_KEY`` of an output's metadata) moved into their cells' ``mystnb.figure``
    metadata, which MyST-NB reads.
    A cell tagged :data:`MARKDOWN_TAG` with an output that is not Markdown raises
    ``ValueError``."""
    for index, cell in enumerate(nb["cells"]):
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if any(t in tags for t in PLUMBING_TAGS) and "remove-cell" not in tags:
            tags.append("remove-cell")
        if cell["cell_type"] != "code":
            continue
        if MARKDOWN_TAG in tags:
            nb["cells"][index] = _as_markdown(cell, index)
            continue
        for output in cell.get("outputs", []):
            figure = output.get("metadata", {}).pop(FIGURE_KEY, None)  # (MyST-NB ignores it)
            if figure is not None:
                cell["metadata"].setdefault("mystnb", {})["figure"] = figure
    return nb


def _as_markdown(cell: dict, index: int) -> dict:
    """The Markdown cell holding a code cell's Markdown outputs."""
    texts = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if output.get("output_type") not in ("display_data", "execute_result") or (
            "text/markdown" not in data
        ):
            raise ValueError(
                f"cell {index} is tagged {MARKDOWN_TAG!r} but has an output that is not "
                f"Markdown ({output.get('output_type')}: {str(output)[:200]})"
            )
        text = data["text/markdown"]
        texts.append(text if isinstance(text, str) else "".join(text))
    out = {
        "cell_type": "markdown",
        "metadata": {"tags": [t for t in cell["metadata"]["tags"] if t != "remove-input"]},
        "source": "\n\n".join(t.strip("\n") for t in texts) + "\n",
    }
    if "id" in cell:
        out["id"] = cell["id"]
    return out


def build(root: str | os.PathLike, *, jupyter_book: str | None = None) -> Path:
    """Run ``jupyter-book build -W -n --keep-going`` on ``root``; return the HTML folder."""
    root = Path(root)
    missing = [n for n in NOTEBOOKS if not (root / EXECUTED / f"{n}.ipynb").is_file()]
    if missing:
        raise BookError(f"notebooks not executed yet: {', '.join(missing)} (run `imgloss book`)")
    vendor_js(root)
    exe = (
        jupyter_book
        or shutil.which("jupyter-book")
        or str(Path(sys.executable).parent / "jupyter-book")
    )
    if not Path(exe).exists() and shutil.which(exe) is None:
        raise BookError("jupyter-book not found: install the book extra (pip install -e '.[book]')")
    done = subprocess.run(
        [exe, "build", "--all", "-W", "-n", "--keep-going", "--path-output", str(root), str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    log = root / BUILD / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # no colour codes
        problems = [
            line
            for line in text.splitlines()
            if "WARNING" in line or "ERROR" in line or "Error" in line
        ]
        raise BookError(
            "jupyter-book build failed:\n  "
            + "\n  ".join(problems[:20] or ["(see log)"])
            + f"\nfull log: {log}"
        )
    return root / BUILD / "html"


def make(
    root: str | os.PathLike | None = None,
    *,
    notebooks: Iterable[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    build_html: bool = True,
    progress: bool = True,
) -> Path | None:
    """Execute the notebooks (all, or the ones named) and build the book."""
    root = find_root(root)
    execute(root, notebooks, parameters, progress=progress)
    return build(root) if build_html else None


#: The branch GitHub Pages serves a pushed book from (``imgloss book --publish``).
PAGES_BRANCH = "gh-pages"


def publish(
    root: str | os.PathLike,
    remote: str = "origin",
    *,
    branch: str = PAGES_BRANCH,
    push: bool = True,
) -> str:
    """Push the built book (``<root>/_build/html``) to ``branch`` of ``remote`` with ghp-import,
    the way jupyter-book documents it (``ghp-import -n -p -f _build/html``): one commit holding
    the pages and an empty ``.nojekyll`` (GitHub Pages would otherwise hide ``_static/``),
    force-pushed. Returns the commit of ``branch``. The build is published as it is: build it
    (and its PDF) first."""
    root = Path(root).resolve()
    html = root / BUILD / "html"
    if not (html / "index.html").is_file():
        raise BookError(f"no built book in {html}: build it first (`imgloss book --pdf`)")
    try:
        import ghp_import
    except ImportError:
        raise BookError("publishing needs ghp-import: pip install -e '.[book]'") from None
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    message = f"Book built from {head or 'an unknown commit'} (imgloss book --publish)"
    try:
        with contextlib.chdir(root):  # ghp-import works on the repository of the cwd
            ghp_import.ghp_import(
                str(html),
                mesg=message,
                remote=remote,
                branch=branch,
                push=push,
                force=True,
                nojekyll=True,
            )
    except ghp_import.GhpError as err:
        raise BookError(f"ghp-import failed to publish to {remote} {branch}: {err}") from None
    except subprocess.CalledProcessError as err:
        raise BookError(f"git failed while publishing to {remote} {branch}: {err}") from None
    done = subprocess.run(
        ["git", "rev-parse", branch], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()
