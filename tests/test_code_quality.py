"""Style and types: ruff (lint and format) and mypy pass on the package, as CI requires; and
the package's shape that DEVELOPERS.md promises (short functions)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return path


def test_ruff_lints_and_formats_the_code():
    ruff = _tool("ruff")
    lint = _run(ruff, "check", "imgloss", "tests", "benchmarks", "notebooks")
    assert lint.returncode == 0, lint.stdout[-3000:]
    fmt = _run(ruff, "format", "--check", "imgloss", "tests", "benchmarks")
    assert fmt.returncode == 0, fmt.stdout[-3000:]


def test_mypy_type_checks_the_package():
    mypy = _tool("mypy")
    done = _run(mypy)  # configured in pyproject.toml: the imgloss package
    assert done.returncode == 0, done.stdout[-3000:]


def test_no_function_of_the_package_is_longer_than_about_80_lines():
    """Counted from the first line of the body (the docstring): a signature written one argument
    per line, as the formatter writes a Triton kernel's, is not length to read."""
    long = []
    for path in sorted((REPO / "imgloss").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.body[0].lineno + 1
                if lines > 90:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines})")
    assert not long, long
