"""A frame's time budget: long lists draw what fits in one frame and the rest in the next.

Qt repaints everything that changed in the window in one pass (the top-level window's UpdateRequest) on the GUI
thread. When a scan lists a screen of new tracks, or a track's similar hits arrive, the library table or the
Sounds-like list draws dozens of new rows in that pass: 5-10 ms of Python on the development VM, more while
the scan's threads take the GIL and both cores, and then the window answers nothing else (bench/ui_stall.py).
The window runs each pass inside `frame()`; the table and the lists ask `spent()` before each row after their
first; once the budget is spent they leave the remaining rows to the next pass (`QWidget.update` on them), so a
long paint becomes two or three frames that arrive in time instead of one that is late. Outside such a pass (`grab()`,
`render()`, a test drawing a widget by itself) nothing is ever spent: every row is drawn.

`after_this_frame(receiver, fn)` runs work that a click sets off, but that need not be in its frame, once the
window has repainted what the click changed.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from PySide6.QtCore import QTimer

# A quarter of a frame at 60 Hz: the rest of the window's repaint, the event loop and, on a busy machine, waiting for a
# core and for the GIL take the rest. 8 ms (half) still left the longest gaps at 18-28 ms (bench/README.md, 2 Dec).
FRAME_BUDGET_MS = 4.0

_deadline: float | None = None  # perf_counter() at which the current pass's budget is spent; None: not in a pass


@contextmanager
def frame():
    """The window's repaint pass: rows drawn in it are drawn until FRAME_BUDGET_MS has passed."""
    global _deadline
    outer = _deadline
    if outer is None:
        _deadline = time.perf_counter() + FRAME_BUDGET_MS / 1000
    try:
        yield
    finally:
        _deadline = outer


def spent() -> bool:
    """The current repaint pass has used its budget: draw no more rows in it (False outside a pass)."""
    return _deadline is not None and time.perf_counter() > _deadline


def after_this_frame(receiver, fn) -> None:
    """Call `fn` (as `receiver`'s, so not after it is deleted) after the repaint that the current event asked for.

    Why a 1 ms timer and not 0: Qt posts a window's repaint (UpdateRequest) at low priority and runs
    `QTimer.singleShot(0, ...)` as a posted call at normal priority, so a zero timer ran *before* the repaint
    and its work (a scan's start, a track's fan-out to the views) landed in the same stall; a real timer runs
    after the posted events (tests/ui/test_frame_budget.py)."""
    QTimer.singleShot(1, receiver, fn)
