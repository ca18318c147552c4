"""Cold start to first paint of the real window (target: <= 1.5 s).

    .venv/bin/python bench/startup.py [--runs 5] [--tracks 20000]

Each run is a fresh interpreter (`python bench/startup.py --child ...`), timed from just before the
parent starts it until the main window's first paint event, so the figure includes interpreter
start, imports (PySide6, numpy, the core), opening the library and building the window. The library
holds --tracks catalog rows (already "indexed", so nothing is resumed) to make the table realistic.
The child also reports whether torch was imported by then (it must not be: the embedder loads later,
in the library thread). Runs without a screen use QT_QPA_PLATFORM=offscreen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.5


def make_library(home: Path, tracks: int) -> None:
    sys.path.insert(0, str(ROOT))
    from desktop.core.catalog import Catalog, Track

    cat = Catalog(home / "catalog.sqlite3")
    with cat.transaction():
        for i in range(tracks):
            cat.add_track(Track(id=0, path=f"/music/artist{i % 800}/album{i // 12}/{i:05d}.flac", title=f"Song {i}",
                                artist=f"Artist {i % 800}", album=f"Album {i // 12}",
                                genre=("rock", "jazz", "folk")[i % 3],
                                year=1960 + i % 60, duration=150 + i % 200, status="indexed"))
    cat.close()


def child(t0: float, home: str) -> None:
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject, QTimer

    from desktop.ui.app import create_app, open_window

    app = create_app()
    result = {}

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Paint and "paint" not in result:
                result["paint"] = time.time() - t0
                result["torch_imported"] = "torch" in sys.modules
                QTimer.singleShot(0, app.quit)
            return False

    spy = FirstPaint()
    app.installEventFilter(spy)  # the first paint of any widget of the window
    window = open_window(home)
    result["shown"] = time.time() - t0
    QTimer.singleShot(10000, app.quit)
    app.exec()
    result["rows"] = window.model.rowCount()
    window.shutdown()
    print(json.dumps(result), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tracks", type=int, default=20000)
    ap.add_argument("--child", nargs=2, metavar=("T0", "HOME"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(float(args.child[0]), args.child[1])
        return 0
    with tempfile.TemporaryDirectory(prefix="soundalike-startup-") as tmp:
        home = Path(tmp) / "home"
        make_library(home, args.tracks)
        env = dict(os.environ, SOUNDALIKE_HOME=str(home), PYTHONPATH=str(ROOT))
        times = []
        for i in range(args.runs):
            t0 = time.time()
            out = subprocess.run([sys.executable, __file__, "--child", repr(t0), str(home)], env=env,
                                 capture_output=True, text=True, timeout=60)
            line = next((x for x in out.stdout.splitlines() if x.startswith("{")), None)
            if line is None:
                print(out.stdout, out.stderr, file=sys.stderr)
                return 1
            r = json.loads(line)
            times.append(r["paint"])
            print(f"run {i + 1}: first paint {r['paint']:.3f} s (window shown {r['shown']:.3f} s, "
                  f"{r['rows']} rows, torch imported: {r['torch_imported']})")
    print(f"startup to first paint: first {times[0]:.3f} s, median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s over {len(times)} runs ({args.tracks} tracks; target <= {TARGET_S} s)")
    return 0 if statistics.median(times) <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
