"""Diagnosis of the H200 divergence: train MS-SSIM on the CPU with TF32 emulated in the
patch-statistics matmul (inputs rounded to 10 mantissa bits), or without (``ieee``).

    IMGLOSS_DATA_ROOT=../shared/data python benchmarks/tf32_emulation.py tf32   # diverges
    IMGLOSS_DATA_ROOT=../shared/data python benchmarks/tf32_emulation.py ieee   # trains
"""

import json
import sys
from pathlib import Path

import torch

torch.set_num_threads(2)
import imgloss.functional.stats as S
from imgloss.training.trainer import Phase, TrainConfig, train


def tf32_round(t):
    i = t.contiguous().view(torch.int32)
    return ((i + 0x1000) & ~0x1FFF).view(torch.float32)  # round to 10 explicit mantissa bits


class TF32Matmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return tf32_round(a) @ tf32_round(b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return tf32_round(g) @ tf32_round(b).mT, tf32_round(a).mT @ tf32_round(g)


if sys.argv[1] == "tf32":
    S.exact_matmul = TF32Matmul.apply
cfg = TrainConfig(
    "demosaic", (Phase("msssim", 300),), batch_size=64, eval_every=50, checkpoint_every=1000
)
train(cfg, f"/tmp/tf32-{sys.argv[1]}", device="cpu", progress=False)
c = json.loads(Path(f"/tmp/tf32-{sys.argv[1]}/curves.json").read_text())["curves"]
print(sys.argv[1], [(r["step"], round(r["train_loss"], 3), round(r["val_psnr"], 1)) for r in c])
