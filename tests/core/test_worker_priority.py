"""A feature embedder's worker processes run below the app, so the window's GUI thread gets a core at once."""

import os
import sys

import pytest

from desktop.core.embedders import create
from desktop.core.low_priority import NICE, LowPriorityProcess
from desktop.core.workers import analyze_isolated


def _priority(path: str) -> int:
    """Runs in the child: its nice value."""
    return os.nice(0)


def test_embedder_workers_are_niced_and_decode_only_children_are_not():
    base = os.nice(0)
    assert analyze_isolated(create("spectral"), "unused.flac", _priority) == min(19, base + NICE)
    assert analyze_isolated(None, "unused.flac", _priority) == base  # the model in the app waits for it


def _blas_threads(path: str) -> int | None:
    """Runs in the child: OpenBLAS's thread count there."""
    from desktop.core.blas_threads import blas_threads

    return blas_threads()


def test_workers_run_one_openblas_thread_each():
    """One worker per core already: OpenBLAS's own threads (spinning while they wait) would only oversubscribe."""
    assert analyze_isolated(create("spectral"), "unused.flac", _blas_threads) == 1
    assert analyze_isolated(None, "unused.flac", _blas_threads) in (1, None)  # None: numpy not loaded there


def test_one_blas_thread_holds_when_called_before_numpy_is_imported():
    """A limit set before numpy was loaded found no OpenBLAS and did nothing: its second thread then spun a
    core away while the process waited (a script measuring the passage pass showed 7.9 s of CPU on it)."""
    import subprocess

    code = ("import sys; from desktop.core.blas_threads import one_blas_thread, blas_threads; "
            "assert 'numpy' not in sys.modules; one_blas_thread(); import numpy; print(blas_threads())")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="", OMP_NUM_THREADS="")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def _idle_class_allowed() -> bool:
    """Whether this system lets a process put a child of its own in the idle scheduling class."""
    import subprocess

    if not hasattr(os, "SCHED_IDLE"):
        return False
    probe = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        os.sched_setscheduler(probe.pid, os.SCHED_IDLE, os.sched_param(0))
        return True
    except OSError:
        return False
    finally:
        probe.kill()
        probe.wait()


def _report_priority(queue) -> None:
    queue.put((os.nice(0), os.sched_getscheduler(0) if hasattr(os, "sched_getscheduler") else None))


def test_a_low_priority_child_is_lowered_by_its_parent_as_it_starts():
    """The parent lowers it (not the child after its imports): its start-up second never competes with the
    window at full priority. Used by the passage graph's builder and the embedder pools."""
    import multiprocessing

    from desktop.core.low_priority import LOW_PRIORITY

    queue = LOW_PRIORITY.SimpleQueue()
    child = LowPriorityProcess(target=_report_priority, args=(queue,))
    child.start()
    started_at = os.getpriority(os.PRIO_PROCESS, child.pid)  # already lowered when start() returns
    child.join(60)
    nice, scheduler = queue.get()
    assert started_at == nice == min(19, os.nice(0) + NICE) and child.exitcode == 0
    if _idle_class_allowed():  # Linux, unless a sandbox forbids it: it runs only when nothing else wants the CPU
        assert scheduler == os.SCHED_IDLE
    assert multiprocessing.get_context("spawn").Process is not LowPriorityProcess  # others stay level


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value per thread is Linux's")
def test_a_background_thread_runs_below_the_app_and_the_app_stays_level():
    import threading

    from desktop.core.thread_priority import THREAD_NICE, lower_this_thread

    seen = []

    def background():
        lower_this_thread()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=background)
    thread.start()
    thread.join(60)
    assert seen == [min(19, base + THREAD_NICE)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # the calling thread is untouched
