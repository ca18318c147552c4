"""The GUI thread's CPU per selected row while playing, and which widgets' paint events it went to.

    .venv/bin/python bench/ui_click_cost.py [--clicks 20] [--tracks 100] [--size 1280x800]

CPU time of the GUI thread (time.thread_time) is what a row change costs whatever the machine's load, where
bench/ui_stall.py's gaps also hold the time spent waiting for a core. Indexes --tracks synthetic clips once
(bench/out/click-home, the clips of ui_stall.py), opens the window, plays the first row, then selects every
7th row every 300 ms (as ui_stall.py --clicks does) and prints the CPU per row and the paint events by widget
(a QApplication.notify override: '(full)' = the event covered the whole widget).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--tracks", type=int, default=100)
    ap.add_argument("--size", default="1280x800")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from bench.ui_stall import synth
    from desktop.core.config import load_settings
    from desktop.ui.app import open_window
    from desktop.ui.style import apply_style

    cost = collections.defaultdict(lambda: [0, 0.0])
    kinds = (QEvent.Paint, QEvent.UpdateRequest, QEvent.LayoutRequest)

    class App(QApplication):
        counting = False

        def notify(self, obj, ev):  # noqa: N802 (Qt's name)
            if not App.counting or ev.type() not in kinds:
                return super().notify(obj, ev)
            t = time.thread_time()
            answer = super().notify(obj, ev)
            name = type(obj).__name__
            if name == "QWidget" and obj.parent() is not None:
                name = f"viewport of {type(obj.parent()).__name__}"
            if ev.type() == QEvent.Paint:
                whole = ev.rect().width() >= obj.width() - 1 and ev.rect().height() >= obj.height() - 1
                name += " (full)" if whole else " (part)"
            entry = cost[(ev.type().name, name)]
            entry[0] += 1
            entry[1] += time.thread_time() - t
            return answer

    app = App(sys.argv[:1])
    apply_style(app)
    music = synth(ROOT / "bench" / "out" / "stall-music" / f"{args.tracks}x20s", args.tracks, 20.0)
    home = ROOT / "bench" / "out" / f"click-home-{args.tracks}"
    fresh = not home.exists()
    if fresh:
        replace(load_settings(home), embedder="spectral").save()
    window = open_window(home, start=False)
    window.resize(*map(int, args.size.split("x")))
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
    App.counting = True
    t0 = time.thread_time()
    for i in range(args.clicks):
        window.table.select_row((i * 7) % rows)
        wait(300)
    cpu = (time.thread_time() - t0) * 1000
    App.counting = False
    print(f"{args.clicks} rows selected while playing ({rows} tracks, {args.size}): GUI thread CPU {cpu:.0f} ms, "
          f"{cpu / args.clicks:.1f} ms a row")
    for (kind, name), (n, seconds) in sorted(cost.items(), key=lambda kv: -kv[1][1])[:12]:
        print(f"  {seconds * 1000:8.1f} ms {n:5d} x {kind:14s} {name}")
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
