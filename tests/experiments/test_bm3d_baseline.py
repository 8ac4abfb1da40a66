"""The BM3D column: VST + BM3D on the mosaic + DLMMSE, on a small crop (BM3D is slow on a CPU),
its optional-dependency behaviour, and the report's BM3D column."""

from __future__ import annotations

import builtins
import json

import numpy as np
import pytest
import torch

from imgloss.cli.commands import main
from imgloss.data import load_embedded
from imgloss.design import tasks as T
from imgloss.experiments import bm3d_baseline as B
from imgloss.metrics import evaluate

needs_bm3d = pytest.mark.skipif(not B.bm3d_available(), reason="optional package bm3d missing")


def _crop(size=64):
    name, img = load_embedded("embedded_test")[0]
    return name, B._even_crop(T.to_tensor(img, dtype=torch.float64), size)


def test_noisy_test_mosaic_is_the_networks_test_draw():
    name, clean = _crop()
    noisy = B.noisy_test_mosaic(clean, seed=0, dataset="embedded_test", image=name)
    x, _ = T.get("demosaic").test_pair(clean, seed=0, dataset="embedded_test", image=name)
    from imgloss.imaging.degradations import bilinear_demosaic

    assert torch.equal(bilinear_demosaic(noisy), x)


def test_layouts_rebuild_the_mosaic_in_place(monkeypatch):
    monkeypatch.setattr(B, "_denoise_grey", lambda image: image + 0.0)  # identity "denoiser"
    m = np.random.default_rng(0).random((8, 10))
    for layout in B.LAYOUTS:
        np.testing.assert_array_equal(B.denoise_stabilised_mosaic(m, layout), m)
    with pytest.raises(ValueError, match="layout"):
        B.denoise_stabilised_mosaic(m, "rows")
    with pytest.raises(ValueError, match="even sides"):
        B.denoise_stabilised_mosaic(m[:7], "whole")


def test_missing_bm3d_gives_an_install_hint(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_bm3d(name, *args, **kwargs):
        if name == "bm3d":
            raise ImportError("No module named 'bm3d'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_bm3d)
    assert not B.bm3d_available()
    with pytest.raises(B.BM3DUnavailableError, match=r"imgloss\[bm3d\]"):
        B.run_bm3d(["embedded_test"])
    assert main(["bm3d", "--datasets", "embedded_test"]) == 1
    assert "pip install" in capsys.readouterr().err


@needs_bm3d
def test_bm3d_baseline_denoises_a_crop_far_better_than_the_noisy_input():
    name, clean = _crop(64)
    noisy = B.noisy_test_mosaic(clean, seed=0, dataset="embedded_test", image=name)
    from imgloss.imaging.degradations import bilinear_demosaic

    before = evaluate(bilinear_demosaic(noisy).clamp(0, 1), clean, metrics=["psnr"])["psnr"]
    after = evaluate(B.bm3d_demosaic(noisy), clean, metrics=["psnr"])["psnr"]
    assert after > before + 3


@needs_bm3d
def test_run_bm3d_caches_per_image_and_resumes(tmp_path, monkeypatch):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)  # the embedded photographs
    result = B.run_bm3d(["embedded_test"], results=tmp_path, crop=192, images=2, progress=False)
    table = result.tables["embedded_test"]
    assert len(table.rows) == 2 and set(table.mean()) >= {"psnr", "fsimc"}
    folder = tmp_path / "embedded" / "bm3d"
    cached = sorted(p.name for p in (folder / "cache").rglob("*.json"))
    assert cached == ["astronaut.json", "chelsea.json"]
    saved = json.loads((folder / "demosaic.json").read_text())
    assert saved["settings"]["crop"] == 192 and "bm3d_version" in saved["provenance"]
    assert saved["kind"] == "bm3d" and saved["source"] == "embedded"
    # A second run reads the cache instead of denoising again.
    stamp = [p.stat().st_mtime_ns for p in (folder / "cache").rglob("*.json")]
    again = B.run_bm3d(["embedded_test"], results=tmp_path, crop=192, images=2, progress=False)
    assert again.tables["embedded_test"].rows == table.rows
    assert stamp == [p.stat().st_mtime_ns for p in (folder / "cache").rglob("*.json")]
