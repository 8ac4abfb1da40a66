"""Benchmark imgloss's SSIM, MS-SSIM and Mix against peer libraries (forward + backward).

Every case is timed in the same process, interleaved round by round (so that slow periods of a
shared machine hit every library alike), and reported as the median over rounds together with
its ratio to the fastest peer of the same measure.

    python benchmarks/bench_losses.py                 # CPU, the sizes of the issue
    python benchmarks/bench_losses.py --device cuda   # GPU
    python benchmarks/bench_losses.py --json out.json # also write machine-readable results

Cases:
  (a) sliding mode on 16x3x256x256: SSIM (sigma 1.5, 11 taps) vs pytorch-msssim, piq, kornia,
      torchmetrics; pyramid MS-SSIM vs pytorch-msssim, piq, torchmetrics; the paper's Mix in
      sliding mode vs kornia's ``MS_SSIMLoss`` (a port of the paper's Mix); the paper's Gaussian
      MS-SSIM (five sigmas, no peer). Every imgloss sliding row also gives its time over our
      pyramid MS-SSIM's (median and quartiles of the round-by-round ratio). On the CPU, the
      direct-filtering path of the Gaussian MS-SSIM and Mix ("imgloss direct", the reference of
      the chunked fast path, the CPU default) runs in the slow series, next to the pyramid.
  (b) patch mode on 64x3x31x31: our patch-mode SSIM5, MS-SSIM and Mix against the peers in their
      closest setting (11-tap sliding SSIM on the 31x31 patch; kornia's MS_SSIMLoss), and the
      share of one Adam training step of the paper's network (conv 3->64 9x9, PReLU, 64->64
      5x5, PReLU, 64->3 5x5) at batch 64 taken by the Mix loss.
Peers that are not installed (or do not import) are reported as unavailable, never skipped
silently.

On CUDA the "imgloss" rows take the fused Triton path where it applies (``imgloss.functional.fused``,
``IMGLOSS_FUSED=auto``, which this script sets on CUDA unless it is set) and the "imgloss eager" rows the same calls with ``IMGLOSS_FUSED=off``,
interleaved with the peers; the training-step rows are likewise given for both paths
(``loss_path``). The provenance records whether the fused path was available.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import importlib.metadata
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import imgloss.losses as L
from imgloss.functional import fused
from imgloss.functional.msssim import gaussian_sliding_maps


def _try_import(name: str):
    try:
        return importlib.import_module(name), None
    except Exception as err:  # noqa: BLE001 - any import failure means "unavailable"
        return None, f"{type(err).__name__}: {str(err).splitlines()[0][:80]}"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _fwd_bwd(fn: Callable, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        xx = x.detach().requires_grad_(True)
        fn(xx, y).backward()

    return run


def _eager(fn: Callable) -> Callable:
    """``fn`` with the fused path switched off (``IMGLOSS_FUSED=off``) while it runs."""

    def run(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        before = os.environ.get(fused.MODE_ENV)
        os.environ[fused.MODE_ENV] = "off"
        try:
            return fn(x, y)
        finally:
            if before is None:
                del os.environ[fused.MODE_ENV]
            else:
                os.environ[fused.MODE_ENV] = before

    return run


def add_eager_rows(cases: dict[str, dict[str, Callable]], device: torch.device) -> None:
    """On CUDA, where the "imgloss" rows are fused, an "imgloss eager" row beside each."""
    if device.type != "cuda":
        return
    for libs in cases.values():
        if "imgloss" in libs:
            libs["imgloss eager"] = _eager(libs["imgloss"])


def _direct_maps(x: torch.Tensor, y: torch.Tensor, extra: torch.Tensor | None = None):
    """The sliding Gaussian MS-SSIM map by direct separable filtering (the reference path)."""
    c1, c2 = (0.01**2, 0.03**2)
    return gaussian_sliding_maps(x, y, L.PAPER_SIGMAS, c1, c2, extra, method="direct")


def _direct_ms_ssim_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 1 - _direct_maps(x, y)[0].mean()


def _direct_mix_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    maps, l1 = _direct_maps(x, y, (x - y).abs())
    return L.PAPER_ALPHA * (1 - maps.mean()) + (1 - L.PAPER_ALPHA) * l1.mean()


def paper_network(padding: int | str) -> nn.Module:
    """The paper's network (Section 4.1); ``padding=0`` gives unpadded ("valid") convolutions."""
    p9, p5 = (4, 2) if padding == "same" else (0, 0)
    return nn.Sequential(
        nn.Conv2d(3, 64, 9, padding=p9),
        nn.PReLU(64),
        nn.Conv2d(64, 64, 5, padding=p5),
        nn.PReLU(64),
        nn.Conv2d(64, 3, 5, padding=p5),
    )


