"""The window's listening controller: Up next, radio stations, skips, paths, playlists, duplicates.

It edits the one play queue (`PlaybackController.queue`) and shows it in the Up next panel. Station
and path work touches the vector store, so it runs on the session's library thread as requests
("radio", "path", "duplicates"); user actions that steer a station (skip, undo, played to the end) are
recorded at once and applied by the next radio request, which also refills the queue. Nothing here
decodes or searches on the GUI thread.
"""

from __future__ import annotations

import collections
import os

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices

REFILL_BELOW = 5  # keep at least this many station tracks ahead of the playing one
REFILL_BATCH = 10
SHOWN_AHEAD = 300  # rows Up next shows after the playing track (a queue of the whole library is long)


class ListeningController(QObject):
    status = Signal(str)  # one line for the status bar
    duplicates_ready = Signal(object)  # list[DuplicateGroup]

    def __init__(self, window, panel):
        super().__init__(window)
        self.w, self.panel = window, panel
        self.playback = window.playback
        self._bound = None  # the library thread whose results we listen to (the window may reopen the library)
        self.station = None
        # Steering actions for the station, (name, track_id, position): appended here, drained by the next
        # radio request on the library thread (a deque: appends and pops are atomic), so a request that a
        # newer one replaced before it started loses nothing.
        self._actions: collections.deque = collections.deque()
        self._last_skip: int | None = None
        self._pending_refill = False
        self.playback.current_changed.connect(self._current_changed)
        panel.moved.connect(self.move)
        panel.removed.connect(self.remove)
        panel.activated.connect(self.jump)
        panel.skip_clicked.connect(self.skip)
        panel.undo_skip_clicked.connect(self.undo_skip)
        panel.stop_radio_clicked.connect(self.stop_radio)
        self._offset = 0
        self.refresh()

    @property
    def queue(self):
        return self.playback.queue

    @property
    def session(self):
        return self.w.session

    def _request(self, kind: str, fn) -> int:
        worker = self.session.worker
        if self._bound is not worker:
            worker.request_done.connect(self._done)
            worker.request_failed.connect(self._failed)
            self._bound = worker
        return worker.request(kind, fn)

    # -- the queue -------------------------------------------------------------------------------
    def refresh(self) -> None:
        q = self.queue
        cur = q.index
        self._offset = max(0, (cur or 0) - 3)
        offset = self._offset
        items = q.items[offset : offset + SHOWN_AHEAD]

        def rows() -> tuple[list[str], list[str], list[str]]:
            """Labels, reasons and paths of the shown items; read only when Up next is shown. One query for
            them all (up to 300): two catalog.get per row took 51 ms against 16 ms at load 9."""
            tracks = self.session.catalog.many([i for i in items if isinstance(i, int)])
            return ([self._label(i, tracks) for i in items], [q.reason(offset + i) for i in range(len(items))],
                    [self._path(i, tracks) for i in items])

        self.panel.show_queue(len(items), rows, None if cur is None else cur - offset)
        if self.station is not None:
            seeds = ", ".join(s.label for s in self.station.seeds[:3])
            skipped = len(self.station.negatives)
            text = f"Radio from {seeds}" + (f" · {skipped} skipped" if skipped else "")
            self.panel.set_station(text, can_undo=self._last_skip is not None)
        else:
            self.panel.set_station("", can_undo=False)

    @staticmethod
    def _path(item, tracks: dict) -> str:
        """The audio file of a queue item (for its cover), '' when the track is gone."""
        if isinstance(item, int):
            t = tracks.get(item)  # None: removed from the library meanwhile
            return t.path if t is not None else ""
        return str(item)

    @staticmethod
    def _label(item, tracks: dict) -> str:
        if isinstance(item, int):
            t = tracks.get(item)
            if t is None:
                return f"track {item} (gone)"
            return f"{t.artist} - {t.title}" if t.artist else t.title
        return os.path.basename(str(item))

    def move(self, source: int, target: int) -> None:
        self.queue.move(self._offset + source, self._offset + target)
        self.refresh()

    def remove(self, rows: list[int]) -> None:
        for r in sorted(rows, reverse=True):
            item = self.queue.items[self._offset + r]
            self.queue.remove(self._offset + r)
            if self.station is not None and isinstance(item, int):
                self._actions.append(("withdraw", item, 0.0))
        self.refresh()

    def jump(self, row: int) -> None:
        self.queue.jump(self._offset + row)
        self.playback._start(self.queue.current, autoplay=True)

    def play_next(self, items) -> None:
        for item in reversed(list(items)):
            self.queue.insert_next(item, "played next by you")
        self._ensure_started()
        self.refresh()

    def add_to_queue(self, items) -> None:
        for item in items:
            self.queue.append(item, "added by you")
        self._ensure_started()
        self.refresh()

    def play(self, items) -> None:
        self.stop_radio(refresh=False)
        self.playback.play_items(list(items))

    def _ensure_started(self) -> None:
        if self.playback.current is None and self.queue:
            self.queue.jump(0)
            self.playback._start(self.queue.current, autoplay=True)

    # -- radio -----------------------------------------------------------------------------------
    def start_radio(self, seeds, play_seed: bool = True) -> None:
        """A station from track ids and/or dropped file paths; the queue becomes the station."""
        seeds = list(seeds)
        if not seeds:
            return
        self.station = None
        self._actions = collections.deque()
        self._last_skip = None
        first = seeds[0] if play_seed and len(seeds) == 1 else None
        self.status.emit("Starting radio…")

        def build():
            from desktop.core.radio import Station  # lazy: stays out of the window's start-up

            station = Station(self.session.library, seeds)
            return station, station.take(REFILL_BATCH)

        self._first = first
        self._request("radio-start", build)

    def restore_station(self, state: dict, actions, last_skip) -> None:
        """The station saved when the window closed (queue_memory.py): rebuilt on the library thread,
        then it refills Up next as before, still away from what was skipped."""
        self._actions = collections.deque(tuple(a) for a in actions if len(a) == 3)
        self._last_skip = last_skip

        def rebuild():
            from desktop.core.radio import Station  # lazy: stays out of the window's start-up

            return Station.restore(self.session.library, state)

        self._request("radio-restore", rebuild)
        self.refresh()

    def stop_radio(self, refresh: bool = True) -> None:
        self.station = None
        self._actions = collections.deque()
        self._last_skip = None
        self.session.worker.forget("radio")
        if refresh:
            self.refresh()

    def skip(self) -> None:
        """Skip the playing track; early in the track it tells the station "not this"."""
        now = self.playback.current
        if self.station is not None and now is not None and now.track_id is not None:
            if self.playback.position <= self.station.rules.skip_seconds:
                self._actions.append(("skip", now.track_id, self.playback.position))
                self._last_skip = now.track_id
                self._drop_station_tracks_ahead()
                self._refill(force=True)
        self.playback.next()

    def undo_skip(self) -> None:
        if self._last_skip is None:
            return
        self._actions.append(("undo", self._last_skip, 0.0))
        self._last_skip = None
        self._drop_station_tracks_ahead()
        self._refill(force=True)
        self.refresh()

    def _drop_station_tracks_ahead(self) -> None:
        """Station picks not played yet were chosen before the skip: they make way for new picks."""
        q = self.queue
        start = 0 if q.index is None else q.index + 2  # keep the very next track (playback goes there now)
        for i in range(len(q) - 1, start - 1, -1):
            if q.reason(i).startswith("like "):
                item = q.remove(i)
                self._actions.append(("withdraw", item, 0.0))

    def _refill(self, force: bool = False) -> None:
        if self.station is None:
            return
        ahead = len(self.queue.upcoming)
        if not force and ahead >= REFILL_BELOW:
            return
        station, actions = self.station, self._actions
        want = max(REFILL_BATCH, REFILL_BELOW - ahead)

        def work():
            while actions:
                name, tid, pos = actions.popleft()
                if name == "skip":
                    station.skipped(tid, pos)
                elif name == "undo":
                    station.undo_skip(tid)
                elif name == "finished":
                    station.finished(tid)
                elif name == "withdraw":
                    station.withdraw([tid])
            return station, station.take(want)

        self._request("radio", work)

    def _current_changed(self, now) -> None:
        self.refresh()
        if self.station is not None:
            self._refill()

    def track_finished(self, track_id: int) -> None:
        if self.station is not None:
            self._actions.append(("finished", track_id, 0.0))

    # -- paths, duplicates, files ------------------------------------------------------------------
    def path_to(self, start: int, end: int, steps: int = 12) -> None:
        from desktop.core.songpath import song_path  # lazy: stays out of the window's start-up

        self.status.emit("Finding a path…")
        self._request("path", lambda: song_path(self.session.library, start, end, steps))

    def find_duplicates(self) -> None:
        from desktop.core.duplicates import KnownCopies, find_duplicates  # lazy: stays out of the window's start-up

        self.status.emit("Looking for duplicates…")
        lib = self.session.library
        self._request("duplicates", lambda: (find_duplicates(lib), KnownCopies.load(lib.catalog).hide))

    def set_copies_hidden(self, hide: bool) -> None:
        """Leave the extra copies out of similar lists, stations and paths (or list them again); the
        Sounds-like pane is asked again so it shows the change."""
        from desktop.core.duplicates import KnownCopies  # lazy: stays out of the window's start-up

        self._request("hide-copies", lambda: KnownCopies.set_hidden(self.session.catalog, hide))

    def export(self, target: str, items) -> None:
        from desktop.core.playlists import write_playlist  # lazy: stays out of the window's start-up

        tracks = self.session.catalog.many([i for i in items if isinstance(i, int)])
        entries = [tracks[i] if isinstance(i, int) and i in tracks else {"path": str(i)} for i in items]
        try:
            write_playlist(target, entries)
        except Exception as e:  # noqa: BLE001 - shown to the user, nothing else changes
            self.w.notices.add("Could not export the playlist", [str(e)])
            return
        self.status.emit(f"Wrote {target}")

    @staticmethod
    def reveal(path: str) -> bool:
        """Open the folder holding `path` in the file manager."""
        return QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))

    # -- results from the library thread -------------------------------------------------------------
    def _done(self, kind: str, token: int, result) -> None:
        if not self.session.worker.is_latest(kind, token):
            return
        if kind == "radio-start":
            station, picks = result
            self.station = station
            items = ([self._first] if self._first is not None else []) + [p.track_id for p in picks]
            reasons = (["the seed"] if self._first is not None else []) + [p.reason for p in picks]
            self.queue.set(items, 0, reasons)
            self.playback._start(self.queue.current, autoplay=True)
            self.status.emit(f"Radio: {len(picks)} tracks queued")
        elif kind == "radio-restore":
            self.station = result
            self.refresh()
            self._refill()
        elif kind == "radio":
            station, picks = result
            if station is not self.station:
                return
            self.queue.extend([p.track_id for p in picks], [p.reason for p in picks])
            self.refresh()
        elif kind == "path":
            self.stop_radio(refresh=False)
            steps = result.steps
            self.queue.set([p.track_id for p in steps], 0, [p.reason for p in steps])
            self.refresh()
            jump, at = result.largest_jump, result.largest_jump_at + 1
            self.status.emit(f"Path of {len(steps)} tracks; largest jump {jump:.2f} into step {at}. "
                             "Double-click in Up next to play.")
        elif kind == "duplicates":
            self.duplicates_ready.emit(result)
        elif kind == "hide-copies" and self.w.similar_controller.target is not None:
            self.w.similar_controller.show(self.w.similar_controller.target, force=True)

    def _failed(self, kind: str, token: int, exc) -> None:
        mine = ("radio-start", "radio-restore", "radio", "path", "duplicates")
        if kind in mine and self.session.worker.is_latest(kind, token):
            from desktop.ui.jobs import error_text  # lazy: stays out of the window's start-up

            self.w.notices.add({"path": "No path", "duplicates": "Duplicates"}.get(kind, "Radio stopped"),
                               [error_text(exc)])
            if kind.startswith("radio"):
                self.stop_radio()
