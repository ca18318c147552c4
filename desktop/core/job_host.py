"""The window's index runs in a process of their own, which reaches the window's vector stores.

Why: scanning, filing each analysed track (catalog rows, store points) and refitting the statistics is
Python, and in the window's process it held the GIL the GUI thread needs for every repaint: with two
cores, the window's longest stalls while indexing were the GUI thread waiting for the library thread's
Python (bench/ui_stall.py --sample). In a child it holds the child's GIL; the window's library thread only
passes events on, so the GUI thread competes for a core, no longer for the interpreter.

How: one `JobHost` child per window, started at the first index run and kept for the next ones (a spawned
interpreter and the indexer's imports cost most of a second). Each run opens a `HostedLibrary` on the same
home: its own catalog connection (SQLite in WAL: the window reads while it writes) and, instead of opening
the embedded stores (one process per shard), the window's own store processes, attached through their
sockets (store/in_child.py). The window's side (`JobHost.run`) is a generator the library thread runs like
any job: it yields the child's events, opens a store when the child asks for one, and passes a cancel on.
The window keeps answering similar queries meanwhile; after a refit it reads the new statistics again.

Only feature embedders (spectral, MFCC) run here: a model embedder would load the model a second time
beside the one the window keeps for dropped files, and torch releases the GIL in its long calls anyway.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Iterator

from desktop.core.errors import SoundalikeError
from desktop.core.events import Progress
from desktop.core.library import Library, key_dim
from desktop.core.thread_priority import THREAD_NICE

HOST_NICE = 2 * THREAD_NICE  # steps below the library thread that starts it (itself THREAD_NICE below the GUI)
log = logging.getLogger(__name__)

POLL_S = 0.015  # how often the window's library thread looks up from the pipe to answer queries
START_TIMEOUT_S = 120.0  # spawning the child and its imports on a loaded machine
ATTACH_TIMEOUT_S = 180.0  # the window opening a store for the child (a big shard, a refit to finish)


def finished_refit(event) -> bool:
    """The event that ends a refit's rewrite: the space's statistics in the catalog are new from here on."""
    return isinstance(event, Progress) and event.stage == "standardise" and event.done >= event.total


class JobHost:
    """The window's side of the child that runs index jobs. Used from one thread (the library thread)."""

    def __init__(self):
        self._process = self._conn = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the child unless it runs (raises SoundalikeError when it cannot start)."""
        if self._process is None or not self._process.is_alive():
            self._stop()
            self._start()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        mine, theirs = ctx.Pipe()
        process = ctx.Process(target=_host, args=(theirs,), daemon=True, name="soundalike-jobs")
        process.start()
        theirs.close()
        _lower(process.pid)
        try:
            ready = mine.poll(START_TIMEOUT_S) and mine.recv() == ("ready",)
        except (EOFError, OSError):
            ready = False
        if not ready:
            process.kill()
            process.join()
            mine.close()
            raise SoundalikeError(f"the indexing process did not start (exit code {process.exitcode}, "
                                  f"waited at most {START_TIMEOUT_S:g} s)")
        self._process, self._conn = process, mine

    def run(self, library: Library, job: str, roots=(), cancel: threading.Event | None = None) -> Iterator:
        """Run `job` ("scan_and_index" with `roots`, or "index") on `library`'s home in the child; yields its
        events, and None while waiting (the library thread answers queries then, jobs.py)."""
        cancel = cancel or threading.Event()
        self.start()
        conn, key_before, ended = self._conn, library.active_key, False
        cancel_sent = False
        try:
            self._send(("job", job, [str(r) for r in roots], library.settings))
            while True:
                if cancel.is_set() and not cancel_sent:
                    self._send(("cancel",))
                    cancel_sent = True
                if not conn.poll(POLL_S):
                    yield None
                    continue
                message = self._receive()
                if message[0] == "event":
                    if finished_refit(message[1]):
                        library.forget_statistics()
                    yield message[1]
                elif message[0] == "attach":
                    self._send(_attach_point(library, *message[1:]))
                elif message[0] == "error":
                    ended = True
                    raise message[1]
                elif message[0] == "end":
                    ended = True
                    return
        finally:
            if not ended:  # closed mid-run (or the child died): the next run starts a fresh child
                self._stop()
            library.forget_statistics()
            if key_before is not None and library.active_key != key_before:  # it switched the searched space
                library.close_store()

    def _receive(self):
        try:
            return self._conn.recv()
        except (EOFError, OSError) as e:
            raise self._ended() from e

    def _send(self, message) -> None:
        try:
            self._conn.send(message)
        except OSError as e:
            raise self._ended() from e

    def _ended(self) -> SoundalikeError:
        code = self._stop()
        return SoundalikeError(f"the indexing process ended unexpectedly (exit code {code}); what it finished is "
                               "kept, and the next run goes on from there")

    def _stop(self, timeout_s: float = 5.0):
        """Forget the child (ended or to be ended); its exit code."""
        process, conn, self._process, self._conn = self._process, self._conn, None, None
        if conn is not None:
            conn.close()  # the child's reader sees the end: it cancels its run and leaves
        if process is None:
            return None
        process.join(timeout_s)
        if process.is_alive():
            process.kill()
            process.join()
        return process.exitcode

    def close(self, timeout_s: float = 10.0) -> None:
        """Let the child finish (a run is cancelled) and end."""
        if self._conn is not None:
            try:
                self._conn.send(("quit",))
            except OSError:
                pass
        self._stop(timeout_s)


def _attach_point(library: Library, kind: str, key: str, dim: int) -> tuple:
    """The window's answer to the child's "attach": how to reach the store it asked for (opened if needed)."""
    try:
        if kind == "passages":
            if key != library.active_key:
                raise SoundalikeError(f"the passage index of {key} is not the one the window has open")
            return ("attached", library.passages().attach_point())
        return ("attached", library.space(key).store().attach_point())
    except Exception as e:  # noqa: BLE001 (the child raises it in the job, which reports it)
        return ("attach_failed", e if _picklable(e) else SoundalikeError(str(e)))


def _picklable(value) -> bool:
    import pickle

    try:
        pickle.dumps(value)
        return True
    except Exception:  # noqa: BLE001
        return False


def _lower(pid: int) -> None:
    """The child runs below the window's own threads and their store processes (nice 15 where the library thread
    is at 5 and the store processes at 10), above the idle-class analysis workers: a window thread holding the GIL
    the GUI thread waits for must not wait behind it for a core (at the library thread's level it did, once
    blocking the GUI thread for 40 ms)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + HOST_NICE))
    except (AttributeError, OSError):  # not permitted here, or no setpriority (Windows)
        pass