def peer_cases(size: str, device: torch.device) -> tuple[dict, dict]:
    """``{measure: {library: fn(x, y) -> loss}}`` and ``{library: reason}`` for missing peers."""
    pm, pm_err = _try_import("pytorch_msssim")
    piq, piq_err = _try_import("piq")
    kornia, kornia_err = _try_import("kornia")
    tm, tm_err = _try_import("torchmetrics.functional.image")
    missing = {
        name: err
        for name, err in [
            ("pytorch-msssim", pm_err),
            ("piq", piq_err),
            ("kornia", kornia_err),
            ("torchmetrics", tm_err),
        ]
        if err
    }
    cases: dict[str, dict[str, Callable]] = {"SSIM": {}, "MS-SSIM": {}, "Mix": {}}
    if size == "sliding":
        cases["SSIM"]["imgloss"] = lambda x, y: L.ssim_loss(x, y)
        cases["MS-SSIM"]["imgloss"] = lambda x, y: L.ms_ssim_loss(x, y, variant="pyramid")
        cases["Mix"]["imgloss"] = lambda x, y: L.mix_loss(x, y)
        cases["MS-SSIM Gaussian"] = {"imgloss": lambda x, y: L.ms_ssim_loss(x, y)}
        if device.type == "cpu":  # elsewhere the default already is the direct path
            cases["MS-SSIM Gaussian"]["imgloss direct"] = _direct_ms_ssim_loss
            cases["Mix"]["imgloss direct"] = _direct_mix_loss
        if pm:
            cases["SSIM"]["pytorch-msssim"] = lambda x, y: 1 - pm.ssim(x, y, data_range=1.0)
            cases["MS-SSIM"]["pytorch-msssim"] = lambda x, y: 1 - pm.ms_ssim(x, y, data_range=1.0)
        if piq:
            cases["SSIM"]["piq"] = lambda x, y: 1 - piq.ssim(x, y, data_range=1.0, downsample=False)
            cases["MS-SSIM"]["piq"] = lambda x, y: 1 - piq.multi_scale_ssim(x, y, data_range=1.0)
        if kornia:
            cases["SSIM"]["kornia"] = lambda x, y: (
                kornia.losses.ssim_loss(x, y, 11, padding="valid") * 2
            )
            mix = kornia.losses.MS_SSIMLoss(alpha=L.PAPER_ALPHA, compensation=1.0).to(device)
            cases["Mix"]["kornia"] = lambda x, y: mix(x, y)
        if tm:
            cases["SSIM"]["torchmetrics"] = lambda x, y: (
                1 - tm.structural_similarity_index_measure(x, y, data_range=1.0)
            )
            cases["MS-SSIM"]["torchmetrics"] = lambda x, y: (
                1 - tm.multiscale_structural_similarity_index_measure(x, y, data_range=1.0)
            )
    else:  # patch mode; peers in their closest setting (11-tap sliding SSIM on the patch)
        cases["SSIM"]["imgloss"] = lambda x, y: L.ssim_loss(x, y, sigma=5, window="patch")
        cases["MS-SSIM"]["imgloss"] = lambda x, y: L.ms_ssim_loss(x, y, window="patch")
        cases["Mix"]["imgloss"] = lambda x, y: L.mix_loss(x, y, window="patch")
        if pm:
            cases["SSIM"]["pytorch-msssim"] = lambda x, y: 1 - pm.ssim(x, y, data_range=1.0)
        if piq:
            cases["SSIM"]["piq"] = lambda x, y: 1 - piq.ssim(x, y, data_range=1.0, downsample=False)
        if kornia:
            cases["SSIM"]["kornia"] = lambda x, y: (
                kornia.losses.ssim_loss(x, y, 11, padding="valid") * 2
            )
            mix = kornia.losses.MS_SSIMLoss(alpha=L.PAPER_ALPHA, compensation=1.0).to(device)
            cases["Mix"]["kornia"] = lambda x, y: mix(x, y)
        if tm:
            cases["SSIM"]["torchmetrics"] = lambda x, y: (
                1 - tm.structural_similarity_index_measure(x, y, data_range=1.0)
            )
    add_eager_rows(cases, device)
    return cases, missing


