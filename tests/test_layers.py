"""The package's layers: each sub-package imports only from its own layer or lower ones, and the
modules' import-time dependencies have no cycle.

:data:`LAYERS` is the one table of the architecture (DEVELOPERS.md draws it). Every import of
every module counts for the layers, those inside functions too; the cycle check follows the
imports a module runs when it is imported (module level), which are the ones that can deadlock.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "imgloss"

#: Each sub-package's layer, lowest first: a package may import lower layers, never a higher one
#: nor another package of its own layer (so the metrics never import the losses).
LAYERS = {
    "core": 0,  # provenance, atomic writes: no imgloss imports
    "functional": 1,  # validation, filters, options, SSIM statistics and measures, fused kernels
    "imaging": 1,  # degradations, demosaicking, VST
    "data": 1,  # registry, fetching, data sources
    "losses": 2,  # the paper's losses: one minus a measure, or a per-pixel error
    "metrics": 2,  # the image-quality measures and their conventions
    "design": 3,  # tasks, the experiment grid, the paper's numbers
    "training": 4,  # networks, sampling, the trainer, precision, weights
    "results": 5,  # records, scores, statistics, estimates
    "experiments": 6,  # runner, executors, baselines, BM3D, the main job, the campaign
    "report": 7,  # claims, tables, figures, style
    "teaching": 8,  # maps, sweeps, widgets, demos, which SSIM
    "book": 9,  # building the book and its PDF
    "cli": 10,  # the command line
}


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (``imgloss.experiments.runner``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, *, module_level_only: bool = False) -> set[str]:
    """The imgloss modules (or packages) that ``name`` imports."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "imgloss"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: None if is_package else -1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "imgloss":
                continue
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}  # `from pkg import module`
    return found


def _package(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def test_the_package_root_holds_only_sub_packages():
    loose = sorted(
        p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")
    )
    assert not loose, loose
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(LAYERS), packages ^ set(LAYERS)


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_each_sub_package_states_its_layer(package):
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text()))
    assert doc and "Layer" in doc and "import" in doc, package


def test_no_package_imports_from_a_higher_layer_or_a_sibling():
    modules = _modules()
    upward = []
    for name, path in modules.items():
        source = _package(name)
        if source is None or source not in LAYERS:
            continue
        for target in _imports(name, path):
            dest = _package(target)
            if dest in LAYERS and dest != source and LAYERS[dest] >= LAYERS[source]:
                upward.append(f"{name} -> {target}")
    assert not upward, "\n".join(sorted(upward))


def test_modules_import_without_cycles():
    modules = _modules()
    graph = {
        name: {t for t in _imports(name, path, module_level_only=True) if t in modules}
        for name, path in modules.items()
    }
    # a module imports its package's __init__ first: that edge is not a cycle of its own
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if nxt == node or node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not cycles, "\n".join(cycles)


def test_the_table_catches_an_upward_import(tmp_path, monkeypatch):
    """The check is real: a low module importing the report is caught."""
    fake = tmp_path / "imgloss" / "core"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('"""Layer 0."""\n')
    (fake / "bad.py").write_text("from imgloss.report import tables\n")
    found = _imports("imgloss.core.bad", fake / "bad.py")
    assert any(_package(t) == "report" and LAYERS["report"] > LAYERS["core"] for t in found)


#: The tests of the repository as a whole, at the root of tests/ (every other test is in the
#: folder of the package it tests).
REPOSITORY_TESTS = {"test_layers.py", "test_code_quality.py", "test_benchmarks.py", "test_cuda.py"}


def test_the_tests_mirror_the_package_tree():
    tests = REPO / "tests"
    loose = {p.name for p in tests.glob("test_*.py")}
    assert loose == REPOSITORY_TESTS, loose ^ REPOSITORY_TESTS
    folders = {p.name for p in tests.iterdir() if (p / "__init__.py").is_file()}
    assert folders <= set(LAYERS), folders - set(LAYERS)
    untested = {p for p in LAYERS if not any((tests / p).glob("test_*.py"))}
    assert not untested, untested
