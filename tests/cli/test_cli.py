"""The command line is thin (issue 30, items 3 and 5): shared options are declared once, a
command resolves one workspace, only documented user errors become one line, and any other
exception keeps its traceback."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from imgloss.cli import commands as cli
from imgloss.cli import options
from imgloss.core.errors import InputError, UserError
from imgloss.experiments import runner
from imgloss.results.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "imgloss" / "cli"
TRAIN = ["train", "--task", "sr", "--loss", "l1", "--profile", "smoke", "--no-progress"]


@pytest.fixture
def embedded(monkeypatch):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


# ---------------------------------------------------------------- shared options, declared once
def test_no_command_declares_a_shared_option_itself():
    """Every ``add_argument`` of a shared flag is the one in :mod:`imgloss.cli.options`."""
    flags = {f for option in options.SHARED.values() for f in option.flags if f.startswith("-")}
    found = []
    for path in sorted(CLI.glob("*.py")):
        if path.name == "options.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"
            ):
                names = {a.value for a in node.args if isinstance(a, ast.Constant)}
                found += [f"{path.name}: {f}" for f in sorted(names & flags)]
    assert not found, found


def _declared(name: str) -> argparse.Action:
    parser = argparse.ArgumentParser()
    options.add(parser, name)
    return parser._actions[-1]


def test_each_shared_option_means_the_same_in_every_command():
    """Spelling, type, choices, arity and action of a shared option are its declaration's
    everywhere; only the help text (and the baselines' default device) may differ."""
    same = ("option_strings", "dest", "type", "choices", "nargs", "const", "metavar")
    seen: dict[str, list[str]] = {}
    for command, parser in _subparsers(cli._build_parser()).items():
        for action in parser._actions:
            for name, option in options.SHARED.items():
                if not set(action.option_strings or [action.dest]) & set(option.flags):
                    continue
                declared = _declared(name)
                assert type(action) is type(declared), (command, name)
                for attribute in same:
                    found, expected = getattr(action, attribute), getattr(declared, attribute)
                    assert found == expected, (command, name, attribute)
                if name != "device":
                    assert action.default == declared.default, (command, name)
                seen.setdefault(name, []).append(command)
    assert all(len(commands) > 1 for commands in seen.values()), seen  # shared: by several
    assert seen.keys() == options.SHARED.keys()
    assert set(seen["results"]) >= {"train", "run", "status", "report", "baselines", "bm3d"}
    assert set(seen["root"]) >= {"train", "run", "status", "data", "baselines", "migrate"}


def test_a_shared_option_may_change_only_its_help_and_default():
    parser = argparse.ArgumentParser()
    with pytest.raises(TypeError, match="may differ"):
        options.add(parser, "results", results={"type": int})


# ------------------------------------------------------------------------ the one workspace
def test_a_command_resolves_its_data_source_once(embedded, monkeypatch, tmp_path, capsys):
    import imgloss.results.workspace as W

    calls = []
    real = W.resolve
    monkeypatch.setattr(W, "resolve", lambda root=None: calls.append(root) or real(root))
    assert (
        cli.main(["run", "switching", "--profile", "smoke", "--list", "--results", str(tmp_path)])
        == 0
    )
    assert len(calls) == 1
    calls.clear()
    assert (
        cli.main(
            ["status", "table1", "--profile", "smoke", "--tasks", "sr", "--results", str(tmp_path)]
        )
        == 0
    )
    assert len(calls) == 1 and "4 not started" in capsys.readouterr().out


def test_the_workspace_is_frozen_and_names_its_data(embedded, tmp_path, monkeypatch):
    ws = Workspace.resolve(tmp_path, device="cpu", progress=False)
    assert (
        ws.source.tag == "embedded" and ws.root is None and ws.folder.path == tmp_path / "embedded"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        ws.device = "cuda"  # type: ignore[misc]
    assert Workspace.of(ws) is ws and Workspace.of(results=tmp_path).results == tmp_path
    with pytest.raises(TypeError, match="not both"):
        Workspace.of(ws, results=tmp_path)
    monkeypatch.setenv("IMGLOSS_DATA_ROOT", str(tmp_path / "no-such-root"))
    with pytest.raises(InputError, match="is not a folder"):  # resolved once, loudly
        Workspace.resolve(tmp_path)


def test_listed_commands_are_the_jobs_command_lines(embedded, tmp_path, capsys):
    """``imgloss run --list`` prints what the local pool and Slurm run (``Job.train_args``)."""
    from imgloss.design.experiments import PROFILES
    from imgloss.experiments import executors

    ws = Workspace.resolve(tmp_path, device="cpu")
    (job, *_) = executors.jobs_of(("table1",), PROFILES["smoke"], ws, ["sr"])
    assert job.train_args()[-2:] == ["--device", "cpu"]
    assert job.train_args(progress=False)[-1] == "--no-progress"
    assert (
        cli.main(
            [
                "run",
                "table1",
                "--profile",
                "smoke",
                "--tasks",
                "sr",
                "--device",
                "cpu",
                "--results",
                str(tmp_path),
                "--list",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == " ".join(["imgloss", *job.train_args()]) and len(lines) == 4


# ------------------------------------------------------------------------- error mapping
def _raising(error: BaseException):
    def run_one(*args, **kwargs):
        raise error

    return run_one


@pytest.mark.parametrize(
    "error", [RuntimeError("boom"), ValueError("a bug"), TypeError("bug"), KeyError("bug")]
)
def test_an_unexpected_exception_keeps_its_traceback(error, embedded, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_one", _raising(error))
    with pytest.raises(type(error)) as raised:
        cli.main([*TRAIN, "--results", str(tmp_path)])
    assert raised.value is error


@pytest.mark.parametrize(
    "error",
    [
        InputError("bad value; try another"),
        UserError("a fixable thing"),
        FileNotFoundError("no such file: x.png"),
    ],
)
def test_a_documented_user_error_is_one_line(error, embedded, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "run_one", _raising(error))
    assert cli.main([*TRAIN, "--results", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {error}\n"


def test_a_bug_prints_a_traceback_from_the_command_line(embedded, tmp_path):
    """The installed command itself: an unexpected error ends with Python's traceback."""
    code = (
        "import sys\n"
        "from imgloss.experiments import runner\n"
        "def bug(*a, **k):\n    raise ValueError('not a user error')\n"
        "runner.run_one = bug\n"
        "from imgloss.cli import commands\n"
        f"sys.exit(commands.main({[*TRAIN, '--results', str(tmp_path)]!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.strip().endswith("ValueError: not a user error")


def test_a_bad_value_checked_by_a_library_is_one_line_where_the_command_passes_it(
    embedded, tmp_path, capsys
):
    """Values the command line hands to a library's plain ``ValueError`` checks (a measure's
    name, a loss's option) are the user's."""
    assert (
        cli.main(
            ["baselines", "--task", "sr", "--metrics", "psnr", "nope", "--results", str(tmp_path)]
        )
        == 1
    )
    assert capsys.readouterr().err.startswith("error: unknown metric(s) ['nope']")
    assert (
        cli.main(
            [
                "train",
                "--task",
                "sr",
                "--loss",
                "mix",
                "--alpha",
                "2",
                "--profile",
                "smoke",
                "--results",
                str(tmp_path),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("error: alpha must be") and len(err.splitlines()) == 1
    assert not (tmp_path / "embedded" / "runs").exists()


def test_the_package_errors_are_user_errors_and_still_value_errors():
    from imgloss.data import DataRootError, DatasetError
    from imgloss.experiments.executors import SlurmMissingError, SlurmSubmitError
    from imgloss.experiments.migrate import MigrationError
    from imgloss.results.records import ResultsFileError
    from imgloss.training.trainer import CheckpointError, NonFiniteLossError
    from imgloss.training.weights import WeightsError

    for cls in (
        DataRootError,
        ResultsFileError,
        CheckpointError,
        WeightsError,
        MigrationError,
        SlurmSubmitError,
    ):
        assert issubclass(cls, InputError) and issubclass(cls, ValueError), cls
    for cls in (DatasetError, NonFiniteLossError, SlurmMissingError):
        assert issubclass(cls, UserError) and issubclass(cls, RuntimeError), cls