# -- the child ------------------------------------------------------------------------------------------
class HostedLibrary(Library):
    """The child's library: the window's home and catalog, the window's store processes (`attach`). No lock:
    the window holds it for both."""

    def __init__(self, settings, ask_parent):
        super().__init__(settings, lock=False)
        self._ask_parent = ask_parent  # (kind, key, dim) -> attach point

    def _connect_store(self, key: str, dim: int):
        if self.settings.qdrant_url:  # a server: this process connects to it itself
            return super()._connect_store(key, dim)
        from desktop.core.store.in_child import Attached

        return Attached(self._ask_parent("tracks", key, dim))

    def _connect_passages(self, key: str, windows: int):
        if self.settings.qdrant_url:
            return super()._connect_passages(key, windows)
        from desktop.core.store.in_child import Attached

        return Attached(self._ask_parent("passages", key, key_dim(key)))


def _host(conn) -> None:
    """The child's life: run the window's jobs one at a time until it says quit or goes away."""
    multiprocessing.current_process().daemon = False  # a run starts its own analysis workers
    from desktop.core import indexer  # the imports, before saying ready

    inbox: queue.Queue = queue.Queue()
    replies: queue.Queue = queue.Queue()
    threading.Thread(target=_read, args=(conn, inbox, replies), daemon=True, name="host-reader").start()
    conn.send(("ready",))
    while (item := inbox.get()) is not None:
        (_, job, roots, settings), cancel = item
        try:
            _run_one(conn, replies, indexer, job, roots, settings, cancel)
        except (EOFError, OSError):  # the window is gone
            return


def _read(conn, inbox: queue.Queue, replies: queue.Queue) -> None:
    """The child's reader thread: jobs to the inbox (each with its own cancel event), cancels to the running
    job, the window's answers to whoever asked. The window gone (EOF) or "quit": cancel and end."""
    cancel = threading.Event()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            message = ("quit",)
        if message[0] == "job":
            cancel = threading.Event()
            inbox.put((message, cancel))
        elif message[0] == "cancel":
            cancel.set()
        elif message[0] in ("attached", "attach_failed"):
            replies.put(message)
        else:  # quit
            cancel.set()
            inbox.put(None)
            replies.put(("attach_failed", SoundalikeError("the window closed")))
            return


def _run_one(conn, replies: queue.Queue, indexer, job: str, roots: list[str], settings, cancel) -> None:
    def ask_parent(kind: str, key: str, dim: int) -> dict:
        conn.send(("attach", kind, key, dim))
        try:
            status, value = replies.get(timeout=ATTACH_TIMEOUT_S)
        except queue.Empty:
            raise SoundalikeError(f"the window did not open the {kind} store of {key} within "
                                  f"{ATTACH_TIMEOUT_S:g} s") from None
        if status == "attach_failed":
            raise value
        return value

    library = None
    try:
        library = HostedLibrary(settings, ask_parent)
        events = indexer.scan_and_index(library, roots, cancel=cancel) if job == "scan_and_index" else \
            indexer.index(library, cancel=cancel)
        for event in events:
            if finished_refit(event):
                _calibrate(library)
            conn.send(("event", event))
        conn.send(("end",))
    except (EOFError, OSError, BrokenPipeError):
        raise
    except Exception as e:  # noqa: BLE001 (the window's job reports it)
        if not isinstance(e, SoundalikeError):
            log.exception("index job %s failed", job)
        conn.send(("error", e if _picklable(e) else SoundalikeError(f"{type(e).__name__}: {e}")))
    finally:
        if library is not None:
            library.close()


def _calibrate(library: Library) -> None:
    """Fit the new statistics' calibration here, before the window's next query would (calibration.py)."""
    try:
        from desktop.core.calibration import calibration

        calibration(library)
    except Exception:  # noqa: BLE001 (a query fits it again; the run goes on)
        log.exception("calibrating after a refit")
