"""The training benchmark's accounting: the per-kernel breakdown covers exactly the step's FLOPs.

The benchmark's ratios (step GFLOP/s over the matmul rate, each kernel's share) are only as
good as its FLOP counts, so they are checked against an independent count: torch's own FLOP
counter on a real forward + backward of the network.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_train

from imgloss.training import models


def test_step_flops_match_torch_flop_counter():
    # nominal FLOPs are the direct convolution's (the Fourier path is compared on the same work)
    net = models.PaperNet()
    x = torch.rand(2, 3, 31, 31)  # the input never needs a gradient, as in training
    with FlopCounterMode(display=False) as counter:
        net(x).sum().backward()
    assert bench_train.step_flops(net, 15, 2) == counter.get_total_flops()


def test_kernel_breakdown_covers_the_step():
    batch = 2
    rows = bench_train.bench_layers(torch.device("cpu"), batch, rounds=1)
    names = [r["kernel"] for r in rows]
    # conv1 has no input gradient (the network's input needs none); three convs, two PReLUs
    assert names == [
        "conv1 3->64 9x9 forward",
        "conv1 3->64 9x9 weight grad",
        "prelu1 forward + backward",
        "conv2 64->64 5x5 forward",
        "conv2 64->64 5x5 input grad",
        "conv2 64->64 5x5 weight grad",
        "conv2 64->64 5x5 fourier forward",
        "conv2 64->64 5x5 fourier backward",
        "prelu2 forward + backward",
        "conv3 64->3 5x5 forward",
        "conv3 64->3 5x5 input grad",
        "conv3 64->3 5x5 weight grad",
        "conv3 64->3 5x5 fourier forward",
        "conv3 64->3 5x5 fourier backward",
    ]
    net = models.PaperNet()
    total = bench_train.step_flops(net, 15, batch)
    direct = [r for r in rows if "fourier" not in r["kernel"]]
    conv_rows = [r for r in direct if r["gflops"] is not None]
    flops = sum(r["gflops"] * 1e9 * r["ms"] / 1e3 for r in conv_rows)
    assert abs(flops - total) / total < 1e-9
    assert abs(sum(r["share_of_flops"] for r in direct) - 1) < 1e-12
    # each Fourier row does its layer's work: forward = the direct forward's nominal FLOPs,
    # backward = input + weight gradients
    by_name = {r["kernel"]: r for r in rows}
    for layer in ("conv2 64->64 5x5", "conv3 64->3 5x5"):
        fwd = by_name[f"{layer} forward"]["share_of_flops"]
        assert by_name[f"{layer} fourier forward"]["share_of_flops"] == fwd
        assert by_name[f"{layer} fourier backward"]["share_of_flops"] == 2 * fwd
    assert all(r["ms"] > 0 for r in rows)
    text = bench_train.markdown(
        {
            "matmul": {"float32_gflops": 1.0},
            "steps": [],
            "data": [],
            "layers": rows,
            "trainer": [],
            "provenance": {"device": "cpu"},
        }
    )
    assert "conv2 64->64 5x5 weight grad" in text


@pytest.mark.parametrize("conv", ["direct", "fourier"])
def test_step_ratio_is_reported_with_its_round_by_round_spread(conv):
    r = bench_train.bench_step(
        torch.device("cpu"),
        2,
        amp=False,
        channels_last=False,
        compile_=False,
        loss_name="l2",
        rounds=3,
        conv=conv,
    )
    assert r["conv"] == conv
    q1, q2, q3 = r["of_float32_matmul_paired_quartiles"]
    assert 0 < q1 <= q2 <= q3
    assert r["of_float32_matmul"] == r["gflops"] / r["matmul_float32_gflops_same_rounds"]
    # the Fourier path's own arithmetic is counted, and is less than the direct convolution's
    actual = r["fourier_actual_of_matmul"]
    assert (actual is None) == (conv == "direct")
    if actual is not None:
        assert 0 < actual < r["of_float32_matmul"]
    assert 0 < r["of_float32_matmul"] < 10
    text = bench_train.markdown(
        {
            "matmul": {"float32_gflops": 1.0},
            "steps": [r],
            "data": [],
            "layers": [],
            "trainer": [],
            "provenance": {"device": "cpu"},
        }
    )
    assert f"{q1:.2f} / {q2:.2f} / {q3:.2f}" in text


def test_trainer_rows_compare_float32_with_bfloat16_autocast(monkeypatch):
    """The trainer loop is timed in both precisions, each row naming the path that ran:
    float32 trains PaperNet's patches through the Fourier path, bfloat16 autocast directly."""
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)  # the embedded photographs
    rows = [bench_train.bench_trainer(torch.device("cpu"), 4, 2, amp=amp) for amp in (False, True)]
    assert [(r["precision"], r["conv"]) for r in rows] == [
        ("float32", "fourier"),
        ("bfloat16-autocast", "direct"),
    ]
    assert all(r["patches_per_s_training_loop"] > 0 for r in rows)
    text = bench_train.markdown(
        {
            "matmul": {"float32_gflops": 1.0},
            "steps": [],
            "data": [],
            "layers": [],
            "trainer": rows,
            "cpu_bf16_flags": [],
            "provenance": {"device": "cpu"},
        }
    )
    assert "float32 (fourier)" in text and "bfloat16-autocast (direct)" in text
    assert "none (bf16 is emulated: slower)" in text


def test_readmes_show_the_peer_table_of_the_recorded_runs():
    """The speed tables of README.md and benchmarks/README.md are what the recorded result files
    give (no hand-typed timing), with each run's commit and date."""
    import json

    import bench_losses

    repo = Path(__file__).resolve().parents[1]
    results = []
    for name, file in bench_losses.PEER_TABLE_SOURCES:
        results.append((name, json.loads((repo / "benchmarks" / "results" / file).read_text())))
    table = bench_losses.peer_table(results)
    assert "| SSIM (sliding, 16x3x256x256) |" in table and "commit" in table
    for readme in (repo / "README.md", repo / "benchmarks" / "README.md"):
        assert table in readme.read_text(), f"{readme} does not show the current peer table"
