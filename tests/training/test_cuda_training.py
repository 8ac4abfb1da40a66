"""The GPU training path (skipped without CUDA): resident patch gathering, bf16 training,
determinism on the device, the runner, and the metrics on the GPU against the CPU."""

from __future__ import annotations

import json

import pytest
import torch

from imgloss import metrics as M
from imgloss.experiments import runner as R
from imgloss.training import trainer as TR
from imgloss.training.sampling import PatchSampler
from imgloss.training.trainer import Phase, TrainConfig

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _coordinate_images(device):
    out = []
    for k, (h, w) in enumerate([(40, 50), (33, 90)]):
        rows = torch.arange(h, device=device).view(h, 1).expand(h, w).float()
        cols = torch.arange(w, device=device).view(1, w).expand(h, w).float()
        out.append(torch.stack([torch.full((h, w), float(k), device=device), rows, cols]))
    return out


def test_gather_sampler_on_cuda_cuts_colocated_patches():
    images = _coordinate_images("cuda")
    s = PatchSampler(
        images, in_size=15, out_size=7, generator=torch.Generator(device="cuda").manual_seed(0)
    )
    x, y = s.sample(256)
    assert x.is_cuda and x.shape == (256, 3, 15, 15)
    ar = torch.arange(15.0, device="cuda")
    assert torch.equal(x[:, 1, :, 0] - x[:, 1, :1, 0], ar.expand(256, 15))
    assert torch.equal(x[:, 2, 0, :] - x[:, 2, 0, :1], ar.expand(256, 15))
    assert torch.equal(y, x[..., 4:11, 4:11])


def _cfg(**kw):
    return TrainConfig(
        "demosaic",
        (Phase("mix", 8),),
        batch_size=32,
        eval_every=4,
        checkpoint_every=4,
        train_set="embedded_train",
        val_set="embedded_test",
        val_crops=2,
        val_size=40,
        **kw,
    )


def test_cuda_training_is_deterministic_and_uses_bf16(tmp_path):
    a = TR.train(_cfg(), tmp_path / "a", device="cuda", progress=False)
    TR.train(_cfg(), tmp_path / "b", device="cuda", progress=False)
    wa = torch.load(tmp_path / "a" / TR.CHECKPOINT, weights_only=False)["model"]
    wb = torch.load(tmp_path / "b" / TR.CHECKPOINT, weights_only=False)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a["summary"]["amp_bfloat16"] is True and a["summary"]["device"].startswith("cuda")


def test_cuda_compiled_training_runs(tmp_path):
    out = TR.train(_cfg(compile=True), tmp_path, device="cuda", progress=False)
    assert out["summary"]["final"]["val_psnr"] > 0


def test_runner_on_cuda(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGLOSS_DATA_ROOT", str(tmp_path / "none"))
    folder = R.run_one(R.spec("sr", "l1"), "smoke", results=tmp_path, device="cuda", progress=False)
    m = json.loads((folder / "metrics.json").read_text())
    assert m["provenance"]["device"].startswith("cuda")


def test_metrics_on_cuda_match_the_cpu():
    gen = torch.Generator().manual_seed(0)
    y = torch.rand(2, 3, 192, 200, generator=gen, dtype=torch.float64)
    x = (y + 0.05 * torch.randn(y.shape, generator=gen, dtype=torch.float64)).clamp(0, 1)
    cpu = M.evaluate_batch(x, y)
    gpu = M.evaluate_batch(x.cuda(), y.cuda())
    for name in M.METRICS:
        torch.testing.assert_close(
            gpu[name].cpu(),
            cpu[name],
            rtol=1e-6,
            atol=1e-8,
            msg=lambda m, name=name: f"{name}: {m}",
        )
