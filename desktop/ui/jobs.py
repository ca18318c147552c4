"""The one adapter between the core and Qt threads: a worker thread that runs core generators.

A `WorkerThread` owns one thread running one `_Worker` loop. It runs two kinds of work:

* **jobs**: any core generator (scan, index, ...) built by `factory(cancel_event)`. Jobs run one
  after another; each event the generator yields is emitted as `job_event(job, event)`. Cancelling
  sets the job's `threading.Event`, which the core checks between tracks, and the generator is run
  to its end so it can write its summary and leave the library consistent.
* **requests**: short calls (a similar-tracks query, waveform peaks) keyed by a *kind*. Only the
  newest request of a kind is kept: a request that has not started yet is replaced, never queued, so
  stale work is dropped. Requests are served between a job's events, that is while the generator
  is suspended at a `yield` and touches nothing: the library's vector store is therefore only ever
  used from this one thread, one call at a time, and a query does not wait for a whole index run.

The thread is a plain Python thread that touches no Qt: its results reach the GUI thread through
`MainThreadCalls` (main_thread.py says why a signal emitted from it crashed), and the handle emits its
signals there. Nothing here knows what the work is.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.core.errors import SoundalikeError
from desktop.core.thread_priority import lower_this_thread, name_this_thread
from desktop.ui.main_thread import MainThreadCalls

log = logging.getLogger(__name__)

_ids = itertools.count(1)
# Live WorkerThreads (tests check that none outlives its window).
LIVE: weakref.WeakSet[WorkerThread] = weakref.WeakSet()


@dataclass(eq=False)
class Job:
    """A handle on one generator job: cancel it, ask whether it was cancelled."""

    name: str
    factory: Callable[[threading.Event], Iterator]
    id: int = field(default_factory=lambda: next(_ids))
    cancel_event: threading.Event = field(default_factory=threading.Event)
    data: Any = None  # what the caller wants to remember about the job (e.g. the roots it adds)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


def error_text(exc: BaseException) -> str:
    """What the user reads: the core's own message, else the exception type and text."""
    if isinstance(exc, SoundalikeError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _Worker:
    """The worker thread's side; `run` is its whole life (a loop waiting for work). `tell(signal name, *args)`
    hands each result to the GUI thread, where the handle emits that signal."""

    def __init__(self, name: str, tell: Callable[..., None]):
        self.name = name
        self.tell = tell
        self._cond = threading.Condition()
        self._jobs: collections.deque[Job] = collections.deque()
        self._requests: dict[str, tuple[int, Callable[[], Any]]] = {}
        self._stop = False
        self.current: Job | None = None

    # -- called from the GUI thread (under the condition's lock) ---------------------------------
    def add_job(self, job: Job) -> None:
        with self._cond:
            self._jobs.append(job)
            self._cond.notify()

    def add_request(self, kind: str, token: int, fn: Callable[[], Any]) -> None:
        with self._cond:
            self._requests[kind] = (token, fn)  # replaces a request of this kind not started yet
            self._cond.notify()

    def drop_request(self, kind: str) -> None:
        with self._cond:
            self._requests.pop(kind, None)

    def cancel_all(self) -> list[Job]:
        """Empty the queue first, then cancel the running job; returns the jobs dropped unstarted."""
        with self._cond:
            dropped = list(self._jobs)
            self._jobs.clear()
            if self.current is not None:
                self.current.cancel()
        return dropped

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            if self.current is not None:
                self.current.cancel()
            self._cond.notify()

    def pending_jobs(self) -> int:
        with self._cond:
            return len(self._jobs) + (self.current is not None)

    # -- the worker thread ----------------------------------------------------------------------
    def run(self) -> None:
        name_this_thread(self.name)  # as `top -H` and the stall sampler show it
        lower_this_thread()  # below the GUI thread (thread_priority.py says why)
        while True:
            with self._cond:
                while not (self._stop or self._jobs or self._requests):
                    self._cond.wait()
                if self._stop:
                    return
                job = self._jobs.popleft() if self._jobs and not self._requests else None
                if job is not None:
                    self.current = job
            if job is None:
                self._serve_requests()
            else:
                try:
                    self._run_job(job)
                finally:
                    with self._cond:
                        self.current = None

    def _serve_requests(self) -> None:
        while True:
            with self._cond:
                if not self._requests or self._stop:
                    return
                kind = next(iter(self._requests))
                token, fn = self._requests.pop(kind)
            try:
                result = fn()
            except Exception as e:  # reported to the GUI, which decides how to show it
                if not isinstance(e, SoundalikeError):
                    log.exception("%s request failed", kind)
                self.tell("request_failed", kind, token, e)
            else:
                self.tell("request_done", kind, token, result)

    def _run_job(self, job: Job) -> None:
        self.tell("job_started", job)
        gen = None
        try:
            gen = job.factory(job.cancel_event)
            for event in gen:
                self.tell("job_event", job, event)
                if not job.cancelled:
                    self._serve_requests()
        except Exception as e:
            if not isinstance(e, SoundalikeError):
                log.exception("job %s failed", job.name)
            self.tell("job_failed", job, error_text(e))
        finally:
            if gen is not None and hasattr(gen, "close"):
                try:
                    gen.close()
                except Exception:
                    log.exception("closing job %s", job.name)
            self.tell("job_finished", job)


class WorkerThread(QObject):
    """GUI-side handle of one worker thread. Signals arrive in the GUI thread."""

    job_started = Signal(object)  # Job
    job_event = Signal(object, object)  # Job, core event
    job_failed = Signal(object, str)  # Job, message
    job_finished = Signal(object)  # Job (check job.cancelled)
    request_done = Signal(str, int, object)  # kind, token, result
    request_failed = Signal(str, int, object)  # kind, token, exception

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self._tokens = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._calls = MainThreadCalls(self)
        signals = {sig: getattr(self, sig).emit for sig in
                   ("job_started", "job_event", "job_failed", "job_finished", "request_done", "request_failed")}
        calls = self._calls.call
        self._worker = _Worker(name, lambda sig, *args: calls(signals[sig], *args))
        self._thread = threading.Thread(target=self._worker.run, name=name, daemon=True)
        self._stopped = False
        self._thread.start()
        LIVE.add(self)

    def start_job(self, name: str, factory: Callable[[threading.Event], Iterator], data: Any = None) -> Job:
        job = Job(name, factory, data=data)
        self._worker.add_job(job)
        return job

    def request(self, kind: str, fn: Callable[[], Any]) -> int:
        """Run `fn` soon; a newer request of the same kind replaces this one if it has not started."""
        token = next(self._tokens)
        self._latest[kind] = token
        self._worker.add_request(kind, token, fn)
        return token

    def is_latest(self, kind: str, token: int) -> bool:
        return self._latest.get(kind) == token

    def forget(self, kind: str) -> None:
        """Drop a pending request and make any running one's result stale."""
        self._latest.pop(kind, None)
        self._worker.drop_request(kind)

    @property
    def current_job(self) -> Job | None:
        return self._worker.current

    @property
    def busy(self) -> bool:
        return self._worker.pending_jobs() > 0

    @property
    def waiting_jobs(self) -> int:
        """Jobs queued behind the one running (a low-priority job gives way to them)."""
        return max(0, self._worker.pending_jobs() - (self._worker.current is not None))

    def cancel_all(self) -> list[Job]:
        return self._worker.cancel_all()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Cancel everything and wait for the thread to end; True when it did."""
        if self._stopped:
            return True
        self._worker.stop()
        self._thread.join(timeout_s)
        ok = not self._thread.is_alive()
        if not ok:
            log.warning("worker thread %s did not stop within %.0f s", self.name, timeout_s)
        self._stopped = ok
        if ok:
            self._calls.close()  # what it posted and the window has not seen yet is moot now
            LIVE.discard(self)
        return ok

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


class RateMeter:
    """Items per second over a sliding window, and the time left at that rate."""

    def __init__(self, window_s: float = 15.0, clock: Callable[[], float] = time.monotonic):
        self.window_s, self.clock = window_s, clock
        self.samples: collections.deque[tuple[float, int]] = collections.deque()

    def reset(self) -> None:
        self.samples.clear()

    def update(self, done: int) -> None:
        now = self.clock()
        if self.samples and done < self.samples[-1][1]:
            self.samples.clear()  # a new stage started counting from zero
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window_s:
            self.samples.popleft()

    @property
    def rate(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0

    def eta(self, done: int, total: int) -> float | None:
        r = self.rate
        return (total - done) / r if r > 0 and total >= done else None


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s left"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s left"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min left"
