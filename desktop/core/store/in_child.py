"""The embedded track store and passage index served by child processes, for the window.

Why: Qdrant Edge holds Python's GIL for the whole of each call (its binding never releases it). In the
window's process every search, recommend, upsert and the shard's opening therefore froze the GUI thread for
as long as the call ran: a scan of 100k tracks is 5-20 ms, opening a big shard tens of milliseconds (a big
passage index seconds), and the stall sampler (bench/ui_stall.py --sample) found Edge among the threads the
GUI thread waited for. In a child the same calls hold the child's GIL; the window's threads wait on a pipe,
which releases it.

The cost is one round trip per call (pickled arguments and answers: ids, payloads, a few vectors) and a
spawned interpreter at the first open (numpy and qdrant_edge imports, about half a second, on the library
thread). The CLI keeps Edge in its own process: it has no window to keep responsive.

A child that dies (killed, out of memory) is started again by the next call: Edge's WAL has every
acknowledged write, so nothing is lost; a call that was in flight fails with `StoreUnavailable`.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from collections.abc import Iterable

import numpy as np

from desktop.core.errors import StoreUnavailable
from desktop.core.store.base import VectorStore
from desktop.core.thread_priority import THREAD_NICE

START_TIMEOUT_S = 120.0  # spawning and opening a big shard on a loaded machine; a hung child is killed after it


def _open(kind: str, root_dir: str, name: str, dim: int):
    """In the child: the store itself (`name` is the track collection, or the passage index's space key)."""
    if kind == "passages":
        from desktop.core.passage_store import PassageStore

        return PassageStore(root_dir, name, dim)
    from desktop.core.store.base import check_name
    from desktop.core.store.edge import EdgeStore

    return EdgeStore(os.path.join(root_dir, check_name(name)), name, dim)


def _below_the_app() -> None:
    """In the child: `THREAD_NICE` below the app's main thread (the window's GUI thread), as the library thread it
    works for. Set from the parent's level, not added to its own: a child spawned by the library thread starts
    at that thread's nice value already, and adding to it ran the store at 10 in the window, 5 elsewhere."""
    try:
        wanted = min(19, os.getpriority(os.PRIO_PROCESS, os.getppid()) + THREAD_NICE)  # the parent's main thread
        if wanted > os.getpriority(os.PRIO_PROCESS, 0):  # only ever lower: never above what it started at
            os.setpriority(os.PRIO_PROCESS, 0, wanted)
    except OSError:
        pass


def _serve(conn, kind: str, root_dir: str, name: str, dim: int) -> None:
    """The child: open the store, then answer (method, args, kwargs) requests until `close` or EOF."""
    _below_the_app()
    try:
        store = _open(kind, root_dir, name, dim)
    except BaseException as e:  # noqa: BLE001 (everything goes back to the parent, which raises it)
        _reply(conn, "error", e)
        return
    _reply(conn, "ok", {"name": store.name, "dim": store.dim, "path": store.path})
    try:
        while True:
            try:
                method, args, kwargs = conn.recv()
            except (EOFError, OSError):  # the parent is gone
                break
            try:
                _reply(conn, "ok", getattr(store, method)(*args, **kwargs))
            except Exception as e:  # noqa: BLE001
                _reply(conn, "error", e)
            if method == "close":
                break
    finally:
        store.close()


def _reply(conn, status: str, value) -> None:
    try:
        data = pickle.dumps((status, value))
    except Exception:  # an exception that cannot cross: its message still does
        data = pickle.dumps(("error", StoreUnavailable(str(value))))
    try:
        conn.send_bytes(data)
    except OSError:  # the parent is gone
        pass


def _sendable(value):
    """An argument as it can cross the pipe: one-shot iterables (generators, dict views) become lists; a
    string stays a string (`artist_not_in="X"` is one artist)."""
    if value is None or isinstance(value, (str, bytes, int, float, list, tuple, set, frozenset, dict, np.ndarray)):
        return value
    return list(value) if isinstance(value, Iterable) else value


class _InChild:
    """A store in a child process: each call is a request on a pipe (the module docstring says why).
    Thread-safe: one request at a time, as Edge serialises its calls anyway."""

    kind = ""

    def __init__(self, root_dir: str, name: str, dim: int):
        self._where = (self.kind, str(root_dir), name, int(dim))
        self._lock = threading.Lock()
        self._closed = False
        self._process = self._conn = None
        with self._lock:
            info = self._start()
        self.name, self.dim, self.path = info["name"], info["dim"], info["path"]

    # -- the child ----------------------------------------------------------------------------------

    def _start(self) -> dict:
        ctx = multiprocessing.get_context("spawn")
        mine, theirs = ctx.Pipe()
        process = ctx.Process(target=_serve, args=(theirs, *self._where), daemon=True,
                              name=f"soundalike-{self.kind}-{self._where[2]}")
        process.start()
        theirs.close()
        if not mine.poll(START_TIMEOUT_S):
            process.kill()
            process.join()
            raise StoreUnavailable(f"the {self.kind} store {self._where[2]!r} in {self._where[1]} did not open "
                                   f"within {START_TIMEOUT_S:g} s")
        self._process, self._conn = process, mine
        try:
            return self._receive()
        except BaseException:  # it could not open the shard (in use, damaged, ...): the child has ended
            self._stop()
            raise

    def _receive(self):
        try:
            status, value = pickle.loads(self._conn.recv_bytes())
        except (EOFError, OSError) as e:
            code = self._stop()
            raise StoreUnavailable(f"the vector store process for {self._where[2]!r} ended unexpectedly"
                                   f" (exit code {code})") from e
        if status == "error":
            raise value
        return value

    def _stop(self):
        """Forget the child (ended or to be ended); its exit code."""
        process, conn, self._process, self._conn = self._process, self._conn, None, None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()
        return process.exitcode

    def _ask(self, method: str, *args, **kwargs):
        with self._lock:
            if self._closed:
                raise StoreUnavailable(f"vector collection {self._where[2]!r} is closed")
            if self._process is None or not self._process.is_alive():
                self._stop()
                self._start()  # a child that died: a fresh one reopens the shard (the WAL kept every write)
            try:
                self._conn.send((method, [_sendable(a) for a in args],
                                 {k: _sendable(v) for k, v in kwargs.items()}))
            except OSError as e:
                code = self._stop()
                raise StoreUnavailable(f"the vector store process for {self._where[2]!r} ended unexpectedly"
                                       f" (exit code {code})") from e
            return self._receive()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._process is None or not self._process.is_alive():
                self._stop()
                return
            try:
                self._conn.send(("close", (), {}))
                self._receive()
            except StoreUnavailable:
                pass  # it ended on its own: nothing left to close
            finally:
                self._stop()


class StoreInChild(_InChild, VectorStore):
    """The window's track store: a `VectorStore` whose Edge shard lives in a child process."""

    kind = "tracks"

    # each call runs in the child, as EdgeStore's method of the same name
    def upsert(self, items):
        self._ask("upsert", items)

    def delete(self, ids):
        self._ask("delete", ids)

    def search(self, vector, k, **filters):
        return self._ask("search", vector, k, **filters)

    def search_each(self, queries):
        return self._ask("search_each", [(v, k, {n: _sendable(f) for n, f in filters.items()})
                                         for v, k, filters in queries])

    def recommend(self, positives, negatives=(), k=10, **options):
        return self._ask("recommend", positives, negatives, k, **options)

    def nearest_ids(self, vector, n):
        return self._ask("nearest_ids", vector, n)

    def get_vectors(self, ids):
        return self._ask("get_vectors", ids)

    def ids(self):
        return self._ask("ids")

    def count(self):
        return self._ask("count")

    def describe(self):
        return self._ask("describe")

    def flush(self):
        self._ask("flush")


class PassagesInChild(_InChild):
    """The window's passage index: a `PassageStore` in a child process (its graph swap runs there too)."""

    kind = "passages"

    # each call runs in the child, as PassageStore's method of the same name
    def replace_track(self, track_id, starts, ends, units, *, had_windows=True):
        self._ask("replace_track", track_id, starts, ends, units, had_windows=had_windows)

    def write_tracks(self, items, *, had_windows=True):
        self._ask("write_tracks", items, had_windows=had_windows)

    def remove_tracks(self, track_ids):
        self._ask("remove_tracks", track_ids)

    def count(self):
        return self._ask("count")

    def get_vectors(self, point_ids):
        return self._ask("get_vectors", point_ids)

    def track_ids(self):
        return self._ask("track_ids")

    def search_many(self, queries, limit):
        return self._ask("search_many", queries, limit)

    def flush(self):
        self._ask("flush")

    def write_stamp(self):
        return self._ask("write_stamp")

    def plain_windows(self):
        return self._ask("plain_windows")

    def swap_in(self, graph, stamp):
        return self._ask("swap_in", graph, stamp)
