"""The app's own background threads run a step below the window's GUI thread.

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
