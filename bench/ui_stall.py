"""The longest GUI event-loop stall while the window indexes 200 tracks with spectral (target: <= 50 ms).

    .venv/bin/python bench/ui_stall.py [--tracks 200] [--seconds 20] [--clicks] [--play] [--library-dir DIR]

Synthesises --tracks clips (kept in bench/out/stall-music for the next run), opens the real window
on a fresh spectral library, drops the folder on it (scan + index in the library thread) and runs a
5 ms QTimer on the GUI thread, recording the gap between ticks until indexing ends. With --clicks it
also selects another row every 300 ms, like a user browsing, so similar-tracks queries, pane updates
and table repaints happen during the run too; --play also plays from the first indexed track (through the
null output when there is no sound card), so decoding for playback competes too. Prints the longest gap,
its excess over the 5 ms period, and percentiles.

Known floor: Qdrant Edge holds the GIL inside its calls, including `flush()`, which fsyncs; on a
disk with slow fsync that alone stalls every Python thread (try --library-dir /dev/shm to compare).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TICK_MS = 5
TARGET_MS = 50


def synth(folder: Path, n: int, seconds: float) -> Path:
    from tests import audio

    folder.mkdir(parents=True, exist_ok=True)
    families = list(audio.FAMILIES)
    for i in range(n):
        fam = families[i % len(families)]
        path = folder / fam / f"{fam}_{i:03d}.flac"
        if not path.exists():
            audio.write(path, audio.render(fam, seconds, seed=7000 + i))
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each synthetic clip")
    ap.add_argument("--clicks", action="store_true", help="also select another row every 300 ms, like a user "
                    "browsing (each click repaints the table and runs a similar-tracks query)")
    ap.add_argument("--play", action="store_true", help="also play the library from its first indexed track "
                    "(silently through the null output when there is no sound card)")
    ap.add_argument("--library-dir", help="where to create the library (default: a temp dir); e.g. /dev/shm to "
                    "take disk syncs out of the figure")
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = ROOT / "bench" / "out" / "stall-music" / f"{args.tracks}x{args.seconds:g}s"
    music = synth(out, args.tracks, args.seconds)

    from PySide6.QtCore import QTimer

    from desktop.core.config import load_settings
    from desktop.ui.app import create_app, open_window

    app = create_app()
    with tempfile.TemporaryDirectory(prefix="soundalike-stall-", dir=args.library_dir) as tmp:
        home = Path(tmp) / "home"
        replace(load_settings(home), embedder="spectral").save()
        window = open_window(home, start=False)
        window.start([])
        gaps: list[float] = []
        last = [time.perf_counter()]
        worst = [0.0, ""]

        def tick():
            now = time.perf_counter()
            gap = (now - last[0]) * 1000
            gaps.append(gap)
            if gap > worst[0]:
                worst[0], worst[1] = gap, window.index_status.text
            last[0] = now

        timer = QTimer()
        timer.setInterval(TICK_MS)
        timer.timeout.connect(tick)
        clicks = QTimer()
        clicks.setInterval(300)
        row = [0]

        def click():
            n = window.model.rowCount()
            if n and args.play and window.playback.current is None:
                window.play_row(0)
            if n:
                row[0] = (row[0] + 7) % n
                window.table.select_row(row[0])

        clicks.timeout.connect(click)
        done = {}

        played = [""]
        window.playback.current_changed.connect(lambda now: now and not played[0] and played.__setitem__(
            0, f"{now.title} (state {window.playback.state})"))

        def finished(summary):
            done.update(summary=summary, counts=window.session.catalog.counts())

        window.session.index_done.connect(finished)

        def idle():
            if "summary" in done:
                app.quit()

        window.session.idle.connect(idle)
        t0 = time.perf_counter()

        def go():
            last[0] = time.perf_counter()
            timer.start()
            if args.clicks or args.play:
                clicks.start()
            window.library_controller.add_paths([str(music)])

        QTimer.singleShot(200, go)
        QTimer.singleShot(600_000, app.quit)
        app.exec()
        wall = time.perf_counter() - t0
        timer.stop()
        clicks.stop()
        summary = done.get("summary")
        audio = "yes" if window.playback.available else f"none ({window.playback.unavailable_reason})"
        counts = done.get("counts") or {"indexed": 0, "total": 0}
        window.shutdown()
    if not gaps:
        print("no timer ticks recorded", file=sys.stderr)
        return 1
    gaps.sort()
    p = lambda q: gaps[min(len(gaps) - 1, int(q * len(gaps)))]  # noqa: E731
    print(f"indexed {counts['indexed']} of {counts['total']} tracks in {wall:.1f} s"
          + (f" ({summary.indexed / summary.seconds:.1f} tracks/s)" if summary and summary.seconds else ""))
    print(f"GUI ticks: {len(gaps)} (every {TICK_MS} ms), median gap {statistics.median(gaps):.1f} ms, "
          f"p99 {p(0.99):.1f} ms, p99.9 {p(0.999):.1f} ms")
    print(f"playing: {played[0] or 'nothing'}; audio output: {audio}")
    print(f"longest GUI stall: {worst[0]:.1f} ms gap ({worst[0] - TICK_MS:.1f} ms over the {TICK_MS} ms period) "
          f"while: {worst[1] or 'starting'}  (target <= {TARGET_MS} ms)")
    return 0 if worst[0] <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
