"""Index runs in the job host's process (the window's way): real child processes, real SQLite shared between
them, the window's embedded Qdrant store reached from the child, the spectral embedder on real files."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import replace
from multiprocessing.connection import Client

import pytest

from desktop.core.calibration import META, Calibration
from desktop.core.config import load_settings
from desktop.core.errors import SoundalikeError
from desktop.core.events import IndexSummary, ScanSummary, TrackDone
from desktop.core.indexer import scan_and_index
from desktop.core.job_host import JobHost
from desktop.core.library import Library
from desktop.core.similarity import similar


@pytest.fixture
def window_library(home):
    """A spectral library opened as the window opens it: its stores in child processes."""
    replace(load_settings(home), embedder="spectral").save()
    lib = Library.open(home, store_in_child=True)
    host = JobHost()
    yield lib, host
    host.close()
    lib.close()


def assert_consistent(lib, n):
    key = lib.active_key
    indexed = {t.id for t in lib.catalog.tracks(status="indexed")}
    assert len(indexed) == n
    assert lib.catalog.indexed_ids(key) == indexed  # every indexed row has its raw vector ...
    assert lib.store().ids() == indexed  # ... and exactly one point


def test_a_hosted_run_indexes_while_the_window_searches(window_library, family_dir):
    lib, host = window_library
    events, answers = [], []
    for ev in host.run(lib, "scan_and_index", [str(family_dir)]):
        events.append(ev)
        if isinstance(ev, TrackDone) and ev.track_id and not answers and lib.active_key:
            answers.append(similar(lib, ev.track_id, 3))  # the window's query, while the child writes
            store = lib.store()
    assert host.pid not in (None, os.getpid())
    real = [ev for ev in events if ev is not None]
    assert isinstance(real[-1], IndexSummary) and real[-1].indexed == 12, real[-1]
    assert sum(isinstance(ev, ScanSummary) for ev in real) == 1
    assert sum(isinstance(ev, TrackDone) and ev.ok for ev in real) == 12
    assert answers, "the window could not search while the run went on"
    assert_consistent(lib, 12)
    assert lib.store() is store  # the window's store process was kept, not closed and started again
    first = lib.catalog.by_path(next(str(p) for p in sorted(family_dir.rglob("*")) if p.is_file())).id
    hits = similar(lib, first, 3)
    assert hits and all(h.track_id != first for h in hits)
    # The next run is served by the same child, and has nothing left to do.
    pid = host.pid
    summary = [ev for ev in host.run(lib, "index") if ev is not None][-1]
    assert host.pid == pid and summary.indexed == 0 and summary.unchanged == 12


def test_the_window_uses_the_statistics_the_child_refitted(window_library, family_dir):
    lib, host = window_library
    seen_n = []
    for ev in host.run(lib, "scan_and_index", [str(family_dir)]):
        if isinstance(ev, TrackDone) and not seen_n:
            seen_n.append(lib.space().standardizer().n)  # the window reads the statistics mid-run
    key = lib.active_key
    stored_n = lib.catalog.standardizer(key)[0]
    assert seen_n and stored_n == 12 and seen_n[0] != stored_n
    assert lib.space().standardizer().n == stored_n  # read again after the child's refit
    calibration = Calibration.from_json(lib.catalog.meta(META + key))  # fitted by the child, for the window
    assert calibration.fitted_n == stored_n


def test_cancel_reaches_the_child_and_the_next_run_resumes_without_duplicates(window_library, tmp_path):
    from tests.ui.test_indexing import _many_clips

    lib, host = window_library
    music = _many_clips(tmp_path / "music", 24)
    cancel, last = threading.Event(), None
    for ev in host.run(lib, "scan_and_index", [str(music)], cancel):
        if isinstance(ev, TrackDone):
            cancel.set()
        last = ev if ev is not None else last
    assert isinstance(last, IndexSummary) and last.cancelled and 0 < last.indexed < 24, last
    summary = [ev for ev in host.run(lib, "index") if ev is not None][-1]
    assert summary.indexed == 24 - last.indexed
    assert_consistent(lib, 24)


def test_a_child_that_dies_fails_its_run_and_the_next_run_starts_afresh(window_library, tmp_path):
    from tests.ui.test_indexing import _many_clips

    lib, host = window_library
    music = _many_clips(tmp_path / "music", 24)
    with pytest.raises(SoundalikeError, match="indexing process ended unexpectedly"):
        for ev in host.run(lib, "scan_and_index", [str(music)]):
            if isinstance(ev, TrackDone):
                os.kill(host.pid, signal.SIGKILL)  # a native crash, out of memory, kill -9
    assert host.pid is None
    summary = [ev for ev in host.run(lib, "index") if ev is not None][-1]
    assert summary.indexed >= 1
    assert_consistent(lib, 24)


def test_the_store_answers_only_a_process_with_its_key(window_library, family_dir):
    lib, host = window_library
    for _ in host.run(lib, "scan_and_index", [str(family_dir)]):
        pass
    point = lib.store().attach_point()
    with pytest.raises(Exception):  # noqa: B017 (multiprocessing's AuthenticationError)
        Client(point["address"], authkey=b"not the key").close()
    assert lib.store().count() == 12  # still serving the window


def test_a_hosted_run_that_completes_a_new_space_switches_the_window_to_it(home, family_dir, tiny_model_dir):
    """Indexed by a model, then the spectral embedder chosen: the host fills the spectral space beside the model's,
    which answers until the run completes; then the window searches the new one."""
    replace(load_settings(home), embedder="wav2vec2", model=str(tiny_model_dir), device="cpu").save()
    with Library.open(home) as lib:
        for _ in scan_and_index(lib, [str(family_dir)]):
            pass
        model_key = lib.active_key
    replace(load_settings(home), embedder="spectral").save()
    lib, host = Library.open(home, store_in_child=True), JobHost()
    try:
        first = lib.catalog.indexed_ids(model_key).pop()
        assert similar(lib, first, 3)  # the window searches the model's space ...
        answered, last = [], None
        for ev in host.run(lib, "index"):
            if isinstance(ev, TrackDone) and not answered:
                answered.append(lib.active_key)  # ... which answers while the new one fills
            last = ev if ev is not None else last
        assert answered == [model_key]
        assert last.switched and last.indexed == 12, last
        assert lib.active_key.startswith("spectral") and lib.active_key != model_key
        assert_consistent(lib, 12)
        assert [h.track_id for h in similar(lib, first, 3)]  # from the new space, through a store opened anew
    finally:
        host.close()
        lib.close()


WINDOW_KILLED_MID_RUN = """
import sys
from desktop.core.events import TrackDone
from desktop.core.job_host import JobHost
from desktop.core.library import Library

