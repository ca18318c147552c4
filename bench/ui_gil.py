"""What another thread running Python costs the window: one selected row's GUI work, alone and beside a busy thread.

    .venv/bin/python bench/ui_gil.py [--rows 30] [--tracks 100] [--size 1280x800]

Opens the window on bench/out/click-home-N (made by bench/ui_click_cost.py; made here when missing), plays the first
track, then selects every 7th row and times what a click costs: from `select_row()` until the Sounds-like pane
shows the new track's hits and the window has repainted (the query runs in the library thread), as wall time
and as the GUI thread's CPU. Rows alternate between a quiet process and one where a background thread runs
Python without pause (a stand-in for the library thread reading tags or handling index results). Two threads
running Python take the GIL by turns (every switch interval: 1 ms in the window), and every call from Qt's C++
into Python (a paint event, a model's rowCount(), a slot) may first wait for it; the ratio of the two walls is how
much longer the same work takes beside such a thread. Prints the medians and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class BusyThread:
    """A daemon thread that runs Python until stopped (it never releases the GIL on its own)."""

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, name="busy-python", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=30, help="rows selected (half of them beside the busy thread)")
    ap.add_argument("--tracks", type=int, default=100)
    ap.add_argument("--size", default="1280x800")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from bench.ui_click_cost import open_click_window
    from bench.ui_stall import synth
    from desktop.ui.app import create_app

    app = create_app()
    window, fresh = open_click_window(args.tracks, args.size)
    window.show()
    window.start([])

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)

    if fresh:
        music = synth(ROOT / "bench" / "out" / "stall-music" / f"{args.tracks}x20s", args.tracks, 20.0)
        done = []
        window.session.index_done.connect(done.append)
        window.library_controller.add_paths([str(music)])
        while not done:
            settle(0.2)
    while window.model.rowCount() == 0 or window.model.loading or window.session.busy:
        settle(0.2)
    rows = window.model.rowCount()
    window.play_row(0)
    settle(1.5)
    figures: dict[str, list[tuple[float, float]]] = {"quiet": [], "beside a busy thread": []}
    for i in range(1, args.rows + 1):
        busy = BusyThread() if i % 2 else None
        wall, cpu = time.perf_counter(), time.thread_time()
        before = window.similar.model.hits  # set_hits() puts a new list there
        window.table.select_row((i * 7) % rows)
        while window.similar.model.hits is before and time.perf_counter() - wall < 2.0:
            app.processEvents()
        app.processEvents()  # the repaint that shows them
        wall, cpu = (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000
        if busy is not None:
            busy.stop()
        figures["beside a busy thread" if busy else "quiet"].append((wall, cpu))
        settle(0.3)  # the hits' covers and the like, outside the figure
    window.shutdown()
    print(f"one selected row, until its hits are shown, while playing ({rows} tracks, {args.size}), "
          f"medians of {args.rows // 2}:")
    medians = {}
    for what, pairs in figures.items():
        medians[what] = statistics.median(w for w, _ in pairs)
        cpu = statistics.median(c for _, c in pairs)
        print(f"  {what:22s} wall {medians[what]:6.1f} ms, GUI thread CPU {cpu:5.1f} ms")
    print(f"  wall beside / quiet: {medians['beside a busy thread'] / medians['quiet']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
