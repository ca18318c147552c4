"""Child processes that run below the app from their start, not only once their imports are done.

A spawned child's interpreter start and imports (numpy, PyAV, the embedder) cost most of a second of CPU.
Lowering its priority from inside, after those imports, left that second competing with the window's
GUI thread for one of few cores every time an index or passage pass began (bench/ui_stall.py: waiting for
a CPU was about a third of the window's stalls while indexing). A process may lower the priority of its
own user's processes at any moment, so the parent lowers each child right after starting it, before
the child has read its instructions.
"""

from __future__ import annotations

import os
from multiprocessing.context import SpawnContext, SpawnProcess

# Below the app, the player and the GUI: background work still gets every idle cycle, but a repaint or
# an audio callback no longer waits behind it for a core. 10 is the conventional "background" step
# (nice(1)'s default); any positive value gives the same ordering.
NICE = 10


def lower(pid: int, steps: int = NICE) -> None:
    """Run process `pid` only when nothing else wants the CPU (Linux's SCHED_IDLE, as GNOME's Tracker and
    KDE's Baloo indexers do), else `steps` below this thread's priority (at most nice 19); quietly
    nothing where the system does not allow it or the process is already gone.

    Why idle and not only nice: a nice-10 worker still holds a core until the scheduler's next tick
    when the GUI thread (or the thread holding Python's GIL, which the GUI thread then waits for) wakes;
    an idle-class one gives it up at once."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + steps))
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux (no SCHED_IDLE / setpriority), not permitted, or ended
        pass


class LowPriorityProcess(SpawnProcess):
    """A spawned process lowered by `lower` (idle class, else `NICE` steps) as soon as it exists (module-level:
    the child unpickles it)."""

    @staticmethod
    def _Popen(process_obj):
        popen = SpawnProcess._Popen(process_obj)
        lower(popen.pid)
        return popen


class LowPriorityContext(SpawnContext):
    """`multiprocessing.get_context("spawn")` whose processes are `LowPriorityProcess`es (for pools too)."""

    Process = LowPriorityProcess


LOW_PRIORITY = LowPriorityContext()
