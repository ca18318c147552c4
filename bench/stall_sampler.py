"""Why the window's GUI thread is late (bench/ui_stall.py --sample, --events): a stack sampler, a per-thread CPU log
and a timer of the Qt events the GUI thread delivers."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

SAMPLE_EVERY_S = 0.002
THREADS_CPU_EVERY_S = 0.008  # every thread's CPU time read this often (~20 files)


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
    """{native thread id: (its name, ms on a CPU so far)} of this process's threads and of its child processes
    (summed per process, named by their priority: the store processes and the analysis workers differ there), so a
    stall spent waiting for a core names what held the cores (Linux; empty elsewhere)."""
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
    for pid in _descendants():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks = (int(fields[11]) + int(fields[12])) * 1000 / _CLOCK_TICKS  # utime + stime, ms
            policy = int(fields[38])
            out[-pid] = (f"child {pid} " + ("idle" if policy == 5 else f"nice {fields[16]}"), ticks)
        except (OSError, ValueError, IndexError):
            pass
    return out


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc's CPU times count these
_children: tuple[float, list[int]] = (0.0, [])


def _descendants() -> list[int]:
    """This process's descendants, found again once a second (they come and go with runs)."""
    global _children
    now = time.monotonic()
    if now - _children[0] < 1.0:
        return _children[1]
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    parents[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    mine, found = {os.getpid()}, True
    while found:
        found = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                found = True
    _children = (now, sorted(mine - {os.getpid()}))
    return _children[1]


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
