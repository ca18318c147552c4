"""Python's cyclic garbage collector, kept from freezing the window.

A full collection (of the oldest generation) walks every object the collector tracks and holds the GIL all
the while: over the window's ~60,000 tracked objects one took 60-110 ms on the development VM, and the
library thread's imports at the first scan (mutagen, faker) set one off, so the GUI thread was blocked for
all of it (bench/ui_stall.py: "blocked 57-70 ms while Scanning…" in every run, gc.callbacks timed it).
What the window has built once it is open (modules, classes, widgets, the embedder's code) lives as long as
the process: `gc.freeze()` moves it out of the collector's reach, and later full collections walk only what
came after. Cyclic garbage among frozen objects is never freed; start-up leaves little of it.
"""

from __future__ import annotations

import gc


def settle_long_lived() -> int:
    """Keep every object alive now out of later collections (call when start-up has built what lasts);
    returns how many the collector now leaves alone."""
    gc.freeze()
    return gc.get_freeze_count()