if __name__ == "__main__":
    lib, host = Library.open(sys.argv[1], store_in_child=True), JobHost()
    for ev in host.run(lib, "scan_and_index", [sys.argv[2]]):
        if isinstance(ev, TrackDone):
            print(host.pid, flush=True)
            break
    import time
    time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads processes' states from /proc")
def test_a_window_killed_mid_run_leaves_no_indexing_behind_and_the_next_run_resumes(home, tmp_path):
    import subprocess
    import sys
    import time

    from tests.ui.test_indexing import _many_clips

    replace(load_settings(home), embedder="spectral").save()
    music = _many_clips(tmp_path / "music", 24)
    script = tmp_path / "window.py"
    script.write_text(WINDOW_KILLED_MID_RUN)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    window = subprocess.Popen([sys.executable, str(script), str(home), str(music)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": root})
    host_pid = int(window.stdout.readline())
    window.kill()  # kill -9 of the window, mid-run
    window.wait()
    deadline = time.monotonic() + 30
    while _alive(host_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(host_pid), "the indexing process outlived its window"
    with Library.open(home) as lib:  # the next start: the lock is free, the run resumes without duplicates
        summary = list(scan_and_index(lib, [str(music)]))[-1]
        assert summary.indexed + summary.unchanged == 24, summary
        assert_consistent(lib, 24)
