"""Calls from our threads, run on the GUI thread: how worker threads hand their results to the window.

Why not a Qt signal emitted from the worker thread, as Qt's own examples do: to emit, PySide asks the
sender's `metaObject()` with Python's GIL released, and that reads PySide's table of Qt types, which the
GUI thread may be growing at the same moment (PySide creates a class the first time it is used). A worker
thread that read the table mid-rehash got an empty entry and crashed the app: a segfault in
`MetaObjectBuilder::update()` in the waveform thread, about one run in 150 of bench/ui_stall.py (tests/ui/
test_main_thread.py shows where the worker threads used to call into PySide without the GIL). A thread
here touches no Qt at all: it appends the call to a deque and writes a byte to a socket; the GUI thread's
QSocketNotifier wakes and runs the calls, one per turn of the event loop, so a frame (a timer, a repaint)
can come between two results, as it could between queued signals.
"""

from __future__ import annotations

import collections
import logging
import socket
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier

log = logging.getLogger(__name__)


class MainThreadCalls:
    """`call(fn, *args)` from any thread runs `fn(*args)` on the thread that made this object (the GUI
    thread): at once when called there, else on a later turn of its event loop, in the order posted. A plain
    object, so even its attributes are read without PySide; its socket notifier is a child of `parent` and
    goes with it."""

    def __init__(self, parent: QObject | None = None):
        self._owner = threading.get_ident()
        self._calls: collections.deque[tuple[Callable, tuple]] = collections.deque()
        self._lock = threading.Lock()
        self._woken = False  # a wake-up byte is on its way: one at a time, so the socket never fills
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, parent)
        self._notifier.activated.connect(self._run_next)
        self._closed = False

    def call(self, fn: Callable, *args) -> None:
        if threading.get_ident() == self._owner:
            fn(*args)  # as a signal emitted on the receiver's own thread: a direct call
            return
        with self._lock:
            if self._closed:
                return  # the owner has gone: its news is moot
            self._calls.append((fn, args))
            if self._woken:
                return
            self._woken = True
        self._wake()

    def _wake(self) -> None:
        try:
            self._writer.send(b"\0")
        except OSError:  # closed meanwhile
            pass

    def _run_next(self) -> None:
        """One posted call per wake-up; the next one wakes the loop again."""
        try:
            self._reader.recv(16)
        except OSError:
            pass
        with self._lock:
            item = self._calls.popleft() if self._calls else None
            more = self._woken = bool(self._calls)
        if more:  # decided under the lock: a thread posting meanwhile saw `_woken` and sent no byte of its own
            self._wake()
        if item is not None:
            fn, args = item
            try:
                fn(*args)
            except Exception:  # as PySide does with a slot's error: report it, keep the loop running
                log.exception("%s failed on the GUI thread", getattr(fn, "__qualname__", fn))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._calls)

    def close(self) -> None:
        """Drop what is still queued and release the socket pair (a library reopened many times, the tests'
        hundreds of windows: each would keep two descriptors until the collector came)."""
        with self._lock:
            self._closed = True
            self._calls.clear()
        try:
            self._notifier.setEnabled(False)
        except RuntimeError:  # gone with its parent already
            pass
        self._reader.close()
        self._writer.close()
