"""Wires the map tab to the library: computes the map off the GUI thread, plays and queues from it.

Reading the library (the cached map, or the vectors a new one needs, and the tracks' tags) is a
request on the session's library thread, as every library read is; the layout itself is pure numpy
and runs on a thread of its own so a long layout never holds up a Sounds-like query. The map is read
when its tab is first shown and again after each index run while it is shown (else when next shown).
"""

from __future__ import annotations

import functools
import logging
import os
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence

from desktop.core.library_map import LibraryMap, MapWork, plan
from desktop.core.thread_priority import lower_this_thread
from desktop.ui.main_thread import MainThreadCalls
from desktop.ui.map_view import MapPanel

log = logging.getLogger(__name__)


def read_map(library):
    """(cached map or the work that makes it, {id: (artist - title, genre, album, folder)})."""
    found = plan(library)
    if found is None:
        return None, {}
    ids = found.ids.tolist() if isinstance(found, LibraryMap) else found.ids
    tracks = library.catalog.many(ids)
    info = {}
    for tid, t in tracks.items():
        label = f"{t.artist} - {t.title}" if t.artist else (t.title or os.path.basename(t.path))
        info[tid] = (label, t.genre or "", t.album or "", os.path.basename(os.path.dirname(t.path)))
    return found, info


def lay_out(work: MapWork, info: dict, session, answer) -> None:
    """The layout thread: seconds of numpy, then `answer(map or None, info or why, session)`."""
    lower_this_thread()  # below the GUI thread
    try:
        m = work.run()
    except Exception as e:  # noqa: BLE001 - shown in the tab, never raised into Qt
        log.exception("map layout failed")
        m, info = None, str(e)
    answer(m, info, session)


class MapController(QObject):
    computed = Signal(object, object, object)  # LibraryMap, info, the session it is of (laid out off the GUI thread)
    failed = Signal(str)

    def __init__(self, window, panel: MapPanel):
        super().__init__(window)
        self.w, self.panel = window, panel
        self.map: LibraryMap | None = None
        self.info: dict = {}
        self.stale = True
        self._busy = False
        self._worker = None
        self._session = None
        self._calls = MainThreadCalls(self)  # the layout thread's answer, run on the GUI thread
        panel.canvas.play_requested.connect(self.play)
        panel.canvas.queue_requested.connect(self.queue)
        panel.colouring_changed.connect(lambda _c: self._show_labels())
        window.playback.current_changed.connect(lambda _now: self._show_playing())
        self.computed.connect(self._show)
        self.failed.connect(lambda text: panel.set_status(f"No map: {text}"))

    # -- reading and computing -------------------------------------------------------------------------
    def visible(self) -> bool:
        return self.w.side_tabs.currentWidget() is self.panel

    def library_changed(self) -> None:
        self.stale = True
        if self.visible():
            self.refresh()

    def refresh(self) -> None:
        session = self.w.session
        if session is None:
            return
        if session is not self._session:  # a reopened library: listen to its thread and its index runs
            session.worker.request_done.connect(self._read)
            session.worker.request_failed.connect(self._read_failed)
            session.index_done.connect(lambda _s: self.library_changed())
            self._session, self._busy = session, False  # what the old library's thread owed is forgotten
        if self._busy:
            return
        self._busy, self.stale = True, False
        self.panel.set_status("Reading the map…")
        session.worker.request("map", lambda: read_map(session.library))

    def _read(self, kind: str, _token: int, result) -> None:
        if kind != "map":
            return
        found, info = result
        if found is None:
            self._busy = False
            self.panel.set_status("Nothing indexed yet: add music to see its map.")
            self.panel.canvas.set_points([], [], [], [])
            return
        if isinstance(found, LibraryMap):
            self._show(found, info, self._session)
            return
        self.panel.set_status(f"Laying out {len(found.ids)} tracks…")
        answer = functools.partial(self._calls.call, self._laid_out)  # bound here: the thread touches no Qt
        threading.Thread(target=lay_out, args=(found, info, self._session, answer), name="soundalike-map",
                         daemon=True).start()

    def _laid_out(self, m: LibraryMap | None, info, session) -> None:
        if m is None:
            self._busy = False  # the layout has ended: the next refresh tries again
            self.failed.emit(info)
        else:
            self.computed.emit(m, info, session)

    def _read_failed(self, kind: str, _token: int, exc) -> None:
        if kind == "map":
            self._busy = False
            self.panel.set_status(f"No map: {exc}")

    def _show(self, m: LibraryMap, info: dict, session) -> None:
        if session is not self._session:
            return  # laid out for a library that has been reopened since
        self._busy = False
        self.map, self.info = m, info
        ids = [int(t) for t in m.ids]
        self.panel.canvas.set_points(ids, m.xy, [info.get(t, (str(t),))[0] for t in ids], self._labels(ids))
        placed = f" · {m.placed} placed beside their neighbours since the last full layout" if m.placed else ""
        self.panel.set_status(f"{len(m)} tracks{placed}")
        self._show_playing()
        if self.stale and self.visible():
            self.refresh()

    def _labels(self, ids: list[int]) -> list[str]:
        column = {"genre": 1, "album": 2, "folder": 3}[self.panel.colouring.currentData()]
        return [self.info.get(t, ("", "", "", ""))[column] for t in ids]

    def _show_labels(self) -> None:
        if self.map is not None:
            self.panel.canvas.set_labels(self._labels([int(t) for t in self.map.ids]))

    def _show_playing(self) -> None:
        now = self.w.playback.current
        tid = now.track_id if now is not None else None
        near = self.map.neighbours_of(tid) if self.map is not None and tid is not None else []
        self.panel.canvas.set_playing(tid, near)

    # -- actions -----------------------------------------------------------------------------------------
    def play(self, track_id: int) -> None:
        self.w.listening.play([track_id])

    def queue(self, ids: list[int]) -> None:
        self.w.listening.add_to_queue(ids)
        self.w.statusBar().showMessage(f"Queued {len(ids)} track{'s' if len(ids) != 1 else ''} from the map", 6000)

    def show_tab(self) -> None:
        self.w.side_tabs.setCurrentWidget(self.panel)
        self.panel.canvas.setFocus(Qt.ShortcutFocusReason)


def install(window) -> MapController:
    """Add the Map tab beside Sounds like / Up next and View > Library map (Ctrl+M)."""
    panel = MapPanel()
    window.side_tabs.addTab(panel, "Map")
    controller = MapController(window, panel)
    window.side_tabs.currentChanged.connect(lambda _i: controller.visible() and controller.stale
                                            and controller.refresh())
    action = QAction("Library &map", window)
    action.setShortcuts([QKeySequence("Ctrl+M")])
    action.setStatusTip("The whole library as a map of how it sounds")
    action.triggered.connect(controller.show_tab)
    window.addAction(action)
    bar = window.menuBar()
    help_menu = next((a for a in bar.actions() if a.text() == "&Help"), None)
    view = bar.addMenu("&View") if help_menu is None else None
    if view is None:
        from PySide6.QtWidgets import QMenu

        view = QMenu("&View", bar)
        bar.insertMenu(help_menu, view)
    view.addAction(action)
    window.map_panel, window.map_controller = panel, controller
    return controller
