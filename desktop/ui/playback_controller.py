"""The controller that joins the core Player and PlayQueue, and what it says is playing (`NowPlaying`).

The core `Player` calls back from its audio threads; `PlaybackController` runs those callbacks on the GUI
thread (`MainThreadCalls`), turns them into Qt signals and polls the position while playing. Queue items are
track ids (library tracks) or paths (files played without adding them); a resolver from the window turns
an item into what to play and show.

Gapless: the player is always told the queue's next item (`queue_next`), re-told when the queue changes
(checked on each position poll); when it moves on by itself (`on_advance`) the controller advances the
queue and shows the new track without loading anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.core.track import Track
from desktop.ui.frame_budget import after_this_frame
from desktop.ui.main_thread import MainThreadCalls

log = logging.getLogger(__name__)
POLL_MS = 50


@dataclass
class NowPlaying:
    """The queue item that plays and its track: a catalog row, or for a file outside the library a `Track`
    with id 0 made from its name, then its tags. Every field of the field table (desktop/core/track.py)
    reads straight through: `now.title`, `now.album`, `now.year`..."""

    item: object  # the queue item: track id (int) or path (str)
    track: Track
    gains: object = None  # desktop.core.replaygain.Gains from the catalog (None: not known yet)

    @property
    def track_id(self) -> int | None:
        """The catalog id; None for a file outside the library."""
        return self.track.id or None

    def __getattr__(self, name: str):
        if name == "track":  # not set yet (copy, unpickling): no field to read through
            raise AttributeError(name)
        return getattr(self.track, name)


class PlaybackController(QObject):
    state_changed = Signal(str)  # "stopped" | "playing" | "paused"
    current_changed = Signal(object)  # NowPlaying | None
    position_changed = Signal(float, float)  # position, duration (seconds)
    error = Signal(str)
    track_ended = Signal(object)  # NowPlaying played to its end

    def __init__(self, resolver: Callable[[object], NowPlaying], player=None, parent=None):
        super().__init__(parent)
        from desktop.core.playback import Player  # lazy: stays out of the window's start-up
        from desktop.core.queue import PlayQueue  # lazy: stays out of the window's start-up

        self.resolver = resolver
        calls = MainThreadCalls(self).call  # the Player calls back from its audio threads: run on the GUI thread
        on_state, on_end, on_error, on_advance = self._on_state, self._on_end, self._on_error, self._on_advance
        self.player = player or Player(
            on_state=lambda *a: calls(on_state, str(a[0]) if a else ""),
            on_end=lambda *a: calls(on_end),
            on_error=lambda *a: calls(on_error, str(a[0]) if a else "playback error"),
            on_advance=lambda path: calls(on_advance, str(path)),
        )
        self.queue = PlayQueue()
        self.current: NowPlaying | None = None
        self._primed: tuple[object, NowPlaying | None] | None = None  # (queue item, resolved) told to the player
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    # -- facts -------------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return bool(getattr(self.player, "available", False))

    @property
    def unavailable_reason(self) -> str:
        return str(getattr(self.player, "error", "") or "no audio output")

    @property
    def state(self) -> str:
        return self.player.state

    @property
    def position(self) -> float:
        return float(self.player.position or 0.0)

    @property
    def duration(self) -> float:
        d = float(self.player.duration or 0.0)
        return d if d > 0 else (self.current.duration if self.current else 0.0)

    @property
    def volume(self) -> float:
        return float(self.player.volume)

    def is_current(self, path: str) -> bool:
        """Whether `path` is the current track's file (what arrives from a worker thread may be stale)."""
        return self.current is not None and self.current.path == path

    def set_volume(self, v: float) -> None:
        self.player.volume = max(0.0, min(1.0, float(v)))

    # -- commands -------------------------------------------------------------------------------
    def play_items(self, items: list, start: int = 0) -> None:
        if not items:
            return
        self.queue.set(list(items), start)
        self._start(self.queue.current, autoplay=True)

    def load_item(self, item, position: float = 0.0) -> None:
        """Load a track paused (restoring the last session) without playing it."""
        self.queue.set([item], 0)
        self._start(item, autoplay=False, position=position)

    def play_pause(self) -> None:
        if self.current is None:
            return
        if self.player.state == "stopped":
            self.player.play()
        else:
            self.player.toggle()
        self._sync()

    def stop(self) -> None:
        self.player.stop()
        self._sync()

    def next(self) -> None:
        item = self.queue.next() if self.queue.has_next else None
        if item is not None:
            self._start(item, autoplay=True)

    def previous(self) -> None:
        """The previous track, or the start of this one when past 3 s (the queue decides)."""
        if self.current is None:
            return
        before = self.queue.index
        item = self.queue.previous(self.position)
        if item is None or self.queue.index == before:
            self.seek(0.0)
        else:
            self._start(item, autoplay=True)

    def seek(self, seconds: float) -> None:
        if self.current is None:
            return
        dur = self.duration
        seconds = max(0.0, min(float(seconds), dur if dur > 0 else float(seconds)))
        self.player.seek(seconds)
        self.position_changed.emit(self.position, self.duration)

    def seek_by(self, delta: float) -> None:
        self.seek(self.position + delta)

    def close(self) -> None:
        self._closed = True
        self._timer.stop()
        try:
            self.player.close()
        except Exception:
            log.exception("closing the player")

    # -- internals ------------------------------------------------------------------------------
    def _start(self, item, autoplay: bool, position: float = 0.0) -> None:
        try:
            now = self.resolver(item)
        except Exception as e:
            self.error.emit(f"cannot play {item}: {e}")
            return
        self.current, self._primed = now, None  # load() forgets what the player had readied
        try:
            self.player.load(now.path, now.gains)
            if position > 0:
                self.player.seek(position)
            self._prime_next()  # before play(): a short track must not end before its follower is known
            if autoplay:
                self.player.play()
        except Exception as e:
            self.error.emit(str(e))
        self._sync()
        self._announce(now)

    def _announce(self, now: NowPlaying) -> None:
        """`current_changed(now)` once the window has repainted the click (`after_this_frame`), unless another
        track started meanwhile.

        Why not at once: a started track changes the transport, the table's playing row, the title, the
        waveform, the cover and the Sounds-like pane, and wakes the waveform, cover and library threads.
        All of it in the click and the repaint after it came to one stall of 15-40 ms while indexing
        (bench/ui_stall.py). Now the click loads, plays and repaints the transport, and the rest follows
        a frame later."""
        def later() -> None:
            if self.current is now and not self._closed:
                self.current_changed.emit(now)

        after_this_frame(self, later)

    def _prime_next(self) -> None:
        """Tell the player what follows, so it plays on without a gap (again whenever the queue changed)."""
        if self.current is None:
            return
        item = self.queue.peek_next()
        if self._primed is not None and self._primed[0] == item:
            return
        now = None
        if item is not None:
            try:
                now = self.resolver(item)
            except Exception:  # noqa: BLE001 - reported when it is started the usual way
                log.debug("cannot ready %r to play next", item, exc_info=True)
        self._primed = (item, now)
        self.player.queue_next(now.path if now else None, now.gains if now else None)

    def _on_advance(self, path: str) -> None:
        """The player went on into the track it was readied with: advance the queue to it."""
        if self._closed:  # queued from the player's thread before close(): the library may be closed by now
            return
        if self.current is not None:
            self.track_ended.emit(self.current)
        primed, self._primed = self._primed, None
        item = self.queue.next()
        if item is None:
            self._sync()
            return
        if primed is None or primed[0] != item or primed[1] is None or primed[1].path != path:
            self._start(item, autoplay=True)  # the queue changed at the very end: play what it says now
            return
        try:
            self.current = self.resolver(item)  # afresh: a file outside the library asks for its tags again
        except Exception:  # noqa: BLE001
            self.current = primed[1]
        self._prime_next()
        self._sync()
        self._announce(self.current)

    def _sync(self) -> None:
        state = self.player.state
        if state == "playing":
            self._timer.start()
        else:
            self._timer.stop()
        self.state_changed.emit(state)
        self.position_changed.emit(self.position, self.duration)

    def _poll(self) -> None:
        self.position_changed.emit(self.position, self.duration)
        self._prime_next()

    def _on_state(self, _state: str) -> None:
        self._sync()

    def _on_end(self) -> None:
        if self.current is not None:
            self.track_ended.emit(self.current)
        if self.queue.has_next:
            self.next()
        else:
            self._sync()

    def _on_error(self, message: str) -> None:
        self.error.emit(message)
        self._sync()