def interleaved_samples(
    runs: dict[str, Callable[[], None]], rounds: int, device: torch.device
) -> dict[str, list[float]]:
    """Seconds of each call of each run, timing one call of each in turn for ``rounds`` rounds
    (entry ``i`` of every list comes from the same round, so ratios can be paired)."""
    for run in runs.values():  # warm-up (allocator, kernels, caches)
        run()
        if rounds > 3:
            run()
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            _sync(device)
            t0 = time.perf_counter()
            run()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    return times


def interleaved(runs: dict[str, Callable[[], None]], rounds: int, device: torch.device) -> dict:
    """Median seconds of each run, timing one call of each in turn for ``rounds`` rounds."""
    return {k: statistics.median(v) for k, v in interleaved_samples(runs, rounds, device).items()}


def bench_losses(
    mode: str, shape: tuple[int, ...], device: torch.device, rounds: int, slow_rounds: int = 3
) -> list[dict]:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(shape, generator=gen).to(device)
    y = (x + 0.1 * torch.randn(shape, generator=gen).to(device)).clamp(0, 1)
    cases, missing = peer_cases(mode, device)
    runs = {
        f"{measure}|{lib}": _fwd_bwd(fn, x, y)
        for measure, libs in cases.items()
        for lib, fn in libs.items()
    }
    # kornia's sliding Mix (33x33 2-D kernels) takes about a minute per call on a 2-core CPU,
    # our direct-filtering paths several seconds: on the CPU they get their own, shorter series
    # of rounds, together with our pyramid MS-SSIM as the reference of their ratios.
    slow = {
        k: runs.pop(k)
        for k in list(runs)
        if mode == "sliding"
        and device.type == "cpu"
        and (k == "Mix|kornia" or k.endswith("|imgloss direct"))
    }
    pyramid = "MS-SSIM|imgloss" if mode == "sliding" else None
    samples = interleaved_samples(runs, rounds, device)
    med = {k: statistics.median(v) for k, v in samples.items()}
    ratios = {}  # time over our pyramid MS-SSIM's, paired round by round
    if pyramid in samples:
        ratios = {
            k: [a / b for a, b in zip(v, samples[pyramid])]
            for k, v in samples.items()
            if k.split("|")[1].startswith("imgloss")
        }
    if slow and slow_rounds > 0:
        if pyramid in runs:
            slow[" reference"] = runs[pyramid]
        slow_samples = interleaved_samples(slow, slow_rounds, device)
        reference = slow_samples.pop(" reference", None)
        med.update({k: statistics.median(v) for k, v in slow_samples.items()})
        if reference is not None:
            ratios.update(
                {
                    k: [a / b for a, b in zip(v, reference)]
                    for k, v in slow_samples.items()
                    if k.split("|")[1].startswith("imgloss")
                }
            )
    elif slow:  # --slow-rounds 0: leave them out, and say so
        for key in slow:
            measure, lib = key.split("|")
            del cases[measure][lib]
            missing[f"{lib} (sliding {measure})"] = "skipped with --slow-rounds 0"
    rows = []
    for measure, libs in cases.items():
        peers = [med[f"{measure}|{lib}"] for lib in libs if not lib.startswith("imgloss")]
        fastest = min(peers) if peers else None
        for lib in libs:
            key = f"{measure}|{lib}"
            t = med[key]
            row = {
                "mode": mode,
                "shape": "x".join(map(str, shape)),
                "measure": measure,
                "library": lib,
                "ms": 1e3 * t,
                "speedup_vs_fastest_peer": (fastest / t) if fastest else None,
            }
            if key in ratios:
                q = statistics.quantiles(ratios[key], n=4) if len(ratios[key]) > 1 else None
                row["over_our_pyramid_msssim"] = statistics.median(ratios[key])
                row["over_our_pyramid_msssim_quartiles"] = q
            rows.append(row)
    for lib, reason in missing.items():
        rows.append(
            {
                "mode": mode,
                "shape": "x".join(map(str, shape)),
                "measure": "-",
                "library": lib,
                "ms": None,
                "speedup_vs_fastest_peer": None,
                "unavailable": reason,
            }
        )
    return rows


def bench_training_step(device: torch.device, rounds: int, batches: list[int]) -> list[dict]:
    """Share of one Adam step of the paper's network taken by the patch-mode Mix loss."""
    return [row for batch in batches for row in _training_step(device, rounds, batch)]


