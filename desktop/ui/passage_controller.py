"""Passage search in the window: a selection on the waveform (or a clip) -> passage hits in the pane.

Selecting 2-60 s of the playing track asks the library worker for passages like it ("passages like
1:02-1:18 of <track>"); the pane shows each hit's passage, and double-clicking one plays its track
from the passage's start. A click on the waveform clears the selection and the pane returns to
whole-track similarity. Dropping a file on the pane with Shift held, or "Find passages like a
clip…" in the pane's menu, searches with that clip. Also starts the passage pass after every
first-pass job (`Session.index_passages`), which gives way to any job queued after it; the window
starts it at open when nothing is pending (`MainWindow._resume`).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from desktop.core.passage_search import fmt_time
from desktop.ui.passage_view import PassageDelegate
from desktop.ui.similar_pane import local_paths

PASSAGES_K = 20
NO_PASSAGES = ("No passages found. The passage index is built after indexing; the status bar shows how far it "
               "is.")


class PassageController(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.session = None
        self.similar = window.similar_controller  # whole-track similarity: what the pane shows otherwise
        self.similar.passages = self
        self.pane = window.similar
        self.active = False  # the pane shows passages
        self.token: int | None = None
        delegate = PassageDelegate(self.pane.list)
        delegate.covers = getattr(self.pane.list.itemDelegate(), "covers", None)  # whole-track hits keep their covers
        self.pane.list.setItemDelegate(delegate)
        window.waveform.selection_made.connect(self.search_selection)
        window.waveform.selection_cleared.connect(self.back_to_tracks)
        self.pane.play_hit.connect(self._play_from_passage)  # after the window's play_hit (connected first)
        self.pane.installEventFilter(self)
        self.find_action = QAction("Find passages like a clip…", self.pane)
        self.find_action.triggered.connect(self.choose_clip)
        self.pane.setContextMenuPolicy(Qt.ActionsContextMenu)
        self.pane.addAction(self.find_action)

    def bind_session(self, session) -> None:
        """Follow the window's library session (a new one after the library is reopened)."""
        self.session, self.active, self.token = session, False, None
        session.worker.request_done.connect(self._done)
        session.worker.request_failed.connect(self._failed)
        session.index_done.connect(self._after_first_pass)

    # -- queries -----------------------------------------------------------------------------------
    def search_selection(self, start: float, end: float) -> None:
        now = self.w.playback.current
        if now is None:
            return
        target = now.track_id if now.track_id is not None else now.path
        self._search(target, start, end, f"passages like {fmt_time(start)}-{fmt_time(end)} of {now.title or now.path}")

    def search_clip(self, path: str) -> None:
        self._search(os.path.abspath(path), None, None, f"passages like {os.path.basename(path)}")

    def _search(self, target, start, end, title: str) -> None:
        from desktop.core.passage_search import find_passages, passage_query  # lazy: stays out of the window's start-up

        library = self.session.library

        def find():
            q = passage_query(library, target, start, end)
            return q.label, find_passages(library, q, PASSAGES_K)

        self.active = True
        self.session.cancel_similar()
        self.pane.set_query(title)
        self.pane.show_message("Finding passages…")
        self.token = self.session.worker.request("passages", find)

    def _done(self, kind: str, token: int, result) -> None:
        if kind != "passages" or token != self.token or not self.active:
            return
        label, hits = result
        self.pane.set_query(f"passages like {label}")
        if hits:
            self.pane.show_hits(hits)
        else:
            self.pane.show_message(NO_PASSAGES)

    def _failed(self, kind: str, token: int, exc) -> None:
        if kind == "passages" and token == self.token and self.active:
            from desktop.ui.jobs import error_text  # lazy: stays out of the window's start-up

            self.pane.show_message(f"Cannot search for passages: {error_text(exc)}")

    def leave(self) -> None:
        """The pane goes back to whole-track similarity (the window asked for it)."""
        if self.active:
            self.active, self.token = False, None
            self.session.worker.forget("passages")
            if self.w.waveform.selection is not None:
                self.w.waveform.selection = None
                self.w.waveform.update()

    def back_to_tracks(self) -> None:
        """The selection was cleared: the pane shows whole-track similarity again."""
        if not self.active:
            return
        self.leave()
        now = self.w.playback.current
        target = now.track_id if now is not None and now.track_id is not None else self.similar.target
        if target is not None:
            self.similar.show(target, force=True)
        else:
            self.pane.show_message("Select a track to see what sounds like it.")

    def _play_from_passage(self, index: int) -> None:
        hits = self.pane.hits
        if self.active and 0 <= index < len(hits) and hasattr(hits[index], "start"):
            self.w.playback.seek(hits[index].start)

    # -- clips -------------------------------------------------------------------------------------
    def choose_clip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Find passages like a clip", "",
                                              "Audio files (*.wav *.flac *.mp3 *.ogg *.opus *.m4a *.aac);;"
                                              "All files (*)")
        if path:
            self.search_clip(path)

    def eventFilter(self, obj, event) -> bool:
        """A drop on the pane with Shift held searches passages like the dropped clip."""
        if obj is self.pane and event.type() == QEvent.Drop and event.modifiers() & Qt.ShiftModifier:
            paths = [p for p in local_paths(event.mimeData()) if os.path.isfile(p)]
            if paths:
                event.acceptProposedAction()
                self.search_clip(paths[0])
                return True
        return False

    # -- the second pass ---------------------------------------------------------------------------
    def _after_first_pass(self, summary) -> None:
        if not summary.cancelled:
            self.session.index_passages()
