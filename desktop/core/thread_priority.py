"""The app's own background threads run a step below the window's GUI thread, and hand the GIL back quickly.

Kept apart from low_priority.py (child processes), which brings multiprocessing: the window imports this
before its first paint.
"""

from __future__ import annotations

import os
import sys
import threading

# The app's own background threads (library, waveform, catalog, covers, map): a step below the GUI thread,
# above the idle-class workers. Small, because the library thread also answers the user (similar tracks).
THREAD_NICE = 5
# How long a thread running Python may keep the GIL once another thread asks for it. Python's default is
# 5 ms; 1 ms keeps a GUI thread's many returns from Qt to Python under a frame (`hand_gil_over_quickly`).
GIL_SWITCH_INTERVAL_S = 0.001


def lower_this_thread(steps: int = THREAD_NICE) -> None:
    """Run the calling thread `steps` below the app (Linux keeps a nice value per thread).

    Why: the window's GUI thread shares two cores with these threads; while one of them runs C code
    (decoding a waveform, SQLite, numpy) it held a core the GUI thread then waited for. A lower thread
    still runs at once when it holds the GIL the GUI thread waits for: nothing above it wants the core."""
    if not sys.platform.startswith("linux"):  # elsewhere a thread id is not a process id
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except OSError:
        pass


def name_this_thread(name: str) -> None:
    """Give the calling thread `name` where Linux shows it (`top -H`, /proc, the stall sampler; 15 bytes).

    Why: Python's threads keep their names to themselves, and a plain thread replaced each QThread (which named
    its thread) when the worker threads stopped calling into Qt (desktop/ui/main_thread.py)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as comm:
            comm.write(name.encode()[:15].decode(errors="ignore"))
    except OSError:
        pass


def hand_gil_over_quickly(interval: float = GIL_SWITCH_INTERVAL_S) -> None:
    """Make any thread running Python give the GIL up within `interval` when another thread asks for it.

    Why: the GUI thread gives the GIL up at every call into Qt and needs it back at every return to Python
    (each model `data()` call, each paint of a Python delegate, each slot). While a background thread runs
    Python (the library thread filing results, the covers thread parsing tags), every one of those returns
    waited up to Python's default 5 ms; a selected row makes hundreds of them, so the waits added up to
    frames (the convoy effect). The cost: background Python switches more often, a few more context
    switches per second. Process-wide; the window sets it once, as it opens."""
    sys.setswitchinterval(interval)