def _training_step(device: torch.device, rounds: int, batch: int) -> list[dict]:
    rows = []
    gen = torch.Generator().manual_seed(0)
    inputs = torch.rand(batch, 3, 31, 31, generator=gen).to(device)
    target = torch.rand(batch, 3, 31, 31, generator=gen).to(device)
    paths = {"default": L.get("mix", window="patch")}
    if device.type == "cuda":
        paths["eager"] = _eager(paths["default"])
    for padding, (path, mix) in itertools.product((0, "same"), paths.items()):
        torch.manual_seed(0)
        net = paper_network(padding).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        out_size = net(inputs).shape[-1]
        crop = (31 - out_size) // 2
        tgt = target[..., crop : crop + out_size, crop : crop + out_size]
        pred = torch.rand(batch, 3, out_size, out_size, generator=gen).to(device)

        def step(net=net, opt=opt, tgt=tgt, mix=mix) -> None:  # bind this iteration's objects
            opt.zero_grad(set_to_none=True)
            mix(net(inputs), tgt).backward()
            opt.step()

        med = interleaved({"step": step, "loss": _fwd_bwd(mix, pred, tgt)}, rounds, device)
        flops = 0
        h = 31
        for conv in (m for m in net if isinstance(m, nn.Conv2d)):
            h_out = h if padding == "same" else h - conv.kernel_size[0] + 1
            flops += 2 * conv.in_channels * conv.out_channels * conv.kernel_size[0] ** 2 * h_out**2
            h = h_out
        rows.append(
            {
                "batch": batch,
                "loss_path": path,
                "convolutions": "valid" if padding == 0 else "zero-padded",
                "output": f"{out_size}x{out_size}",
                "step_ms": 1e3 * med["step"],
                "patches_per_s": batch / med["step"],
                "step_gflops": 3 * flops * batch / med["step"] / 1e9,  # fwd + 2x bwd
                "mix_loss_ms": 1e3 * med["loss"],
                "mix_share_of_step": med["loss"] / med["step"],
            }
        )
    return rows


def matmul_gflops(device: torch.device, n: int = 2048) -> float:
    a = torch.rand(n, n, device=device)
    b = torch.rand(n, n, device=device)
    med = interleaved({"mm": lambda: a @ b}, 5, device)["mm"]
    return 2 * n**3 / med / 1e9


