"""The GUI thread's CPU per selected row while playing, and which widgets' paint events it went to.

    .venv/bin/python bench/ui_click_cost.py [--clicks 20] [--tracks 100] [--size 1280x800] [--runs 1]
                                            [--idle] [--profile N]

CPU time of the GUI thread (time.thread_time) is what a row change costs whatever the machine's load, where
bench/ui_stall.py's gaps also hold the time spent waiting for a core. Indexes --tracks synthetic clips once
(bench/out/click-home, the clips of ui_stall.py), opens the window, plays the first row, then selects every
7th row every 300 ms (as ui_stall.py --clicks does) and prints the CPU per row and the paint events by widget
(a QApplication.notify override: '(full)' = the event covered the whole widget; a widget with an object name
shows it). --runs N repeats the clicks N times in the same window and prints each run's figure and their
median; --trace K prints every paint event of the first K rows (when, which widget, its region, its CPU);
--idle plays for the same time without selecting (what playing alone costs); --profile N prints the
N functions of the GUI thread's Python with the most own time during the clicks (cProfile).
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def open_click_window(tracks: int, size: str):
    """The window, not started, on bench/out/click-home-N, a spectral library kept between runs; and whether that
    library is new (its tracks still to be added and indexed). bench/ui_gil.py uses the same library."""
    from desktop.core.config import load_settings
    from desktop.ui.app import open_window

    home = ROOT / "bench" / "out" / f"click-home-{tracks}"
    fresh = not home.exists()
    if fresh:
        replace(load_settings(home), embedder="spectral").save()
    window = open_window(home, start=False)
    window.resize(*map(int, size.split("x")))
    return window, fresh


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--tracks", type=int, default=100)
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--idle", action="store_true", help="play without selecting rows (the baseline)")
    ap.add_argument("--profile", type=int, default=0, metavar="N")
    ap.add_argument("--trace", type=int, default=0, metavar="K", help="print every paint of the first K rows")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from bench.ui_stall import synth
    from desktop.ui.style import apply_style

    cost = collections.defaultdict(lambda: [0, 0.0])
    kinds = (QEvent.Paint, QEvent.UpdateRequest, QEvent.LayoutRequest)

    class App(QApplication):
        counting = False
        trace = 0.0  # while set: the monotonic time of the click whose paint events are printed

        def notify(self, obj, ev):  # noqa: N802 (Qt's name)
            if App.trace and ev.type() in (QEvent.Resize, QEvent.Move) and obj.isWidgetType():
                what = f"{ev.oldSize().toTuple()} -> {ev.size().toTuple()}" if ev.type() == QEvent.Resize \
                    else f"{ev.oldPos().toTuple()} -> {ev.pos().toTuple()}"
                print(f"    {(time.monotonic() - App.trace) * 1000:7.1f} ms  {ev.type().name} {type(obj).__name__} "
                      f"#{obj.objectName()} {what}")
            if not App.counting or ev.type() not in kinds:
                return super().notify(obj, ev)
            t = time.thread_time()
            answer = super().notify(obj, ev)
            name = type(obj).__name__
            if name == "QWidget" and obj.parent() is not None:
                name = f"viewport of {type(obj.parent()).__name__}"
            elif obj.objectName():
                name += f" #{obj.objectName()}"
            if ev.type() == QEvent.Paint:
                area = sum(r.width() * r.height() for r in ev.region())  # a region's rects do not overlap
                name += " (full)" if area >= 0.9 * obj.width() * obj.height() else " (part)"
                if App.trace:
                    b = ev.rect()
                    print(f"    {(time.monotonic() - App.trace) * 1000:7.1f} ms  paint {name}: {b.width()}x{b.height()}"
                          f"+{b.x()}+{b.y()} in {ev.region().rectCount()} rects, "
                          f"{(time.thread_time() - t) * 1000:.2f} ms CPU")
            entry = cost[(ev.type().name, name)]
            entry[0] += 1
            entry[1] += time.thread_time() - t
            return answer

    app = App(sys.argv[:1])
    apply_style(app)
    music = synth(ROOT / "bench" / "out" / "stall-music" / f"{args.tracks}x20s", args.tracks, 20.0)
    window, fresh = open_click_window(args.tracks, args.size)
    window.start([])

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    if fresh:
        done = []
        window.session.index_done.connect(done.append)
        window.library_controller.add_paths([str(music)])
        while not done:
            wait(200)
    while window.session.busy:  # the passage pass and the like: not part of the figure
        wait(500)
    wait(1000)
    rows = window.model.rowCount()
    window.play_row(0)
    wait(1500)
    profile = None
    if args.profile:
        import cProfile
        import pstats
        profile = cProfile.Profile()
    figures = []
    for run in range(args.runs):
        App.counting = True
        if profile is not None:
            profile.enable()
        t0 = time.thread_time()
        for i in range(args.clicks):
            if run == 0 and i < args.trace:
                App.trace = time.monotonic()
                print(f"  row {(i * 7) % rows} selected")
            if not args.idle:
                window.table.select_row((run * 3 + i * 7) % rows)
            wait(300)
            App.trace = 0.0
        cpu = (time.thread_time() - t0) * 1000
        if profile is not None:
            profile.disable()
        App.counting = False
        figures.append(cpu / args.clicks)
        what = "300 ms waits while playing, no row selected" if args.idle else "rows selected while playing"
        print(f"{args.clicks} {what} ({rows} tracks, {args.size}): GUI thread CPU {cpu:.0f} ms, "
              f"{cpu / args.clicks:.1f} ms a row")
    if args.runs > 1:
        print(f"median of {args.runs} runs: {statistics.median(figures):.1f} ms a row "
              f"({', '.join(f'{f:.1f}' for f in figures)})")
    for (kind, name), (n, seconds) in sorted(cost.items(), key=lambda kv: -kv[1][1])[:16]:
        print(f"  {seconds * 1000:8.1f} ms {n:5d} x {kind:14s} {name}")
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
