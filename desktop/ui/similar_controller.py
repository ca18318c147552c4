"""What the Sounds-like pane shows: which track it follows and the query in flight.

The pane follows the selected or the playing track, whichever changed last; a query goes to the
library thread and only the newest answer is shown (a token per query). A track that is not indexed
yet shows that state and is queried again as soon as the indexer reports it. The pane widget only
renders; this controller owns the state and talks to the session bound with `bind_session`.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject

from desktop.core.errors import SoundalikeError
from desktop.core.similarity import NotIndexed
from desktop.core.text_search import SUGGESTED_CLAP
from desktop.ui.jobs import error_text


class SimilarController(QObject):
    def __init__(self, pane, notices, parent=None):
        super().__init__(parent)
        self.pane = pane  # SimilarPane
        self.notices = notices  # NoticeBar
        self.session = None
        self.target: int | str | None = None  # a track id or a dropped file's path
        self._token: int | None = None
        self._awaiting_index: int | None = None
        self._selected_id: int | None = None
        self.pinned = False  # the user pinned the pane: it keeps its list until unpinned
        self.passages = None  # the PassageController: while it shows passages, the playing track is not followed
        # (track id) -> the table's copy of an indexed track, or None: a row selected in the table needs no catalog
        # read on the GUI thread
        self.cached_track = lambda _track_id: None
        pane.describe_requested.connect(self.describe)

    def bind_session(self, session) -> None:
        """Follow this session's answers and indexing (a reopened library: the old session is gone)."""
        self.session = session
        self._token = None
        for signal, slot in ((session.similar_ready, self.on_ready), (session.similar_failed, self.on_failed),
                             (session.job_started, self.on_job_started), (session.track_done, self.on_track_done),
                             (session.index_done, self.on_index_done), (session.idle, self.on_idle)):
            signal.connect(slot)
        self.update_describe()

    @property
    def selected_id(self) -> int | None:
        return self._selected_id

    # -- what to show ----------------------------------------------------------------------------
    def select(self, track_id: int | None) -> None:
        """The table's current row changed."""
        if track_id is not None and track_id != self._selected_id:
            self._selected_id = track_id
            self.show(track_id)

    def follow_playing(self, track_id: int) -> None:
        """The playing track changed: follow it, unless the pane shows passages (double-clicking one plays
        its track, and the passages stay to try the next one)."""
        if self.passages is None or not self.passages.active:
            self.show(track_id)

    def show(self, target: int | str, force: bool = False) -> None:
        if self.passages is not None and self.passages.active:  # asked for a track: passages make way
            self.passages.leave()
            force = True
        if (target == self.target or self.pinned) and not force:
            return
        self.target = target
        self._awaiting_index = None
        pane, catalog = self.pane, self.session.catalog
        if isinstance(target, int):
            try:
                # The table's copy of the row when it has one (no catalog read on the GUI thread). It hears of index
                # results in batches, so "not indexed yet" there may be a moment old: the query asks anyway, and the
                # library thread's answer (hits, or NotIndexed with the track as it is now) decides.
                cached = self.cached_track(target)
                track = cached or catalog.get(target)
            except SoundalikeError as e:
                pane.set_query("")
                pane.show_message(str(e))
                return
            pane.set_query(f"{track.title} — {track.artist}")
            if track.status == "failed" or (cached is None and track.status != "indexed"):  # nothing to ask
                self.session.cancel_similar()
                self._show_not_indexed(track)
                return
        else:
            tracked = catalog.by_path(os.path.abspath(target))
            title = f"{tracked.title} — {tracked.artist}" if tracked else \
                f"{os.path.basename(target)}  (dropped file, not in the library)"
            pane.set_query(title, example_path=target)
        pane.show_loading()
        self._token = self.session.request_similar(target)

    def describe(self, text: str) -> None:
        """Tracks by description (a CLAP library), shown like similar hits; asked for, so a pin gives way."""
        if self.passages is not None and self.passages.active:
            self.passages.leave()
        self.target = ("text", text)
        self._awaiting_index = None
        self.pane.set_query(f"Described as “{text}”")
        self.pane.show_message("Finding tracks that sound like that…")
        self._token = self.session.request_text(text)

    def update_describe(self) -> None:
        """Enable "Describe a sound" only when the library's active vector space is a CLAP space."""
        key = self.session.library.active_key
        clap = bool(key and key.startswith("clap-"))
        self.pane.set_describe_enabled(clap, "" if clap else (
            f"Describing a sound needs the library indexed with a CLAP model: in Settings, set the model to "
            f"{SUGGESTED_CLAP}, download it, and the library is indexed with it"))

    def _show_not_indexed(self, track) -> None:
        if track.status == "failed":
            self.pane.show_message(f"This track could not be indexed:\n{track.error}")
            return
        self._awaiting_index = track.id
        if self.session.busy:
            self.pane.show_message("Not indexed yet — indexing…")
        else:
            self.pane.show_message("Not indexed yet.\nIndexing resumes on the next start, or use "
                                   "File → Rescan library.")

    # -- answers ---------------------------------------------------------------------------------
    def on_ready(self, token: int, hits) -> None:
        if token != self._token:
            return
        if not hits and self.session.busy:
            self.pane.show_message("No similar tracks yet: the library is still being indexed…")
        else:
            self.pane.show_hits(hits)

    def on_failed(self, token: int, exc) -> None:
        if token != self._token:
            return
        target = self.target
        if isinstance(exc, NotIndexed) and isinstance(target, int):
            self._show_not_indexed(exc.track if exc.track is not None else self.session.catalog.get(target))
            return
        self.pane.show_message(error_text(exc))
        if isinstance(target, str):
            self.notices.add("Could not search by this file", [f"{os.path.basename(target)}: {error_text(exc)}"])

    # -- indexing news ---------------------------------------------------------------------------
    def on_job_started(self, _job) -> None:
        if self._awaiting_index is not None:
            self.pane.show_message("Not indexed yet — indexing…")

    def on_track_done(self, ev) -> None:
        if ev.track_id == self._awaiting_index:
            self.show(ev.track_id, force=True)

    def on_index_done(self, summary) -> None:
        self.update_describe()  # the run may have made a CLAP space active
        if summary.indexed and isinstance(self.target, int):
            self.show(self.target, force=True)  # hits found mid-run may be incomplete

    def on_idle(self) -> None:
        if self._awaiting_index is not None:
            self.show(self._awaiting_index, force=True)
