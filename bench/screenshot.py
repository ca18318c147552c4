"""A screenshot of the real app on a small synthetic library: `bench/screenshot.py OUT.png`.

Runs under a real X server: without $DISPLAY it re-executes itself under `xvfb-run`. It renders a
few dozen tagged tracks (three families of synthetic music, a few without an artist tag), indexes
them with the spectral embedder through the core, opens the window, plays a track (silently if
there is no sound card), waits until the similar-tracks pane and the waveform are filled, and saves
the window. Files are kept in bench/out/screenshot-music for the next run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SIZE = (1280, 800)

ALBUMS = {  # family -> (genre, [(artist or None, album, year)], titles)
    "plucked": ("Folk", [("The Hollow Pines", "Cedar Lanes", 2014), ("Mara Quell", "Small Harbours", 2019),
                         (None, "Field Recordings", 2021)],
                ["Morning at Ferris Creek", "Lanterns", "Paper Boats", "The Long Meadow", "Copper Wire",
                 "Salt and Thistle", "Harbour Lights", "Wren Song", "Under the Elms", "Kite Season"]),
    "drums": ("Electronic", [("Kinetic Bureau", "Night Shift", 2017), ("Ohm Theory", "Low Orbit", 2020),
                             (None, "Untitled Beats", 2022)],
              ["Pulse Width", "Concrete Garden", "Signal Path", "Tape Hiss Boogie", "Metro Lines",
               "Breakbeat Ledger", "Voltage Drop", "Backroom", "Sub Station", "Night Bus"]),
    "pad": ("Ambient", [("Aurel Vantage", "Slow Weather", 2016), ("Glass Meridian", "Tidal Rooms", 2018),
                        (None, "Drones", 2023)],
            ["Fog Over Water", "Still Hours", "Northern Glass", "Drift", "Quiet Continent", "Snowfield",
             "Lowlight", "Halcyon", "The Far Shore", "Breathing Room"]),
}


def reexec_under_xvfb() -> None:
    if os.environ.get("DISPLAY") or os.environ.get("SOUNDALIKE_SCREENSHOT_XVFB"):
        return
    if not shutil.which("xvfb-run"):
        sys.exit("screenshot: no $DISPLAY and no xvfb-run (apt install xvfb xauth)")
    env = dict(os.environ, SOUNDALIKE_SCREENSHOT_XVFB="1")
    env.pop("QT_QPA_PLATFORM", None)
    argv = " ".join(sys.argv[1:]).replace("--size=", "--size ").split()
    w, h = parse_size(argv[argv.index("--size") + 1] if "--size" in argv[:-1] else "x".join(map(str, SIZE)))
    screen = f"-screen 0 {w + 40}x{h + 40}x24"
    cmd = ["xvfb-run", "-a", "-s", screen, sys.executable, __file__, *sys.argv[1:]]
    sys.exit(subprocess.call(cmd, env=env))


def parse_size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def paint_covers(music: Path) -> None:
    """A cover.png per album folder (a gradient with the album's initials), as real albums have."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QFont, QImage, QLinearGradient, QPainter

    for i, folder in enumerate(sorted(p for p in music.glob("*/*") if p.is_dir())):
        target = folder / "cover.png"
        if target.exists():
            continue
        img = QImage(256, 256, QImage.Format_RGB32)
        p = QPainter(img)
        g = QLinearGradient(0, 0, 256, 256)
        g.setColorAt(0, QColor.fromHsv((i * 47) % 360, 160, 200))
        g.setColorAt(1, QColor.fromHsv((i * 47 + 60) % 360, 200, 90))
        p.fillRect(img.rect(), g)
        p.setPen(QColor(255, 255, 255, 220))
        p.setFont(QFont("DejaVu Sans", 64, QFont.Bold))
        p.drawText(img.rect(), Qt.AlignCenter, "".join(w[0] for w in folder.name.split("_")[:2]))
        p.end()
        img.save(str(target))


def make_music(folder: Path, seconds: float) -> Path:
    import mutagen

    from tests import audio

    for fi, (family, (genre, albums, titles)) in enumerate(ALBUMS.items()):
        for i, title in enumerate(titles):
            artist, album, year = albums[i % len(albums)]
            path = folder / genre / (album.replace(" ", "_")) / f"{i + 1:02d} {title}.flac"
            if path.exists():
                continue
            audio.write(path, audio.render(family, seconds * (0.8 + 0.4 * ((i * 7) % 5) / 4), seed=300 * fi + i))
            tags = mutagen.File(path, easy=True)
            tags["title"], tags["album"], tags["genre"], tags["date"] = title, album, genre, str(year)
            tags["tracknumber"] = str(i + 1)
            if artist:
                tags["artist"] = artist
            tags.save()
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="PNG to write")
    ap.add_argument("--seconds", type=float, default=40.0, help="length of the synthetic tracks")
    ap.add_argument("--size", default="x".join(map(str, SIZE)), help="window size, WIDTHxHEIGHT (default 1280x800)")
    args = ap.parse_args()
    reexec_under_xvfb()
    out = Path(args.out).resolve()
    music = make_music(ROOT / "bench" / "out" / "screenshot-music", args.seconds)
    home = ROOT / "bench" / "out" / "screenshot-home"
    shutil.rmtree(home, ignore_errors=True)

    from desktop.core.config import load_settings
    from desktop.core.indexer import scan_and_index
    from desktop.core.library import Library

    replace(load_settings(home), embedder="spectral").save()
    with Library.open(home) as lib:
        summary = list(scan_and_index(lib, [str(music)]))[-1]
    print(f"indexed {summary.indexed} tracks", file=sys.stderr)

    from PySide6.QtWidgets import QApplication

    from desktop.ui.app import create_app, open_window

    app = create_app()
    paint_covers(music)
    w = open_window(home, start=False)
    w.resize(*parse_size(args.size))
    w.move(0, 0)
    w.start([])
    target = next(r for r in range(w.model.rowCount()) if w.model.track_at(r).title == "Lanterns")
    w.table.select_row(target)
    w.play_row(target)

    def wait(cond, timeout=30.0):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit("screenshot: timed out waiting for the window")
            app.processEvents()
            time.sleep(0.01)

    wait(lambda: not w.similar.pending and bool(w.similar.hits) and w.waveform.has_peaks and w.transport.has_cover)
    w.playback.seek(w.playback.duration * 0.37)
    wait(lambda: w.playback.position > w.playback.duration * 0.37)
    w.table.setFocus()
    settle = time.monotonic() + 0.4
    wait(lambda: time.monotonic() > settle)  # let the playhead and the pane repaint
    img = w.grab().toImage()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not img.save(str(out), "PNG", 0):
        print(f"screenshot: cannot write {out}", file=sys.stderr)
        return 1
    print(f"{out}: {img.width()}x{img.height()}, {out.stat().st_size // 1024} KB ({QApplication.platformName()})")
    w.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
