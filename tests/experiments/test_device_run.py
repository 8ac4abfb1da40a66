"""A CPU rehearsal of the GPU job (`benchmarks/device_run.sh`).

Device time is scarce (minutes per session), so the script's orchestration is exercised here:
independent `imgloss train` processes run in parallel (a switching run and the run it continues
from may start at the same time and must share the parent through the runner's lock), the
summaries are written, and the archive that comes back holds the results and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    not all(shutil.which(t) for t in ("bash", "xargs", "tar", "timeout")),
    reason="needs bash, xargs, tar and timeout",
)
def test_device_script_rehearsal_on_the_cpu(tmp_path):
    out, results = tmp_path / "out", tmp_path / "results-device"
    env = os.environ | {
        "OUT": str(out),
        "PROFILE": "smoke",
        "DEVICE": "cpu",
        "CHECKS": "0",
        "REUSE": "0",
        "RESULTS": str(results),
        "EXPERIMENTS": "switching",
        "PARALLEL": "2",
        "BUDGET": "400",
        "OMP_NUM_THREADS": "1",
        # the script calls `python3`: this interpreter's, whether or not its venv is activated
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GPUS": "",  # no GPU here: the pool's slots get none
    }
    proc = subprocess.run(
        ["bash", "benchmarks/device_run.sh"],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
    )
    log = (out / "runs.log").read_text()
    assert proc.returncode == 0, proc.stderr[-2000:] + log[-2000:]
    assert log.startswith("runs: ")  # the profile's runs, as `imgloss run all --list` has them
    assert "runs exit 0" in log and "summary switching" in log and "done after" in log
    wall = next(line for line in log.splitlines() if line.startswith("wall switching:"))
    assert wall.startswith("wall switching: 4 of 4 runs finished, 4 in this call, the last ")

    from imgloss.data import resolve_source

    tag = resolve_source().tag  # the runs' data: the data root of this test run, or embedded
    with tarfile.open(out / "smoke-results.tgz") as archive:
        names = archive.getnames()
        summary = json.load(archive.extractfile(f"{tag}/smoke/switching.json"))
        source = json.load(archive.extractfile(f"{tag}/source.json"))
    assert source["source"]["tag"] == tag
    assert not [n for n in names if n.endswith((".pt", ".lock", "-input.png", "-target.png"))]
    finished = {
        Path(n).parts[4]
        for n in names
        if n.startswith(f"{tag}/runs/smoke/demosaic/") and n.endswith("/metrics.json")
    }
    # the two parents, trained once by whichever switching run asked first, and the four runs
    assert finished == {"l1", "l2", "l1-l2", "l2-l1", "l1-l1", "l2-l2"}
    assert all(
        len(list((results / tag / "runs" / "smoke" / "demosaic" / label).glob("seed0-*"))) == 1
        for label in finished
    )
    assert set(summary["tasks"]["demosaic"]) == {"l1-l2", "l2-l1", "l1-l1", "l2-l2"}
    assert summary["profile"] == "smoke" and summary["source"] == tag
