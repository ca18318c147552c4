"""The longest GUI event-loop stall while the window indexes synthetic tracks with spectral (target: <= 16 ms,
one frame at 60 Hz).

    .venv/bin/python bench/ui_stall.py [--tracks 200] [--seconds 20] [--clicks] [--play] [--sample N]
                                       [--library-dir DIR]

Synthesises --tracks clips (kept in bench/out/stall-music for the next run), opens the real window
on a fresh spectral library, drops the folder on it (scan + index in the library thread) and runs a
5 ms QTimer on the GUI thread, recording the gap between ticks until indexing ends. With --clicks it
also selects another row every 300 ms, like a user browsing, so similar-tracks queries, pane updates
and table repaints happen during the run too; --play also plays from the first indexed track (through the
null output when there is no sound card), so decoding for playback competes too. Prints the longest gap,
its excess over the 5 ms period, and percentiles. --sample N also says where the GUI thread and the busy
threads were during the N longest stalls, how long each thread of the process ran on a CPU during them (which
names a thread that held the GIL in native code, when the stack sampler could not look), and how all stalls
split into the GUI thread running, waiting for a CPU and blocked (GIL, locks), from Linux's schedstat.
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
TICK_MS = 5
TARGET_MS = 16  # one frame at 60 Hz (issue 18)
SAMPLE_EVERY_S = 0.002
THREADS_CPU_EVERY_S = 0.008  # --sample: every thread's CPU time read this often (~20 files)
CLICK_EVERY_MS = 300  # --clicks: another row selected this often


class EventTimer:
    """The Qt events the GUI thread spent 4 ms or more in (wall and CPU), each with the longest events nested
    in it: `wrap(notify, obj, ev)` is called from a QApplication.notify override."""

    MIN_S = 0.004

    def __init__(self, gui_ident: int):
        self.gui = gui_ident
        self.long: list[tuple] = []  # (start, end, cpu ms, what, nested), outermost events only
        self._open: list[list] = []  # the nested events of each event being delivered

    def wrap(self, notify, obj, ev):
        import threading

        if threading.get_ident() != self.gui:
            return notify(obj, ev)
        t0, c0 = time.perf_counter(), time.thread_time()
        self._open.append([])
        try:
            return notify(obj, ev)
        finally:
            nested = self._open.pop()
            t1 = time.perf_counter()
            if t1 - t0 >= self.MIN_S:
                record = (t0, t1, (time.thread_time() - c0) * 1000, _describe(obj, ev), nested)
                (self._open[-1] if self._open else self.long).append(record)

    def during(self, start: float, end: float) -> list[str]:
        """The long events that overlap [start, end], nested ones indented under theirs (3 levels)."""
        lines: list[str] = []

        def add(records, depth):
            for t0, t1, cpu, what, nested in sorted(records, key=lambda r: r[0] - r[1])[:4]:
                lines.append(f"{'  ' * depth}{(t1 - t0) * 1000:.0f} ms ({cpu:.0f} ms CPU) {what}")
                if depth < 3:
                    add(nested, depth + 1)

        add([r for r in self.long if r[1] > start and r[0] < end], 0)
        return lines


def _describe(obj, ev) -> str:
    """'Paint LibraryView viewport 1024x380', 'MetaCall LibrarySession', 'Timer QTimer #name'."""
    name = type(obj).__name__
    try:
        parent, object_name = obj.parent(), obj.objectName()
    except (AttributeError, RuntimeError):  # PySide has handed a notify() an event as its receiver
        parent, object_name = None, ""
    if name == "QWidget" and parent is not None:
        name = f"viewport of {type(parent).__name__}"
    elif object_name:
        name += f" #{object_name}"
    what = f"{ev.type().name} {name}"
    if ev.type().name == "Paint":
        r = ev.rect()
        what += f" {r.width()}x{r.height()}"
    return what


class StallSampler:
    """Why the GUI thread is late: a thread that, whenever the 5 ms heartbeat is overdue, records where the GUI
    thread and the other Python threads are (sys._current_frames). It can only look while it holds the GIL, so
    a stall caused by native code holding the GIL (Qdrant Edge's calls) shows as the frames on either side of
    it, with the holder among the 'other threads'."""

    def __init__(self, gui_ident: int, late_ms: float):
        import threading

        self.gui, self.late_s = gui_ident, late_ms / 1000
        self.last = time.perf_counter()
        self.schedstat = f"/proc/self/task/{threading.get_native_id()}/schedstat"
        self.sched = self._sched()
        self.samples: list[tuple[str, tuple[str, ...]]] = []
        self.stalls: list[tuple] = []  # (gap ms, status text, ran ms, waited ms, samples, end)
        self.events: EventTimer | None = None  # set with --events
        self.cpu_log: list[tuple[float, dict[int, tuple[str, float]]]] = []  # (time, {tid: (name, ms on a CPU)})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)

    def start(self) -> None:
        self.last = time.perf_counter()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _sched(self) -> tuple[float, float]:
        """The GUI thread's time on a CPU and waiting for one (ms, Linux schedstat; zeros elsewhere)."""
        try:
            with open(self.schedstat) as f:
                on_cpu, waiting = f.read().split()[:2]
            return int(on_cpu) / 1e6, int(waiting) / 1e6
        except (OSError, ValueError):
            return 0.0, 0.0

    def tick(self, now: float, gap_ms: float, status: str) -> None:
        sched = self._sched()
        if gap_ms > self.late_s * 1000:
            self.stalls.append((gap_ms, status or "starting", sched[0] - self.sched[0], sched[1] - self.sched[1],
                                self.samples, now))
        self.sched = sched
        self.samples = []
        self.last = now

    def _run(self) -> None:
        import threading

        names, next_cpu = {}, 0.0
        while not self._stop.wait(SAMPLE_EVERY_S):
            now = time.perf_counter()
            if now >= next_cpu:  # every thread's CPU time, to tell afterwards which ran during a stall
                py_names = {t.native_id: t.name for t in threading.enumerate()}  # QThreads name themselves
                self.cpu_log.append((now, {tid: (py_names.get(tid, name) if name == "python" else name, ms)
                                           for tid, (name, ms) in _threads_cpu().items()}))
                next_cpu = now + THREADS_CPU_EVERY_S
            if now - self.last < self.late_s / 2:  # sampled from half the target on: a stall's start too
                continue
            names.update((t.ident, t.name) for t in threading.enumerate())
            frames = sys._current_frames()
            gui = _stack(frames.get(self.gui))
            others = tuple(f"{names.get(ident, ident)}: {_stack(f, 3)}" for ident, f in frames.items()
                           if ident not in (self.gui, threading.get_ident()) and _busy(f))
            self.samples.append((gui, others))

    def _threads_during(self, start: float, end: float) -> str:
        """The threads that ran on a CPU from the reading before `start` to the one after `end`, most first
        (a thread holding the GIL in native code stops the sampler too: this still names it)."""
        before = [c for t, c in self.cpu_log if t <= start]
        after = [c for t, c in self.cpu_log if t >= end]
        if not before or not after:
            return ""
        a, b = before[-1], after[0]
        ran = sorted(((ms - a[tid][1], name) for tid, (name, ms) in b.items() if tid in a), reverse=True)
        return ", ".join(f"{name} {ms:.0f} ms" for ms, name in ran if ms >= 1)

    def report(self, top: int) -> str:
        """How the stalls' time splits (the GUI thread running, waiting for a CPU, blocked: the GIL, a lock),
        then the longest ones with where the GUI thread and the busy threads were."""
        import collections

        gap, cpu, runq = (sum(s[i] for s in self.stalls) for i in (0, 2, 3))
        lines = [f"{len(self.stalls)} stalls, {gap:.0f} ms in all: GUI thread running {cpu:.0f} ms, waiting for a "
                 f"CPU {runq:.0f} ms, blocked (GIL, locks) {gap - cpu - runq:.0f} ms"]
        for gap, status, cpu, runq, samples, end in sorted(self.stalls, key=lambda s: -s[0])[:top]:
            lines.append(f"  {gap:.0f} ms while {status!r}: ran {cpu:.0f} ms, waited for a CPU {runq:.0f} ms, "
                         f"blocked {gap - cpu - runq:.0f} ms; {len(samples)} samples")
            ran = self._threads_during(end - gap / 1000, end)
            if ran:
                lines.append(f"    threads on a CPU: {ran}")
            if self.events is not None:
                lines.extend(f"    event: {e}" for e in self.events.during(end - gap / 1000, end))
            for (gui, others), n in collections.Counter(samples).most_common(3):
                lines.append(f"    {n} x GUI: {gui}")
                lines.extend(f"          {o}" for o in others)
        return "\n".join(lines)


def _threads_cpu() -> dict[int, tuple[str, float]]:
    """{native thread id: (its name, ms on a CPU so far)} of this process's threads (Linux; empty elsewhere)."""
    out = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                on_cpu = int(f.read().split()[0]) / 1e6
            with open(f"/proc/self/task/{tid}/comm") as f:
                out[int(tid)] = (f.read().strip(), on_cpu)
        except (OSError, ValueError, IndexError):
            pass
    return out


def _busy(frame) -> bool:
    """Threads waiting on a lock, condition or select show nothing of interest."""
    return frame is not None and frame.f_code.co_name not in ("wait", "select", "_wait_for_tstate_lock", "poll",
                                                              "_recv", "_recv_bytes", "accept", "run_forever")


def _stack(frame, depth: int = 6) -> str:
    """The innermost frames, ours first: 'library_model.py:190 _fetch < library_view.py:212 update_summary'."""
    if frame is None:
        return "-"
    out = []
    while frame is not None and len(out) < depth:
        code = frame.f_code
        out.append(f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return " < ".join(out)


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
        if args.switch_interval:
            sys.setswitchinterval(args.switch_interval / 1000)
        window.start([])
        gaps: list[float] = []
        last = [time.perf_counter()]
        worst = [0.0, ""]

        sampler = StallSampler(threading.get_ident(), TARGET_MS) if args.sample else None
        if sampler is not None:
            sampler.events = events

        def tick():
            now = time.perf_counter()
            gap = (now - last[0]) * 1000
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
            if "summary" in done:
                timer.stop()  # the window's shutdown after quit() is not part of the figure
                clicks.stop()
                app.quit()

        window.session.idle.connect(idle)
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
        window.shutdown()
    if not gaps:
        print("no timer ticks recorded", file=sys.stderr)
        return 1
    gaps.sort()
    p = lambda q: gaps[min(len(gaps) - 1, int(q * len(gaps)))]  # noqa: E731
    print(f"indexed {counts['indexed']} of {counts['total']} tracks in {wall:.1f} s"
          + (f" ({summary.indexed / summary.seconds:.1f} tracks/s)" if summary and summary.seconds else ""))
    print(f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms")
    print(f"GUI ticks: {len(gaps)} (every {TICK_MS} ms), median gap {statistics.median(gaps):.1f} ms, "
          f"p99 {p(0.99):.1f} ms, p99.9 {p(0.999):.1f} ms")
    print(f"playing: {played[0] or 'nothing'}; audio output: {audio}")
    print(f"longest GUI stall: {worst[0]:.1f} ms gap ({worst[0] - TICK_MS:.1f} ms over the {TICK_MS} ms period) "
          f"while: {worst[1] or 'starting'}  (target <= {TARGET_MS} ms)")
    late = sum(g > TARGET_MS for g in gaps)
    print(f"gaps over {TARGET_MS} ms: {late} ({100 * late / len(gaps):.2f} %)")
    if sampler is not None:
        print(f"the {args.sample} longest stalls and where the GUI thread was:")
        print(sampler.report(args.sample))
    return 0 if worst[0] <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