def _version(name: str, module) -> str | None:
    """The module's ``__version__``, else its distribution's (pytorch-msssim has no
    ``__version__``)."""
    found = getattr(module, "__version__", None)
    if found is None:
        try:
            found = importlib.metadata.version(name.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            return None
    return str(found)


def provenance(device: torch.device) -> dict:
    root = Path(__file__).resolve().parents[1]
    commit = os.environ.get("IMGLOSS_COMMIT", "")
    try:
        commit = (
            commit
            or subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit = commit or "unknown"
    try:  # tracked files that differ from the commit (read-only: no index refresh)
        dirty = (
            subprocess.run(
                ["git", "diff-index", "--quiet", "HEAD", "--"],
                check=False,
                cwd=root,
                capture_output=True,
                env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            ).returncode
            == 1
        )
    except OSError:
        dirty = None
    libs = {}
    for name in ("torch", "pytorch_msssim", "piq", "kornia", "torchmetrics"):
        mod, _ = _try_import(name)
        libs[name] = _version(name, mod) if mod else None
    return {
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "uncommitted_changes": dirty,
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "fused_losses": fused.use_fused(torch.empty(1, device=device)),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "versions": libs,
    }


def markdown(result: dict) -> str:
    lines = [
        (
            f"Device: {result['provenance']['device']} ({result['provenance']['threads']} threads), "
            f"torch {result['provenance']['versions']['torch']}, commit {result['provenance']['commit'][:10]}"
            f"{' with uncommitted changes' if result['provenance'].get('uncommitted_changes') else ''}, "
            f"{result['provenance']['date']}; float32 matmul {result['matmul_gflops']:.0f} GFLOP/s."
        ),
        "",
    ]
    lines += [
        (
            "| mode | shape | measure | library | fwd+bwd ms | speed-up vs fastest peer "
            "| time over our pyramid MS-SSIM (quartiles) |"
        ),
        "|---|---|---|---|---:|---:|---:|",
    ]
    for r in result["losses"]:
        if r.get("unavailable"):
            lines.append(
                f"| {r['mode']} | {r['shape']} | - | {r['library']} | unavailable: {r['unavailable']} | | |"
            )
            continue
        sp = f"{r['speedup_vs_fastest_peer']:.2f}x" if r["speedup_vs_fastest_peer"] else ""
        ratio = r.get("over_our_pyramid_msssim")
        pyr = f"{ratio:.2f}x" if ratio is not None else ""
        if r.get("over_our_pyramid_msssim_quartiles"):
            pyr += " ({:.2f} / {:.2f} / {:.2f})".format(*r["over_our_pyramid_msssim_quartiles"])
        lines.append(
            f"| {r['mode']} | {r['shape']} | {r['measure']} | {r['library']} | {r['ms']:.2f} | {sp} "
            f"| {pyr} |"
        )
    lines += [
        "",
        "| paper network | batch | output | step ms | patches/s | GFLOP/s (fraction of matmul) | Mix loss ms | Mix share of step |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["training_step"]:
        lines.append(
            f"| {r['convolutions']} convolutions{_path_note(r)} | {r['batch']} | {r['output']} | {r['step_ms']:.1f} | {r['patches_per_s']:.0f} | "
            f"{r['step_gflops']:.0f} ({r['step_gflops'] / result['matmul_gflops']:.2f}) | {r['mix_loss_ms']:.2f} | "
            f"{100 * r['mix_share_of_step']:.1f}% |"
        )
    return "\n".join(lines)


def _path_note(row: dict) -> str:
    """ ", eager loss" on the training-step rows of the eager comparison (CUDA runs)."""
    return ", eager loss" if row.get("loss_path") == "eager" else ""


#: The recorded runs summarised by :func:`peer_table` in README.md and benchmarks/README.md
#: (a test checks that both show exactly the table these files give).
PEER_TABLE_SOURCES = (
    ("CPU, 2 cores", "losses-cpu-passes.json"),
    ("NVIDIA H200", "losses-h200.json"),
)


def _ms(ms: float) -> str:
    return f"{ms:.{0 if ms >= 100 else 1 if ms >= 10 else 2}f} ms"


def peer_table(results: list[tuple[str, dict]]) -> str:
    """One short Markdown table: each imgloss loss that has a peer, per recorded run, its time
    against the fastest peer's in the same run; then each run's provenance."""
    keys: list[tuple[str, str, str]] = []
    for _, result in results:
        for r in result["losses"]:
            key = (r["measure"], r["mode"], r["shape"])
            if r["library"] == "imgloss" and r.get("speedup_vs_fastest_peer") and key not in keys:
                keys.append(key)
    head = "| forward + backward | " + " | ".join(
        f"{name}: ours / fastest peer | speed-up" for name, _ in results
    )
    lines = [head + " |", "|---|" + "---|---:|" * len(results)]
    for measure, mode, shape in keys:
        cells = []
        for _, result in results:
            rows = [
                r
                for r in result["losses"]
                if (r.get("measure"), r["mode"], r["shape"]) == (measure, mode, shape)
                and not r.get("unavailable")
            ]
            ours = next((r for r in rows if r["library"] == "imgloss"), None)
            peers = [r for r in rows if r["library"] not in ("imgloss", "imgloss direct")]
            if ours is None or not peers:
                cells += ["", ""]
                continue
            best = min(peers, key=lambda r: r["ms"])
            cells += [
                f"{_ms(ours['ms'])} / {_ms(best['ms'])} ({best['library']})",
                f"{best['ms'] / ours['ms']:.{0 if best['ms'] > 10 * ours['ms'] else 2}f}x",
            ]
        lines.append(f"| {measure} ({mode}, {shape}) | " + " | ".join(cells) + " |")
    lines.append("")
    for name, result in results:
        p = result["provenance"]
        lines.append(
            f"*{name}: commit {p['commit'][:10]}, {p['date'][:10]}, torch "
            f"{p['versions']['torch']}, {p['threads']} threads.*"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sliding-batch", type=int, default=16)
    parser.add_argument(
        "--slow-rounds", type=int, default=3, help="rounds for very slow peers on CPU"
    )
    parser.add_argument(
        "--step-batch", type=int, nargs="+", default=[64], help="training-step batch sizes"
    )
    parser.add_argument("--json", type=Path, help="write results (with provenance) to this file")
    parser.add_argument("--markdown", type=Path, help="write the table to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":  # the "imgloss" rows measure the fused path (opt-in in the library)
        os.environ.setdefault(fused.MODE_ENV, "auto")
    result = {
        "provenance": provenance(device),
        "command": "python benchmarks/bench_losses.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "matmul_gflops": matmul_gflops(device),
        "losses": bench_losses(
            "sliding", (args.sliding_batch, 3, 256, 256), device, args.rounds, args.slow_rounds
        )
        + bench_losses("patch", (64, 3, 31, 31), device, args.rounds * 4),
        "training_step": bench_training_step(device, args.rounds * 2, args.step_batch),
    }
    table = markdown(result)
    print(table)
    for path, text in ((args.json, json.dumps(result, indent=2)), (args.markdown, table + "\n")):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
