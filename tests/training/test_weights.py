"""Final weights: float32 for runs that others continue from, float16 for the rest; loading gives
float32 tensors, checks nothing is pickled, and refuses to continue from half precision."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from imgloss.design import experiments as design
from imgloss.experiments import runner as R
from imgloss.training import models
from imgloss.training.weights import WeightsError, final_state, load_weights, save_final


def _state():
    torch.manual_seed(0)
    net = models.for_task("demosaic")
    return net.state_dict(), torch.Generator().manual_seed(3).get_state()


def test_half_weights_are_half_the_size_and_load_as_float32(tmp_path):
    model, generator = _state()
    save_final(tmp_path / "full.safetensors", model, generator, 7)
    save_final(tmp_path / "half.safetensors", model, generator, 7, half=True)
    full, half = (tmp_path / "full.safetensors").stat().st_size, (tmp_path / "half.safetensors")
    assert half.stat().st_size < 0.55 * full
    with safe_open(str(half), framework="pt") as f:
        assert f.metadata()["precision"] == "float16"
        assert f.get_tensor("model.convs.0.weight").dtype == torch.float16
    loaded = load_weights(half)
    for k, v in model.items():
        assert loaded[k].dtype == torch.float32
        # float16's 11-bit significand: relative error at most 2^-11 (normal values)
        assert torch.allclose(loaded[k], v, rtol=2**-11, atol=6e-8), k
    net = models.for_task("demosaic")
    net.load_state_dict(loaded)
    x = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    reference = models.for_task("demosaic")
    reference.load_state_dict(model)
    assert (net.predict(x) - reference.predict(x)).abs().max() < 1e-3  # < 1/4 of a grey level


def test_a_half_final_state_cannot_be_continued(tmp_path):
    model, generator = _state()
    (tmp_path / "curves.json").write_text(json.dumps({"curves": []}))
    save_final(tmp_path / "model.safetensors", model, generator, 7, half=True)
    with pytest.raises(WeightsError, match="float16 weights.*cannot continue exactly"):
        final_state(tmp_path, "cpu")
    save_final(tmp_path / "model.safetensors", model, generator, 7)
    state = final_state(tmp_path, "cpu")
    assert state["step"] == 7 and all(torch.equal(state["model"][k], v) for k, v in model.items())


def test_the_runner_keeps_float32_only_where_a_run_continues(tmp_path, monkeypatch):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    smoke = R.PROFILES["smoke"]
    parent, leaf = R.spec("demosaic", "l2"), R.spec("demosaic", "ssim5")
    assert design.is_parent(parent, smoke) and not design.is_parent(leaf, smoke)
    for run, precision in ((parent, "float32"), (leaf, "float16")):
        folder = R.run_one(run, smoke, results=tmp_path, device="cpu", progress=False)
        with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
            assert f.metadata()["precision"] == precision, run.label
