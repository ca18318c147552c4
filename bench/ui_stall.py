"""The longest GUI event-loop stall while the window indexes synthetic tracks with spectral (target: <= 16 ms,
one frame at 60 Hz).

    .venv/bin/python bench/ui_stall.py [--tracks 200] [--seconds 20] [--clicks] [--play] [--sample N]
                                       [--passages] [--library-dir DIR]

Synthesises --tracks clips (kept in bench/out/stall-music for the next run), opens the real window
on a fresh spectral library, drops the folder on it (scan + index in the library thread) and runs a
5 ms QTimer on the GUI thread, recording the gap between ticks until indexing ends. With --clicks it
also selects another row every 300 ms, like a user browsing, so similar-tracks queries, pane updates
and table repaints happen during the run too; --play also plays from the first indexed track (through the
null output when there is no sound card), so decoding for playback competes too. Prints the longest gap,
its excess over the 5 ms period, and percentiles. --sample N also says where the GUI thread and the busy
threads were during the N longest stalls, how long each thread of the process, and each child process (named by
its priority: "child 123 nice 10", "child 124 idle"; 10 ms resolution), ran on a CPU during them (which names a
thread that held the GIL in native code, when the stack sampler could not look, and what held the cores), and how
all stalls split into the GUI thread running, waiting for a CPU and blocked (GIL, locks), from Linux's schedstat.
--events (with --sample) also times every Qt event the GUI thread delivers (a QApplication.notify override, as
bench/ui_click_cost.py does) and lists, under each of those stalls, the events that took 4 ms or more in it (type,
receiver, CPU) with the longest events nested in them: the GUI thread's own work inside Qt's C++, where the stack
sampler sees only `main`. The override costs a Python call per event, so measure gaps without it.

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
from bench.stall_sampler import EventTimer, StallSampler  # noqa: E402 (after the path)

TICK_MS = 5
TARGET_MS = 16  # one frame at 60 Hz (issue 18)
CLICK_EVERY_MS = 300  # --clicks: another row selected this often


def row_clicker(window, play: bool):
    """A user browsing: each call selects the row 7 below the last (wrapping), and with `play` first plays the
    first row when nothing is loaded (bench/library_elsewhere.py drives the window the same way)."""
    row = [0]

    def click() -> None:
        n = window.model.rowCount()
        if n and play and window.playback.current is None:
            window.play_row(0)
        if n:
            row[0] = (row[0] + 7) % n
            window.table.select_row(row[0])

    return click


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


def quantile(ordered: list[float], fraction: float) -> float:
    """The gap below which `fraction` of the sorted gaps lie."""
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each synthetic clip")
    ap.add_argument("--clicks", action="store_true", help="also select another row every 300 ms, like a user "
                    "browsing (each click repaints the table and runs a similar-tracks query)")
    ap.add_argument("--play", action="store_true", help="also play the library from its first indexed track "
                    "(silently through the null output when there is no sound card)")
    ap.add_argument("--sample", type=int, default=0, metavar="N", help="sample the GUI thread's stack whenever "
                    f"it is more than {TARGET_MS} ms late and print the N longest stalls with where it was")
    ap.add_argument("--events", action="store_true", help="with --sample: also time the GUI thread's Qt events "
                    "and list the long ones under each stall (adds a Python call per event)")
    ap.add_argument("--passages", action="store_true", help="go on measuring through the passage pass that follows "
                    "the index run (the clicks and playback go on too), and report it apart")
    ap.add_argument("--library-dir", help="where to create the library (default: a temp dir); e.g. /dev/shm to "
                    "take disk syncs out of the figure")
    ap.add_argument("--switch-interval", type=float, metavar="MS", help="the GIL switch interval after the "
                    "window opens (default: the app's own; Python's default is 5)")
    args = ap.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = ROOT / "bench" / "out" / "stall-music" / f"{args.tracks}x{args.seconds:g}s"
    music = synth(out, args.tracks, args.seconds)

    import threading

    from PySide6.QtCore import QTimer

    from desktop.core.config import load_settings
    from desktop.ui.app import create_app, open_window
    from desktop.ui.mpris import start_mpris

    events = EventTimer(threading.get_ident()) if args.events and args.sample else None
    if events is not None:  # before create_app, which then styles this instance
        from PySide6.QtCore import QObject
        from PySide6.QtWidgets import QApplication

        class TimedApp(QApplication):
            def notify(self, obj, ev):  # noqa: N802 (Qt's name)
                if not isinstance(obj, QObject):
                    # PySide sometimes hands an override a deferred delete's receiver as the event itself;
                    # passing it on raises, and the error's text loads PySide's signature module (40 ms)
                    return False
                return events.wrap(super().notify, obj, ev)

        from desktop.ui.style import apply_style

        apply_style(TimedApp(sys.argv[:1]))  # create_app() reuses it as it is
    app = create_app()
    with tempfile.TemporaryDirectory(prefix="soundalike-stall-", dir=args.library_dir) as tmp:
        home = Path(tmp) / "home"
        replace(load_settings(home), embedder="spectral").save()
        window = open_window(home, start=False)
        mpris = start_mpris(window)  # as the app: desktop media controls where there is a session bus
        if args.switch_interval:
            sys.setswitchinterval(args.switch_interval / 1000)
        window.start([])
        gaps: list[float] = []
        last = [time.perf_counter()]
        worst = [0.0, ""]

        sampler = StallSampler(threading.get_ident(), TARGET_MS) if args.sample else None
        if sampler is not None:
            sampler.events = events

        passage_gaps: list[float] = []

        def tick():
            now = time.perf_counter()
            gap = (now - last[0]) * 1000
            if "summary" in done and args.passages:  # the index run is over: the passage pass's share
                passage_gaps.append(gap)
                last[0] = now
                return
            gaps.append(gap)
            if gap > worst[0]:
                worst[0], worst[1] = gap, window.index_status.text
            if sampler is not None:
                sampler.tick(now, gap, window.index_status.text)
            last[0] = now

        timer = QTimer()
        timer.setInterval(TICK_MS)
        timer.timeout.connect(tick)
        clicks = QTimer()
        clicks.setInterval(CLICK_EVERY_MS)
        clicks.timeout.connect(row_clicker(window, args.play))
        done = {}

        played = [""]
        window.playback.current_changed.connect(lambda now: now and not played[0] and played.__setitem__(
            0, f"{now.title} (state {window.playback.state})"))

        def finished(summary):
            done.update(summary=summary, counts=window.session.catalog.counts())

        window.session.index_done.connect(finished)

        def idle():
            if "summary" in done and not args.passages:
                timer.stop()  # the window's shutdown after quit() is not part of the figure
                clicks.stop()
                app.quit()

        def job_finished(job):
            if job.name == "passages" and "summary" in done and args.passages:
                done["passages"] = time.perf_counter()
                timer.stop()
                clicks.stop()
                app.quit()

        window.session.idle.connect(idle)
        window.session.worker.job_finished.connect(job_finished)
        t0 = time.perf_counter()

        def go():
            last[0] = time.perf_counter()
            if sampler is not None:
                sampler.start()
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
        if sampler is not None:
            sampler.stop()
        summary = done.get("summary")
        audio = "yes" if window.playback.available else f"none ({window.playback.unavailable_reason})"
        counts = done.get("counts") or {"indexed": 0, "total": 0}
        if mpris is not None:
            mpris.unregister()
        window.shutdown()
    if not gaps:
        print("no timer ticks recorded", file=sys.stderr)
        return 1
    gaps.sort()
    print(f"indexed {counts['indexed']} of {counts['total']} tracks in {wall:.1f} s"
          + (f" ({summary.indexed / summary.seconds:.1f} tracks/s)" if summary and summary.seconds else ""))
    print(f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms")
    print(f"GUI ticks: {len(gaps)} (every {TICK_MS} ms), median gap {statistics.median(gaps):.1f} ms, "
          f"p99 {quantile(gaps, 0.99):.1f} ms, p99.9 {quantile(gaps, 0.999):.1f} ms")
    print(f"playing: {played[0] or 'nothing'}; audio output: {audio}; MPRIS: "
          + ("on" if mpris is not None else "off (no session bus: run under dbus-run-session as a desktop has one)"))
    print(f"longest GUI stall: {worst[0]:.1f} ms gap ({worst[0] - TICK_MS:.1f} ms over the {TICK_MS} ms period) "
          f"while: {worst[1] or 'starting'}  (target <= {TARGET_MS} ms)")
    late = sum(g > TARGET_MS for g in gaps)
    print(f"gaps over {TARGET_MS} ms: {late} ({100 * late / len(gaps):.2f} %)")
    if args.passages:
        if not passage_gaps or "passages" not in done:
            print("passage pass: not measured (it did not run, or did not end within the bench's 10 minutes)")
        else:
            passage_gaps.sort()
            late_p = sum(g > TARGET_MS for g in passage_gaps)
            print(f"passage pass: {len(passage_gaps)} ticks, p99 {quantile(passage_gaps, 0.99):.1f} ms, "
                  f"longest {passage_gaps[-1]:.1f} ms, "
                  f"gaps over {TARGET_MS} ms: {late_p} ({100 * late_p / len(passage_gaps):.2f} %)")
    if sampler is not None:
        print(f"the {args.sample} longest stalls and where the GUI thread was:")
        print(sampler.report(args.sample))
    return 0 if worst[0] <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
