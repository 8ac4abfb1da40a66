"""Write imgloss/data/manifest.json: per-file pixel checksums of every registered dataset.

    python data/make_manifest.py /path/to/data-root

Run it on a copy of the data whose byte checksums have been verified against its own
SHA256SUMS files (``cd <folder> && sha256sum -c SHA256SUMS``); the manifest committed here was
made from the verified copy described in ``data/README.md``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from imgloss.data.registry import DATASETS, pixel_sha256

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def main(root: Path) -> None:
    out: dict[str, dict] = {}
    for name in DATASETS:
        folder = root / name
        splits = {}
        if (folder / "SPLITS.txt").is_file():
            for line in (folder / "SPLITS.txt").read_text().splitlines():
                if line and not line.startswith("#"):
                    file, split = line.split()
                    splits[file] = split
        entries = {}
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            digest, shape, mode = pixel_sha256(path)
            entry = {"sha256": digest, "shape": shape, "mode": mode}
            if path.name in splits:
                entry["split"] = splits[path.name]
            entries[path.name] = entry
        out[name] = entries
        print(f"{name}: {len(entries)} images")
    target = Path(__file__).resolve().parents[1] / "imgloss" / "data" / "manifest.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    tmp.replace(target)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
