"""Dataset registry, checksums, clear errors, and fetching (from a local mirror)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgloss import data
from imgloss.data import registry

SHARED = os.environ.get("IMGLOSS_DATA_ROOT")
needs_shared = pytest.mark.skipif(
    not (SHARED and (Path(SHARED) / "Set5").is_dir()),
    reason="needs IMGLOSS_DATA_ROOT with the datasets",
)


def test_registry_counts_roles_and_sources():
    counts = {name: ds.count for name, ds in data.DATASETS.items()}
    assert counts == {
        "Kodak24": 24,
        "McMaster": 18,
        "CBSD68": 68,
        "BSD100": 100,
        "BSDS_train": 399,
        "Set5": 5,
        "Set14": 14,
        "Urban100": 50,
        "LIVE1": 29,
        "Classic5": 5,
    }
    assert [n for n, ds in data.DATASETS.items() if ds.role == "train"] == ["BSDS_train"]
    for ds in data.DATASETS.values():
        assert len(ds.source.commit) == 40 and ds.licence
    assert {e["split"] for e in data.get("BSDS_train").files.values()} == {"train", "test"}


def test_training_set_is_disjoint_from_every_test_set_by_pixels():
    train = {e["sha256"] for e in data.get("BSDS_train").files.values()}
    for ds in data.DATASETS.values():
        if ds.role == "test":
            assert not train & {e["sha256"] for e in ds.files.values()}, ds.name
    cbsd = {e["sha256"] for e in data.get("CBSD68").files.values()}
    assert cbsd <= {e["sha256"] for e in data.get("BSD100").files.values()}  # the listed overlap


def test_unknown_dataset_and_missing_root(monkeypatch):
    with pytest.raises(ValueError, match="unknown dataset 'Kodak'.*Kodak24"):
        data.get("Kodak")
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    with pytest.raises(FileNotFoundError, match="IMGLOSS_DATA_ROOT.*imgloss data fetch"):
        data.check("Set5")


def test_missing_dataset_names_the_place_and_the_fetch_command(tmp_path):
    with pytest.raises(
        data.DatasetError,
        match=rf"Set5 not found: expected the folder {tmp_path}/Set5.*imgloss data fetch Set5",
    ):
        data.check("Set5", tmp_path)


@needs_shared
@pytest.mark.parametrize("name", ["Set5", "Classic5", "Kodak24", "Set14"])
def test_shared_copies_match_the_registry(name):
    assert data.check(name) == Path(SHARED) / name
    images = data.load(name)
    assert len(images) == data.get(name).count and all(img.shape[2] == 3 for _, img in images)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A registered two-image dataset 'Tiny' with a local mirror: one PNG and one BMP source."""
    from skimage import data as skdata

    mirror = tmp_path / "mirror" / "owner" / "repo" / ("c" * 40) / "imgs"
    mirror.mkdir(parents=True)
    Image.fromarray(skdata.astronaut()[:40, :50]).save(mirror / "a.bmp")
    Image.fromarray(skdata.coffee()[:30, :20]).save(mirror / "b.bmp")
    entries = {}
    for stem in ("a", "b"):
        digest, shape, mode = registry.pixel_sha256(mirror / f"{stem}.bmp")
        entries[f"{stem}.png"] = {"sha256": digest, "shape": shape, "mode": mode}
    ds = registry.Dataset(
        "Tiny",
        "test",
        ("sr",),
        "test data",
        registry.Source("owner/repo", "c" * 40, "imgs/{stem}.bmp", ".bmp"),
    )
    monkeypatch.setitem(registry.DATASETS, "Tiny", ds)
    real = registry.manifest()
    monkeypatch.setattr(registry, "manifest", lambda: {**real, "Tiny": entries})
    base = (tmp_path / "mirror").as_uri() + "/{repo}/{commit}/{path}"
    return tmp_path / "root", base, mirror


