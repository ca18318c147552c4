"""Our threads hand results to the GUI thread without touching Qt (desktop/ui/main_thread.py says why: a
signal emitted from a worker thread crashed the app, rarely, inside PySide)."""

from __future__ import annotations

import sys
import threading
import time

from desktop.ui.jobs import WorkerThread
from desktop.ui.main_thread import MainThreadCalls


def qt_call_watcher(made: list[str]):
    """A profile function (`sys.setprofile`) that lists, in `made`, every call into PySide (a C function or
    method of a PySide6 type or module) on the thread it is set on: what our threads must not do."""

    def watch(frame, event, arg):
        if event == "c_call":
            owner = getattr(arg, "__self__", None)
            where = getattr(arg, "__module__", None) or type(owner).__module__ or ""
            if str(where).startswith(("PySide6", "shiboken6")):
                made.append(f"{type(owner).__name__}.{arg.__name__}")

    return watch


def qt_calls_made_by(fn) -> list[str]:
    """Run `fn()` on a new thread; the calls it made into PySide."""
    made: list[str] = []

    def watched():
        sys.setprofile(qt_call_watcher(made))
        try:
            fn()
        finally:
            sys.setprofile(None)

    t = threading.Thread(target=watched)
    t.start()
    t.join(10)
    return made


def test_a_call_from_a_thread_runs_on_the_gui_thread_in_order(qtbot):
    calls = MainThreadCalls()
    ran = []
    gui = threading.get_ident()

    def post():
        for i in range(5):
            calls.call(lambda i=i: ran.append((i, threading.get_ident())))

    assert qt_calls_made_by(post) == []
    qtbot.waitUntil(lambda: len(ran) == 5, timeout=3000)
    assert ran == [(i, gui) for i in range(5)]
    calls.close()


def test_a_call_on_the_gui_thread_runs_at_once(qtbot):
    calls = MainThreadCalls()
    ran = []
    calls.call(ran.append, 1)
    assert ran == [1]
    calls.close()


def test_a_flood_of_calls_never_blocks_the_thread_and_all_arrive(qtbot):
    """One wake-up byte at a time: the socket cannot fill, so a thread posting faster than the window runs
    never waits for it (a window waiting for that thread to stop would otherwise wait for good)."""
    calls = MainThreadCalls()
    got = []
    t0 = time.monotonic()
    poster = threading.Thread(target=lambda: [calls.call(got.append, i) for i in range(20000)])
    poster.start()
    poster.join(10)
    assert not poster.is_alive() and time.monotonic() - t0 < 10
    qtbot.waitUntil(lambda: len(got) == 20000, timeout=20000)
    assert got == list(range(20000))
    calls.close()


def test_after_close_calls_are_dropped_quietly(qtbot):
    calls = MainThreadCalls()
    ran = []
    calls.close()
    t = threading.Thread(target=calls.call, args=(ran.append, 1))
    t.start()
    t.join(5)
    qtbot.wait(50)
    assert ran == [] and calls.pending == 0


def test_a_failing_call_is_logged_and_the_next_still_runs(qtbot, caplog):
    calls = MainThreadCalls()
    ran = []

    def boom():
        raise ValueError("bad result")

    t = threading.Thread(target=lambda: (calls.call(boom), calls.call(ran.append, "next")))
    t.start()
    t.join(5)
    qtbot.waitUntil(lambda: ran == ["next"], timeout=3000)
    assert "bad result" in caplog.text
    calls.close()


def test_the_worker_threads_make_no_qt_call(qtbot):
    """A job's events, a request's answer and a failure all reach the window's signals, while the worker
    thread itself calls nothing of PySide (it used to emit Qt signals, and Qt then read PySide's type table
    without the GIL while the GUI thread could be growing it). The first request starts watching the
    worker thread from inside it, the last one stops."""
    made: list[str] = []
    t = WorkerThread("test-worker")
    try:
        events, answers, failures = [], [], []
        t.job_event.connect(lambda job, ev: events.append(ev))
        t.request_done.connect(lambda kind, token, result: answers.append(result))
        t.request_failed.connect(lambda kind, token, exc: failures.append(str(exc)))
        watching = threading.Event()
        t.request("watch", lambda: (sys.setprofile(qt_call_watcher(made)), watching.set()))
        assert watching.wait(3)
        with qtbot.waitSignal(t.job_finished, timeout=3000):
            t.start_job("count", lambda cancel: iter(range(3)))
        t.request("answer", lambda: 42)
        qtbot.waitUntil(lambda: 42 in answers, timeout=3000)
        t.request("fail", lambda: 1 / 0)
        qtbot.waitUntil(lambda: len(failures) == 1, timeout=3000)
        t.request("unwatch", lambda: sys.setprofile(None))
        qtbot.waitUntil(lambda: len(answers) == 3, timeout=3000)
        assert events == [0, 1, 2]
    finally:
        assert t.stop()
    assert made == []
