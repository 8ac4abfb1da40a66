"""Does bfloat16 autocast keep accuracy? l1 and Mix at the ``quick`` profile, seeds 0-2, trained
under bfloat16 autocast and compared image by image with the committed float32 runs of the same
key (issue 28, item 1).

    IMGLOSS_DATA_ROOT=../shared/data python benchmarks/bf16_accuracy.py \\
        --out benchmarks/results/bf16-accuracy

The float32 runs are read from ``--results`` (the committed ``results/``; trained with
``--precision float32`` where missing); the bfloat16 runs are trained into ``--scratch``. For each
loss the report gives the paired per-image PSNR difference bf16 - float32 per seed and over all
seeds (mean and 95% interval under the claims' crossed model, :mod:`imgloss.results.inference`), next to
the seed-to-seed spread of the float32 runs (the SD of the three runs' mean PSNR): bfloat16 keeps
accuracy when the difference is within that spread.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imgloss.core.provenance import provenance
from imgloss.data import resolve_source
from imgloss.design.experiments import spec
from imgloss.experiments import runner
from imgloss.results import inference
from imgloss.results.records import RunRecord
from imgloss.training.precision import ENV

LOSSES = ("l1", "mix")
SEEDS = (0, 1, 2)


def _train(run, results: Path, precision: str) -> RunRecord:
    os.environ[ENV] = precision
    folder = runner.run_one(run, "quick", results=results, progress=False)
    return RunRecord.load(folder / "metrics.json")


def _psnr(record: RunRecord) -> tuple[str, dict[str, float]]:
    dataset = next(iter(record.test))
    return dataset, {image: row["psnr"] for image, row in record.test[dataset].rows.items()}


def compare(results: Path, scratch: Path, losses=LOSSES, seeds=SEEDS) -> dict:
    out: dict = {"losses": {}, "seeds": list(seeds)}
    for loss in losses:
        per_seed, fp32_means, columns = [], [], []
        for seed in seeds:
            run = spec("demosaic", loss, seed=seed)
            dataset, fp32 = _psnr(_train(run, results, "float32"))
            _, bf16 = _psnr(_train(run, scratch, "bfloat16"))
            images = sorted(fp32)
            d = np.array([bf16[i] - fp32[i] for i in images])
            columns.append(d)
            fp32_means.append(float(np.mean([fp32[i] for i in images])))
            per_seed.append(
                {"seed": seed, "mean_difference_db": float(d.mean()), "images": len(images)}
            )
        est = inference.estimate(np.stack(columns, axis=1))
        low, high = est.ci(0.95)
        spread = float(np.std(fp32_means, ddof=1))
        out["losses"][loss] = {
            "dataset": dataset,
            "per_seed": per_seed,
            "mean_difference_db": est.effect,
            "ci95_db": [low, high],
            "df": est.df,
            "float32_seed_sd_db": spread,
            "within_spread": abs(est.effect) <= spread,
        }
    return out


def markdown(result: dict) -> str:
    title = (
        "bfloat16 autocast against float32, `quick` profile, demosaicking, test PSNR "
        f"(bf16 - float32, paired per image), seeds {result['seeds']}:"
    )
    head = (
        "| loss | test set | per seed (dB) | all seeds: mean [95% CI] (dB) | "
        "float32 seed-to-seed SD (dB) | within it |"
    )
    lines = [title, "", head, "|---|---|---|---|---|---|"]
    for loss, r in result["losses"].items():
        seeds = ", ".join(f"{s['mean_difference_db']:+.3f}" for s in r["per_seed"])
        low, high = r["ci95_db"]
        lines.append(
            f"| {loss} | {r['dataset']} | {seeds} | {r['mean_difference_db']:+.3f} "
            f"[{low:+.3f}, {high:+.3f}] | {r['float32_seed_sd_db']:.3f} | "
            f"{'yes' if r['within_spread'] else 'no'} |"
        )
    p = result["provenance"]
    lines.append(f"\nCommit {p['git_commit'][:10]}, {p['device']}, {p['date_utc']}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", default="results", help="where the float32 runs are (or go)")
    p.add_argument("--scratch", default="_build/bf16-accuracy", help="where the bf16 runs go")
    p.add_argument("--out", default=None, help="write OUT.json and OUT.md")
    p.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    args = p.parse_args(argv)
    source = resolve_source(None)
    if source.tag == "embedded":
        print(
            "error: set IMGLOSS_DATA_ROOT to the registered datasets (the committed float32 "
            "runs were made on them)",
            file=sys.stderr,
        )
        return 1
    result = compare(Path(args.results), Path(args.scratch), args.losses, args.seeds)
    result["provenance"] = provenance("cpu", command=" ".join(["bf16_accuracy.py", *sys.argv[1:]]))
    text = markdown(result)
    print(text)
    if args.out:
        Path(f"{args.out}.json").write_text(json.dumps(result, indent=2) + "\n")
        Path(f"{args.out}.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
