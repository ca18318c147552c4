"""The window's track store: a real Edge shard served by a child process (desktop/core/store/in_child.py).

The shared store behaviour runs on it in test_store.py (the `edge-in-child` parameter); here what only a
store in another process can get wrong: errors crossing the pipe, a child that dies, closing."""

from __future__ import annotations

import os
import signal
import sys
import threading

import numpy as np
import pytest

from desktop.core.errors import LibraryInUse, StoreUnavailable
from desktop.core.store import open_store
from desktop.core.store.in_child import StoreInChild

NAME, DIM = "child-v1-8", 8


def points(n: int, seed: int = 0) -> list:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return [(i + 1, v[i] / np.linalg.norm(v[i]), {"title": f"Track {i + 1}", "artist": "A"}) for i in range(n)]


def test_the_child_answers_as_the_shard_in_this_process_does(tmp_path):
    items = points(50)
    with open_store(str(tmp_path / "a"), NAME, DIM) as here, open_store(str(tmp_path / "b"), NAME, DIM,
                                                                         in_child=True) as there:
        assert isinstance(there, StoreInChild) and there.name == NAME and there.dim == DIM
        for store in (here, there):
            store.upsert(iter(items))  # any iterable crosses, generators included
            store.delete(i for i in (49, 50))
        q = items[3][1]
        assert [(h.id, round(h.score, 5), h.payload) for h in there.search(q, 5, exclude_ids={4})] == \
               [(h.id, round(h.score, 5), h.payload) for h in here.search(q, 5, exclude_ids={4})]
        assert [h.id for h in there.recommend([items[0][1]], [items[1][1]], 5)] == \
               [h.id for h in here.recommend([items[0][1]], [items[1][1]], 5)]
        assert there.count() == here.count() == 48 and there.ids() == here.ids()
        got = there.get_vectors([1, 2])
        np.testing.assert_array_equal(got[1], here.get_vectors([1])[1])
        assert there.nearest_ids(q, 3) == here.nearest_ids(q, 3)
        assert there.describe()["points"] == 48
        queries = [(items[i][1], 4, {"exclude_ids": {i + 1}}) for i in range(6)] + [(q, 2, {"genre": "none"})]
        alone = [[(h.id, round(h.score, 5)) for h in here.search(v, k, **f)] for v, k, f in queries]
        for store in (here, there):  # one round trip for all of them in the child, the same answers
            assert [[(h.id, round(h.score, 5)) for h in found] for found in store.search_each(queries)] == alone
        assert alone[-1] == [] and all(len(found) == 4 for found in alone[:-1])


def test_errors_cross_with_their_type_and_message(tmp_path):
    root = str(tmp_path / "v")
    with open_store(root, NAME, DIM):  # this process holds the folder
        with pytest.raises(LibraryInUse, match="already open"):
            StoreInChild(root, NAME, DIM)
    with open_store(root, NAME, DIM, in_child=True) as store:
        with pytest.raises(ValueError, match="dimension"):
            store.search(np.ones(DIM + 1, np.float32), 3)  # refused in the child, raised here
        assert store.count() == 0  # and the child still answers
    with pytest.raises(StoreUnavailable, match="Dimension mismatch"):
        StoreInChild(root, NAME, DIM * 2)


def test_a_killed_child_is_started_again_with_every_write_kept(tmp_path):
    store = StoreInChild(str(tmp_path / "v"), NAME, DIM)
    try:
        store.upsert(points(20))
        first = store._process
        os.kill(first.pid, signal.SIGKILL)
        first.join(10)
        assert store.count() == 20  # a fresh child reopened the shard: the WAL kept the points
        assert store._process is not first and store._process.is_alive()
        assert [h.id for h in store.search(points(20)[6][1], 1)] == [7]
    finally:
        store.close()


def test_close_ends_the_child_and_later_calls_say_closed(tmp_path):
    store = StoreInChild(str(tmp_path / "v"), NAME, DIM)
    store.upsert(points(5))
    child = store._process
    store.close()
    store.close()  # idempotent
    assert not child.is_alive() and child.exitcode == 0
    with pytest.raises(StoreUnavailable, match="closed"):
        store.count()
    with open_store(str(tmp_path / "v"), NAME, DIM) as again:  # the folder is free, the points are there
        assert again.count() == 5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value per thread is Linux's")
def test_the_child_runs_one_step_below_the_app_whoever_starts_it(tmp_path):
    """The store works for the library thread, a step below the window's GUI thread: started by that thread (which
    is already a step below) it must not go a second step lower, nor stay level when started from the main thread."""
    from desktop.core.thread_priority import THREAD_NICE, lower_this_thread

    app = os.getpriority(os.PRIO_PROCESS, os.getpid())
    wanted = min(19, app + THREAD_NICE)

    def child_nice(store) -> int:
        return os.getpriority(os.PRIO_PROCESS, store._process.pid)

    with open_store(str(tmp_path / "main"), NAME, DIM, in_child=True) as store:
        assert child_nice(store) == wanted
    got = []

    def from_a_lowered_thread() -> None:
        lower_this_thread()
        with open_store(str(tmp_path / "thread"), NAME, DIM, in_child=True) as store:
            got.append(child_nice(store))

    thread = threading.Thread(target=from_a_lowered_thread)
    thread.start()
    thread.join()
    assert got == [wanted]
