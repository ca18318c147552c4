"""Disk size of the cover thumbnail cache for a 10,000-track library (bench/README.md, "Cover cache").

    .venv/bin/python bench/cover_cache.py [--tracks 10000] [--per-album 10] [--px 600]

Builds a library-shaped folder tree in a temporary directory: --tracks / --per-album album folders, each
with a photo-like cover.jpg (--px square, JPEG quality 90: smooth gradients plus grain, as scanned
sleeves are) and --per-album track files, then asks the window's thumbnailer (desktop.ui.covers
.make_thumbnail, what the cover thread runs) for every track and reports the cache's file count and
bytes, and the worst case where every track carries its own picture (tracks x the mean thumbnail).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtGui import QImage  # noqa: E402

from desktop.ui.covers import THUMB_PX, make_thumbnail  # noqa: E402


def photo(px: int, seed: int) -> QImage:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:px, 0:px] / px
    rgb = np.stack([np.clip(a * x + b * y + c * np.sin(6 * d * x * y) + rng.normal(0, 0.04, x.shape), 0, 1)
                    for a, b, c, d in rng.uniform(-0.6, 1.0, (3, 4))], -1)
    data = np.ascontiguousarray((rgb * 255).astype(np.uint8))
    return QImage(data.data, px, px, 3 * px, QImage.Format_RGB888).copy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracks", type=int, default=10000)
    ap.add_argument("--per-album", type=int, default=10)
    ap.add_argument("--px", type=int, default=600)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, cache = Path(tmp) / "music", Path(tmp) / "cache"
        cache.mkdir()
        albums = max(1, a.tracks // a.per_album)
        paths = []
        for i in range(albums):
            folder = root / f"album{i:05d}"
            folder.mkdir(parents=True)
            photo(a.px, i).save(str(folder / "cover.jpg"), "JPEG", 90)
            for t in range(a.per_album):
                p = folder / f"{t:02d}.flac"
                p.write_bytes(b"")
                paths.append(str(p))
        t0 = time.perf_counter()
        made = sum(1 for p in paths if make_thumbnail(p, cache))
        seconds = time.perf_counter() - t0
        files = list(cache.glob("*.png"))
        size = sum(f.stat().st_size for f in files)
        mean = size / max(len(files), 1)
        print(f"{len(paths)} tracks in {albums} albums ({a.px} px covers): {made} tracks with a cover, "
              f"{len(files)} thumbnails ({THUMB_PX} px PNG), {size / 1e6:.1f} MB on disk, "
              f"mean {mean / 1e3:.1f} KB; {seconds:.1f} s to make them")
        print(f"worst case, a picture per track: {len(paths)} thumbnails, about {len(paths) * mean / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
