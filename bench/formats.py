"""Formats: decode speed per format (x realtime per core) and scan speed of a library with full tags.

    .venv/bin/python bench/formats.py [--seconds 30] [--files 10000] [--skip-scan]

Decode: for every extension in desktop/data/formats.json the test writers (tests/formats_audio.py;
APE and Musepack from tests/data, looped by the decoder count) make a `--seconds` long 44.1 kHz mono
tone-and-noise clip; the analysis stream (`open_audio(...).blocks()`, 16 kHz mono) is read to the end.
x realtime per core = audio seconds / CPU seconds of this process (time.process_time), which does not
depend on what else runs on the machine.

Scan: `--files` copies of a 0.5 s MP3 and FLAC (half each), every one with the full tag set of
tests/tag_writers.FULL under its own title, in Artist/Album folders of 12; then one cold `scan()` into
a fresh catalog (tags read, fingerprints, rows written). files/s = files / wall seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop.core import formats  # noqa: E402
from desktop.core.catalog import Catalog  # noqa: E402
from desktop.core.decode import open_audio  # noqa: E402
from desktop.core.scan import scan  # noqa: E402
from tests.formats_audio import PYAV, SOUNDFILE, write_audio  # noqa: E402
from tests.tag_writers import FULL, write_tags  # noqa: E402


def clip(seconds: float, sr: int = 44100) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 3.3 * t) * rng.standard_normal(len(t))
    return x.astype(np.float32)


def decode_table(seconds: float, folder: Path) -> list[tuple[str, str, str, float]]:
    rows = []
    x = clip(seconds)
    for fmt in formats.formats():
        for ext in fmt.extensions:
            name = ext.lstrip(".")
            path = folder / f"clip{ext}"
            if name in SOUNDFILE or name in PYAV or name in ("dsf", "dff"):
                write_audio(path, x)
            elif name in ("ape", "mpc"):
                shutil.copy(ROOT / "tests" / "data" / f"tone.{name}", path)
            else:
                continue  # the same codec under another extension (wave, aifc, m4b, mp+): measured once
            with open_audio(path) as src:
                cpu = time.process_time()
                got = sum(len(b) for b in src.blocks())
                cpu = time.process_time() - cpu
                rows.append((ext, fmt.name, src.decoder, got / 16000 / max(cpu, 1e-6)))
    return rows


def scan_speed(n: int, folder: Path) -> tuple[int, float]:
    templates = []
    for ext in ("mp3", "flac"):
        p = write_audio(folder / f"template.{ext}", clip(0.5))
        write_tags(p, FULL)
        templates.append(p)
    music = folder / "music"
    for i in range(n):
        src = templates[i % 2]
        dest = music / f"Artist {i // 120}" / f"Album {i // 12}" / f"{i:05d}{src.suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        write_tags(dest, {"title": f"Song {i}", "track": (i % 12 + 1, 12)})
    os.sync()
    cat = Catalog(folder / "catalog.sqlite3")
    start, cpu = time.perf_counter(), time.process_time()
    summary = list(scan(cat, [music]))[-1]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(summary.added) == n, (len(summary.added), summary.problems[:3])
    return n, wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--skip-scan", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"load average {os.getloadavg()[0]:.1f}; clips of {args.seconds:g} s (APE/MPC fixtures: 1 s)")
        print("| extension | format | decoder | decode x realtime per core |")
        print("|---|---|---|---|")
        for ext, name, decoder, speed in decode_table(args.seconds, tmp):
            print(f"| `{ext}` | {name} | {decoder} | {speed:,.0f} |")
        if not args.skip_scan:
            n, wall, cpu = scan_speed(args.files, tmp)
            print(f"\nscan of {n} files with full tags (MP3 + FLAC, cold catalog): {wall:.1f} s wall, "
                  f"{n / wall:,.0f} files/s; {cpu:.1f} CPU s, {n / cpu:,.0f} files per CPU second "
                  f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
