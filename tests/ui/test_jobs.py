"""The thread adapter on its own: generators' events arrive as signals, stale requests are dropped,
errors and cancellation are reported, and the thread stops."""

import os
import sys
import threading

import pytest

from desktop.core.errors import SoundalikeError
from desktop.ui.jobs import RateMeter, WorkerThread, format_eta


def test_generator_events_arrive_in_order_and_finish(qtbot):
    t = WorkerThread("test-worker")
    try:
        seen = []
        t.job_event.connect(lambda job, ev: seen.append(ev))
        with qtbot.waitSignal(t.job_finished, timeout=3000):
            t.start_job("count", lambda cancel: iter(range(5)))
        assert seen == [0, 1, 2, 3, 4]
    finally:
        assert t.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value per thread is Linux's")
def test_the_worker_thread_runs_below_the_gui_thread(qtbot):
    """The library, waveform, catalog and cover threads give the GUI thread the core first."""
    from desktop.core.thread_priority import THREAD_NICE

    t = WorkerThread("test-worker")
    try:
        got = []
        t.request_done.connect(lambda kind, token, result: got.append(result))
        with qtbot.waitSignal(t.request_done, timeout=3000):
            t.request("nice", lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        assert got == [min(19, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + THREAD_NICE)]
    finally:
        assert t.stop()


def test_a_failing_job_reports_the_core_message(qtbot):
    t = WorkerThread("test-worker")

    def boom(cancel):
        yield 1
        raise SoundalikeError("the library has no indexed tracks yet")

    try:
        with qtbot.waitSignal(t.job_failed, timeout=3000) as sig:
            t.start_job("boom", boom)
        assert sig.args[1] == "the library has no indexed tracks yet"
    finally:
        t.stop()


def test_newer_request_replaces_one_not_started_and_runs_between_job_events(qtbot):
    t = WorkerThread("test-worker")
    gate, in_job = threading.Event(), threading.Event()
    ran = []

    def job(cancel):
        in_job.set()
        gate.wait(5)  # the job holds the thread, as a slow track would
        yield "track done"
        yield "summary"

    try:
        done = []
        t.request_done.connect(lambda kind, token, result: done.append((token, result)))
        t.start_job("slow", job)
        assert in_job.wait(3)
        tokens = [t.request("similar", lambda i=i: ran.append(i) or i) for i in range(3)]
        gate.set()
        qtbot.waitUntil(lambda: bool(done), timeout=3000)
        assert ran == [2] and done == [(tokens[2], 2)]  # requests 0 and 1 never ran
        assert t.is_latest("similar", tokens[2]) and not t.is_latest("similar", tokens[0])
    finally:
        t.stop()


def test_cancel_sets_the_event_the_core_checks(qtbot):
    t = WorkerThread("test-worker")
    started = threading.Event()

    def endless(cancel):
        started.set()
        while not cancel.is_set():
            cancel.wait(0.01)
            yield "tick"
        yield "summary"

    try:
        with qtbot.waitSignal(t.job_finished, timeout=3000) as sig:
            job = t.start_job("endless", endless)
            assert started.wait(3)
            t.cancel_all()
        assert sig.args[0] is job and job.cancelled
    finally:
        assert t.stop()
        assert not t.running


def test_rate_meter_and_eta():
    now = [0.0]
    m = RateMeter(clock=lambda: now[0])
    for i in range(11):
        m.update(i * 5)
        now[0] += 1.0
    assert abs(m.rate - 5.0) < 1e-9
    assert m.eta(50, 100) == 10.0
    assert format_eta(10) == "10 s left" and format_eta(125) == "2 min 05 s left"
