"""Training-speed benchmark of the paper's network, against the machine's own matmul rate.

    python benchmarks/bench_train.py                      # CPU: batches 32, 64, 128
    python benchmarks/bench_train.py --batches 64 512     # CPU: the quick and paper batches
    python benchmarks/bench_train.py --device cuda        # GPU: batches 512..8192, bf16, compile
    python benchmarks/bench_train.py --json out.json --markdown out.md

Measured in one process, so the ratios compare like with like:

* ``matmul``: a 2048^3 float32 matrix product (CPU) or 8192^3 in float32 / TF32 / bfloat16
  (GPU), the reference rate of the machine.
* ``step``: one Adam step of PaperNet (31 x 31 inputs, valid convolutions, 15 x 15 outputs)
  with the patch-mode Mix loss, on pre-made batches. Its FLOP count is 3x the forward pass minus
  the first layer's input gradient (which is never computed); ``of_matmul`` is the achieved
  FLOP rate over the float32 matmul rate measured in the *same rounds* (step, loss and matmul
  alternate; the issue's CPU target: >= 0.8), and the quartiles of that ratio taken round by
  round (each step against the matmul timed right after it): the spread of the measurement.
* ``conv``: which convolution algorithm the network used (:mod:`imgloss.training.fourier_conv`):
  ``direct`` (oneDNN / cuDNN) or ``fourier`` (the CPU default for training patches). GFLOP/s
  are *nominal* throughout: the direct convolution's FLOPs over the time taken, so that the two
  algorithms are compared on the same work; ``fourier_actual_of_matmul`` is the Fourier step's
  own arithmetic (counted by torch's ``FlopCounterMode``: its matrix products) over the matmul
  rate, i.e. how well that path itself uses the machine.
* ``channels_last``: on the CPU too, the direct step with both layouts (oneDNN has kernels for
  each; neither wins on every machine state, so it is measured rather than assumed).
* ``loss share``: forward + backward of the loss alone on the network's output size, over the
  step time (target: <= 5%).
* ``data``: patches/s of the resident sampler plus the on-the-fly demosaicking degradation
  (must exceed the step's patches/s so the trainer never waits for data).
* ``layers``: where the step's time goes: each convolution's forward, input-gradient and
  weight-gradient kernel and each PReLU (forward + backward) timed alone at the `quick` batch
  (CPU) or the largest batch (GPU), each convolution kernel as a fraction of the same rounds'
  matmul rate; on the CPU also the Fourier path of the layers that use it (forward, and
  backward for the input and weight gradients together). This shows why oneDNN's direct step
  stays under 0.8 of the matmul rate and where the Fourier path gains.
* ``trainer``: patches/s of :func:`imgloss.training.trainer.train` end to end (sampling, degradation, step,
  NaN checks, no evaluation), in float32 (the Fourier path on the CPU) and under bfloat16
  autocast (direct convolutions), the numbers to plan the ``paper`` profile with. On a CPU the
  bf16 rows pay off only with native bf16 dot products (``cpu_bf16_flags`` in the JSON).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_losses import interleaved, interleaved_samples
from torch.utils.flop_counter import FlopCounterMode

from imgloss import losses
from imgloss.core.provenance import provenance
from imgloss.training import fourier_conv, models, modern_nets
from imgloss.training.precision import cpu_bf16_flags
from imgloss.training.trainer import Phase, TrainConfig, TrainingData, train


def timed(fn, device: torch.device, rounds: int) -> float:
    """Median seconds per call (bench_losses' timer, one function)."""
    return interleaved({"f": fn}, rounds, device)["f"]


def reference_matmul(device: torch.device, dtype: torch.dtype = torch.float32):
    """``(call, flops)``: the machine's reference product, 8192^3 on a GPU, 2048^3 on a CPU."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    return (lambda: a @ b), 2 * n**3


def matmul_rates(device: torch.device) -> dict[str, float]:
    out = {}
    dtypes = {"float32": torch.float32}
    if device.type == "cuda":
        dtypes["bfloat16"] = torch.bfloat16
    for name, dtype in dtypes.items():
        matmul, flops = reference_matmul(device, dtype)
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = False
        out[f"{name}_gflops"] = flops / timed(matmul, device, rounds=10) / 1e9
        if device.type == "cuda" and dtype == torch.float32:
            torch.backends.cuda.matmul.allow_tf32 = True
            out["tf32_gflops"] = flops / timed(matmul, device, rounds=10) / 1e9
            torch.backends.cuda.matmul.allow_tf32 = False  # PyTorch's default, as in training
    return out


def step_flops(net: models.ValidConvNet, out_size: int, batch: int) -> float:
    fwd = modern_nets.cost(net, out_size).flops_per_pixel * out_size**2
    first = net.convs[0]
    side = out_size + 2 * (net.margin - (first.kernel_size[0] - 1) // 2)
    first_dgrad = 2 * first.in_channels * first.out_channels * first.kernel_size[0] ** 2 * side**2
    return batch * (3 * fwd - first_dgrad)


def bench_step(
    device, batch, *, amp, channels_last, compile_, loss_name, rounds, conv="direct"
) -> dict:
    torch.manual_seed(0)
    net = models.PaperNet().to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    fast = fourier_conv.FourierConvNet(net, conv)  # conv: "direct", "fourier" or "auto"
    fwd = torch.compile(fast) if compile_ else fast
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    loss = losses.get(loss_name, window="patch", check_finite=False)
    x = torch.rand(batch, 3, 31, 31, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.rand(batch, 3, 15, 15, device=device)

    def step() -> None:
        ctx = torch.autocast(device.type, dtype=torch.bfloat16) if amp else _Null()
        with ctx:
            out = fwd(x)
        value = loss(out.float(), y)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()

    out = torch.rand(batch, 3, 15, 15, device=device, requires_grad=True)

    def loss_only() -> None:
        loss(out, y).backward()

    # The step, the loss alone and the reference matmul alternate round by round, so that a
    # shared machine's slow periods hit all three alike (medians).
    matmul, matmul_flops = reference_matmul(device)
    if compile_:
        for _ in range(3):  # compile before timing (interleaved warms up once or twice)
            step()
    samples = interleaved_samples(
        {"step": step, "loss": loss_only, "matmul": matmul}, rounds, device
    )
    times = {k: statistics.median(v) for k, v in samples.items()}
    s, s_loss = times["step"], times["loss"]
    matmul_gflops = matmul_flops / times["matmul"] / 1e9
    # the ratio round by round (step and matmul of the same round), for its spread
    flops = step_flops(net, 15, batch)
    paired = sorted(
        (flops / t_step) / (matmul_flops / t_mm)
        for t_step, t_mm in zip(samples["step"], samples["matmul"], strict=True)
    )
    quartiles = statistics.quantiles(paired, n=4) if len(paired) > 1 else paired * 3
    fourier, actual = fast.uses_fourier(x), None
    if fourier:  # the Fourier path's own arithmetic (its matrix products)
        with FlopCounterMode(display=False) as counter:
            step()
        actual = counter.get_total_flops() / s / 1e9 / matmul_gflops
    return {
        "matmul_float32_gflops_same_rounds": matmul_gflops,
        "batch": batch,
        "conv": "fourier" if fourier else "direct",
        "amp_bf16": amp,
        "channels_last": channels_last,
        "compile": compile_,
        "loss": loss_name,
        "step_ms": s * 1e3,
        "patches_per_s": batch / s,
        "gflops": flops / s / 1e9,
        "of_float32_matmul": flops / s / 1e9 / matmul_gflops,
        "loss_share": s_loss / s,
        "of_float32_matmul_paired_quartiles": [quartiles[0], quartiles[1], quartiles[2]],
        "fourier_actual_of_matmul": actual,
    }


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def bench_layers(device, batch, rounds) -> list[dict]:
    """Each kernel of PaperNet's step timed alone (same rounds as a reference matmul); the
    Fourier rows are alternatives to the direct rows of the same layer, not extra work."""
    torch.manual_seed(0)
    net = models.PaperNet().to(device)
    x = torch.rand(batch, 3, 31, 31, device=device)
    inputs, outputs = [], []
    with torch.no_grad():
        h = x
        for i, conv in enumerate(net.convs):
            inputs.append(h)
            h = conv(h)
            outputs.append(h)
            if i < len(net.acts):
                h = net.acts[i](h)
    backward = torch.ops.aten.convolution_backward

    def conv_pass(i: int, kind: str):
        conv, inp, grad = net.convs[i], inputs[i], torch.randn_like(outputs[i])
        if kind == "forward":
            return lambda: torch.nn.functional.conv2d(inp, conv.weight, conv.bias)
        mask = (True, False, False) if kind == "input grad" else (False, True, True)
        return lambda: backward(
            grad,
            inp,
            conv.weight,
            [conv.out_channels],
            (1, 1),
            (0, 0),
            (1, 1),
            False,
            (0, 0),
            1,
            mask,
        )

    def prelu_pass(i: int):
        pre = outputs[i].clone().requires_grad_(True)
        weight = net.acts[i].weight.detach().clone().requires_grad_(True)
        grad = torch.randn_like(pre)
        return lambda: torch.autograd.grad(
            torch.nn.functional.prelu(pre, weight), [pre, weight], grad
        )

    def fourier_pass(i: int):
        """(forward, backward) of layer ``i`` on the Fourier path, spatial-major."""
        conv = net.convs[i]
        inp = fourier_conv.to_spatial_major(inputs[i]).requires_grad_(True)
        weight = conv.weight.detach().clone().requires_grad_(True)
        bias = conv.bias.detach()
        out = fourier_conv.fourier_conv2d(inp, weight, bias)
        grad = torch.randn_like(out)

        def forward() -> None:
            with torch.no_grad():
                fourier_conv.fourier_conv2d(inp, weight, bias)

        def backward_pass() -> None:
            torch.autograd.grad(out, [inp, weight], grad, retain_graph=True)

        return forward, backward_pass

    runs, flops = {}, {}
    for i, conv in enumerate(net.convs):
        side = outputs[i].shape[-1]
        k = conv.kernel_size[0]
        f = 2 * batch * conv.in_channels * conv.out_channels * k * k * side * side
        kinds = ("forward", "weight grad") if i == 0 else ("forward", "input grad", "weight grad")
        layer = f"conv{i + 1} {conv.in_channels}->{conv.out_channels} {k}x{k}"
        for kind in kinds:
            runs[f"{layer} {kind}"], flops[f"{layer} {kind}"] = conv_pass(i, kind), f
        if device.type == "cpu" and fourier_conv.fourier_layers(net)[i]:
            forward, backward_pass = fourier_pass(i)
            runs[f"{layer} fourier forward"], flops[f"{layer} fourier forward"] = forward, f
            runs[f"{layer} fourier backward"] = backward_pass
            flops[f"{layer} fourier backward"] = 2 * f
        if i < len(net.acts):
            runs[f"prelu{i + 1} forward + backward"] = prelu_pass(i)
    runs["matmul"], matmul_flops = reference_matmul(device)
    times = interleaved(runs, rounds, device)
    matmul_gflops = matmul_flops / times.pop("matmul") / 1e9
    direct_flops = sum(f for name, f in flops.items() if "fourier" not in name)
    rows = []
    for name, s in times.items():
        gflops = flops[name] / s / 1e9 if name in flops else None
        rows.append(
            {
                "batch": batch,
                "kernel": name,
                "ms": s * 1e3,
                "gflops": gflops,
                "of_float32_matmul": gflops / matmul_gflops if gflops is not None else None,
                "share_of_flops": flops[name] / direct_flops if name in flops else 0.0,
            }
        )
    return rows


def bench_data(device, batch, rounds) -> dict:
    cfg = TrainConfig("demosaic", (Phase("mix", 1),), batch_size=batch)
    data = TrainingData.build(cfg, device)
    s = timed(lambda: data.batch(batch), device, rounds)
    return {"batch": batch, "patches_per_s": batch / s, "train_data": data.record["name"]}


def bench_trainer(device, batch, steps, amp: bool | None = None) -> dict:
    cfg = TrainConfig(
        "demosaic",
        (Phase("mix", steps),),
        batch_size=batch,
        eval_every=10**9,
        checkpoint_every=10**9,
        amp=amp,
    )
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        out = train(cfg, tmp, device=device, progress=False)
        wall = time.perf_counter() - t
    training = out["summary"]
    return {
        "batch": batch,
        "steps": steps,
        "precision": training["precision"]["network"],
        "conv": training.get("conv_algorithm", "direct"),
        "patches_per_s_training_loop": batch * steps / training["wall_s"],
        "wall_s_including_setup": wall,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--batches", type=int, nargs="*", default=None)
    p.add_argument("--trainer-steps", type=int, default=None)
    p.add_argument("--json", default=None)
    p.add_argument("--markdown", default=None)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    batches = args.batches or ([512, 4096] if gpu else [32, 64, 128])
    result = {"matmul": matmul_rates(device), "steps": [], "data": [], "layers": [], "trainer": []}
    # (bf16 autocast, channels_last, torch.compile, loss, conv); compile only at the largest batch
    cases = [(False, False, False, "mix", "direct"), (False, False, False, "l2", "direct")]
    if gpu:
        cases += [(True, False, False, "mix", "direct"), (True, True, False, "mix", "direct")]
    else:  # channels_last is oneDNN's layout lever on the CPU; Fourier is float32's path, and
        # bfloat16 autocast (direct) the default where the CPU has native bf16 (imgloss.training.precision)
        cases += [(False, True, False, "mix", "direct"), (False, False, False, "mix", "fourier")]
        cases += [(False, False, False, "l2", "fourier")]
        cases += [(True, False, False, "mix", "direct"), (True, True, False, "mix", "direct")]
    for batch in batches:
        extra = [(True, True, True, "mix", "direct")] if gpu and batch == max(batches) else []
        for amp, cl, comp, loss_name, conv in cases + extra:
            r = bench_step(
                device,
                batch,
                amp=amp,
                channels_last=cl,
                compile_=comp,
                loss_name=loss_name,
                rounds=args.rounds,
                conv=conv,
            )
            result["steps"].append(r)
            print(json.dumps(r), flush=True)
        result["data"].append(bench_data(device, batch, args.rounds))
        print(json.dumps(result["data"][-1]), flush=True)
    # the kernel breakdown and the trainer at the largest batch on a GPU, at the `quick`
    # profile's batch (64) on the CPU
    typical_batch = max(batches) if gpu or 64 not in batches else 64
    result["layers"] = bench_layers(device, typical_batch, args.rounds)
    for row in result["layers"]:
        print(json.dumps(row), flush=True)
    steps = args.trainer_steps or (300 if gpu else 30)
    for amp in (False, True):  # the trainer loop in float32 and under bfloat16 autocast
        result["trainer"].append(bench_trainer(device, typical_batch, steps, amp=amp))
        print(json.dumps(result["trainer"][-1]), flush=True)
    result["cpu_bf16_flags"] = list(cpu_bf16_flags()) if not gpu else None
    result["provenance"] = provenance(device, command=" ".join(["bench_train.py", *sys.argv[1:]]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 0


def markdown(result: dict) -> str:
    m = result["matmul"]
    rates = ", ".join(f"{k.replace('_gflops', '')} {v:,.0f} GFLOP/s" for k, v in m.items())
    lines = [
        f"Matmul reference: {rates}. Device: {result['provenance']['device']}.",
        "",
        (
            "| batch | conv | bf16 | channels_last | compile | loss | step ms | patches/s | "
            "nominal GFLOP/s | fp32 matmul GFLOP/s, same rounds | of it | "
            "of it, round by round: quartiles | Fourier path's own FLOPs: of matmul | loss share |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["steps"]:
        actual = r.get("fourier_actual_of_matmul")
        lines.append(
            f"| {r['batch']} | {r.get('conv', 'direct')} | {r['amp_bf16']} | "
            f"{r['channels_last']} | {r['compile']} | "
            f"{r['loss']} | {r['step_ms']:.2f} | {r['patches_per_s']:,.0f} | {r['gflops']:,.0f} | "
            f"{r['matmul_float32_gflops_same_rounds']:,.0f} | {r['of_float32_matmul']:.2f} | "
            + "{:.2f} / {:.2f} / {:.2f}".format(*r["of_float32_matmul_paired_quartiles"])
            + f" | {'' if actual is None else f'{actual:.2f}'} | {r['loss_share']:.1%} |"
        )
    for d in result["data"]:
        lines.append(
            f"\nData (sampler + degradation), batch {d['batch']}: "
            f"{d['patches_per_s']:,.0f} patches/s ({d['train_data']})."
        )
    if result.get("layers"):
        total = sum(r["ms"] for r in result["layers"] if "fourier" not in r["kernel"])
        lines += [
            "",
            (
                f"Kernels of the direct step alone, batch {result['layers'][0]['batch']} (sum "
                f"{total:.1f} ms; the Fourier rows replace the direct rows of their layer and "
                "are left out of the sum and the shares):"
            ),
            "",
            "| kernel | ms | of the sum | share of FLOPs | GFLOP/s | of fp32 matmul |",
            "|---|---|---|---|---|---|",
        ]
        for r in result["layers"]:
            rate = "" if r["gflops"] is None else f"{r['gflops']:,.0f}"
            ratio = "" if r["of_float32_matmul"] is None else f"{r['of_float32_matmul']:.2f}"
            lines.append(
                f"| {r['kernel']} | {r['ms']:.2f} | {r['ms'] / total:.1%} | "
                f"{r['share_of_flops']:.1%} | {rate} | {ratio} |"
            )
        lines.append("")
    for t in result["trainer"]:
        lines.append(
            f"Trainer loop, batch {t['batch']}, {t.get('precision', 'float32')} "
            f"({t.get('conv', 'direct')}): {t['patches_per_s_training_loop']:,.0f} "
            f"patches/s over {t['steps']} steps."
        )
    if result.get("cpu_bf16_flags") is not None:
        flags = ", ".join(result["cpu_bf16_flags"]) or "none (bf16 is emulated: slower)"
        lines.append(f"\nCPU flags for native bfloat16: {flags}.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