def test_fetch_converts_verifies_and_resumes(tiny):
    root, base, mirror = tiny
    folder = data.fetch("Tiny", root, base_url=base)
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "b.png"]
    assert data.check("Tiny", root) == folder
    (mirror / "a.bmp").unlink()  # a second fetch needs no download: both files are in place
    assert data.fetch("Tiny", root, base_url=base) == folder


def test_corrupt_and_truncated_files_are_reported_by_name(tiny):
    root, base, _ = tiny
    folder = data.fetch("Tiny", root, base_url=base)
    raw = (folder / "a.png").read_bytes()
    (folder / "a.png").write_bytes(raw[: len(raw) // 2])
    arr = np.asarray(Image.open(folder / "b.png")).copy()
    arr[0, 0] ^= 1
    Image.fromarray(arr).save(folder / "b.png")
    with pytest.raises(
        data.DatasetError,
        match=r"2 bad file\(s\):\n  a.png: corrupt or truncated.*\n  b.png: pixels differ",
    ):
        data.check("Tiny", root)


def test_load_image_reads_and_checks_one_file(tiny):
    root, base, _ = tiny
    folder = data.fetch("Tiny", root, base_url=base)
    everything = dict(data.load("Tiny", root))
    for name in ("b.png", "b"):  # a file name or its stem
        file, pixels = data.load_image("Tiny", name, root)
        assert file == "b.png"
        np.testing.assert_array_equal(pixels, everything["b.png"])
    with pytest.raises(
        ValueError, match=r"image 'c' is not in dataset 'Tiny' \(it has a.png, b.png\)"
    ):
        data.load_image("Tiny", "c", root)
    (folder / "a.png").unlink()  # another file's damage does not matter to b
    assert data.load_image("Tiny", "b", root)[0] == "b.png"
    with pytest.raises(data.DatasetError, match="Tiny: a.png: missing; fetch it with"):
        data.load_image("Tiny", "a", root)
    arr = np.asarray(Image.open(folder / "b.png")).copy()
    arr[0, 0] ^= 1
    Image.fromarray(arr).save(folder / "b.png")
    with pytest.raises(data.DatasetError, match="b.png: pixels differ from the registered"):
        data.load_image("Tiny", "b.png", root)


def test_load_image_of_the_embedded_default(monkeypatch):
    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    _, pixels = data.load_image("embedded_test", "chelsea")
    np.testing.assert_array_equal(pixels, dict(data.load_embedded("embedded_test"))["chelsea"])
    with pytest.raises(ValueError, match="not in dataset 'embedded_test'"):
        data.load_image("embedded_test", "rocket")


def test_fetch_rejects_a_download_that_does_not_match(tiny):
    root, base, mirror = tiny
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(mirror / "a.bmp")
    with pytest.raises(
        data.DatasetError, match="a.png: the pixels downloaded from .* do not match"
    ):
        data.fetch("Tiny", root, base_url=base)
    assert not (root / "Tiny" / "a.png").exists()


def test_cli_data_list_and_check(capsys, tmp_path):
    from imgloss.cli.commands import main

    assert main(["data", "list"]) == 0
    assert "Kodak24     test    24 images" in capsys.readouterr().out
    assert main(["data", "check", "Set5", "--root", str(tmp_path)]) == 1
    assert "Set5 not found" in capsys.readouterr().err


def test_embedded_default_needs_no_data_root(monkeypatch, tmp_path):
    from imgloss import data

    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    images, record = data.load_images("embedded_test")
    assert [n for n, _ in images] == ["astronaut", "chelsea", "coffee"]
    assert all(a.ndim == 3 and a.shape[2] == 3 and a.dtype.name == "uint8" for _, a in images)
    assert record["name"] == "embedded_test" and "scikit-image" in record["source"]
    train, _ = data.load_images("embedded_train")
    assert {n for n, _ in train}.isdisjoint(n for n, _ in images)
    assert data.is_present("embedded_train") and not data.is_present("Kodak24")
    assert not data.is_present("Kodak24", tmp_path)
    with pytest.raises(ValueError, match="unknown embedded dataset"):
        data.load_embedded("embedded_valid")
