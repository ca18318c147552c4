"""What the window remembers of its play queue across a restart.

Up next (items, reasons, cursor, repeat mode), where the playing track was, and the radio station
(seeds, skips and likes, what it already played, and steering actions not yet applied), so that after
reopening the same track is loaded paused, Up next shows the same list, and the station keeps refilling
away from what was skipped. Kept as JSON in the library's home (`queue.json`), written atomically when
the window closes (core/queue.py). A track removed from the library meanwhile is dropped from the queue.
"""

from __future__ import annotations

import os

QUEUE_FILE = "queue.json"


def queue_file(window) -> str:
    return str(window.session.library.settings.home / QUEUE_FILE)


def save(window) -> None:
    """Write the queue and the station next to the library (called when the window closes)."""
    from desktop.core.queue import save_state  # lazy: stays out of the window's start-up

    pb, listening = window.playback, window.listening
    station = listening.station
    state = {
        "queue": pb.queue.state(),
        "position": pb.position if pb.current is not None else 0.0,
        "station": station.state() if station is not None else None,
        "station_actions": [list(a) for a in listening._actions] if station is not None else [],
        "last_skip": listening._last_skip if station is not None else None,
    }
    save_state(queue_file(window), state)


def restore(window) -> bool:
    """Bring back the saved queue (current item loaded paused at its position) and station.
    False when nothing was saved or nothing of it is still playable (the caller falls back)."""
    from desktop.core.queue import PlayQueue, load_state  # lazy: stays out of the window's start-up

    state = load_state(queue_file(window))
    if not state or not isinstance(state.get("queue"), dict):
        return False
    queue = PlayQueue.from_state(state["queue"])
    known = window.session.catalog.many([i for i in queue.items if isinstance(i, int)])
    for i in range(len(queue) - 1, -1, -1):
        item = queue.items[i]
        if (item not in known) if isinstance(item, int) else not os.path.exists(str(item)):
            queue.remove(i)  # gone since: the cursor stays on the same item (or just after it)
    if not queue:
        return False
    pb = window.playback
    pb.queue = queue
    current = queue.current
    if current is None:  # the playing track was the one removed: start from what followed it
        current = queue.next() if queue.has_next else None
    if current is not None:
        pb._start(current, autoplay=False, position=float(state.get("position") or 0.0))
        if isinstance(current, int) and window.model.row_of(current) is not None:
            window.table.select_row(window.model.row_of(current))
    station = state.get("station")
    if isinstance(station, dict):
        window.listening.restore_station(station, state.get("station_actions") or [], state.get("last_skip"))
    else:
        window.listening.refresh()
    return True
