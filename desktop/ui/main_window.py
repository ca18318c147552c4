"""The main window: layout and the wiring between the parts (menus and shortcuts: window_menus.py; the
status bar: status.WindowStatusBar).

Widgets render and forward; the core does the work in the session's worker threads. The logic lives
in controllers with explicit dependencies: `SimilarController` (which track the Sounds-like pane
follows), `LibraryController` (drops, adding, index results) and `NowPlayingController` (the playing
track in the transport, title and waveform; it holds the `PlaybackController`: queue and player).
`bind_session()` points them all at an open library, so reopening one is one call.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop import __version__
from desktop.core.errors import SoundalikeError
from desktop.core.formats import dialog_filter
from desktop.core.library import Library
from desktop.ui import frame_budget, queue_memory
from desktop.ui.covers import CoverCache, load_image_plugins
from desktop.ui.library_controller import LibraryController, drop_problem
from desktop.ui.library_model import LibraryModel
from desktop.ui.library_view import LibraryPanel
from desktop.ui.listening_ui import install as install_listening
from desktop.ui.map_controller import install as install_map
from desktop.ui.model_download import ModelControl
from desktop.ui.now_playing import NowPlayingController
from desktop.ui.passage_controller import PassageController
from desktop.ui.passage_view import SelectableWaveform
from desktop.ui.session import LibrarySession
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.similar_controller import SimilarController
from desktop.ui.similar_pane import SimilarPane, accept_paths
from desktop.ui.status import NoticeBar, WindowStatusBar
from desktop.ui.transport import Transport
from desktop.ui.window_menus import build_menus

log = logging.getLogger(__name__)


def music_folder() -> str:
    """Where Add folder starts: the desktop's music folder (XDG_MUSIC_DIR), else the home folder."""
    from platformdirs import user_music_dir

    folder = user_music_dir()
    return folder if folder and os.path.isdir(folder) else os.path.expanduser("~")


class MainWindow(QMainWindow):
    def __init__(self, library: Library, player=None, parent=None, ask_store=None):
        super().__init__(parent)
        self.setWindowTitle("Soundalike")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1200, 760)
        self.session: LibrarySession | None = None
        self.ui_settings = QSettings(str(library.settings.home / "window.ini"), QSettings.IniFormat)
        self.model = LibraryModel(library.catalog, self)
        self.panel = LibraryPanel(self.model)
        self.table = self.panel.view
        self.similar = SimilarPane()
        self.waveform = SelectableWaveform()
        self.transport = Transport()
        self.notices = NoticeBar()
        self.similar_controller = SimilarController(self.similar, self.notices, self)
        self.now_playing = NowPlayingController(self.transport, self.waveform, self.similar_controller,
                                                self.setWindowTitle, player, self)
        self.playback = self.now_playing.playback
        self.covers = CoverCache(library.settings.home / "cache" / "covers", self)
        self.similar.set_covers(self.covers)
        self._build_layout()
        self.setStatusBar(WindowStatusBar(self.playback.unavailable_reason, self.playback.available))
        sb = self.statusBar()
        self.index_status, self.embedder_label = sb.index_status, sb.embedder_label
        self.fallback_label, self.audio_label = sb.fallback_label, sb.audio_label
        sb.settings_requested.connect(self.open_settings)
        self.models = ModelControl(self)  # model download in the status bar, first-run offer
        self.library_controller = LibraryController(self.model, self.index_status, self.notices,
                                                    self.similar_controller, self.statusBar().showMessage, self)
        self.library_controller.first_scan.connect(self.panel.set_scanning)
        self.ask_store = ask_store  # (message) -> bool: use the embedded store when the server is unreachable
        self._files: list[str] = []
        self.exit_code = 0
        self.menus = build_menus(self)
        self.rescan_action, self.replaygain_actions = self.menus.rescan, self.menus.replaygain
        self._connect_widgets()
        self.passages = PassageController(self)
        self.bind_session(LibrarySession(library, self))
        install_listening(self)
        install_map(self)
        self.restore_ui_state()
        self.table.setFocus(Qt.OtherFocusReason)  # keys drive the player, not the filter box
        self._closed = False

    def bind_session(self, session: LibrarySession) -> None:
        """Point the window and its controllers at an open library (at start, and when reopened)."""
        self.session = session
        self.library_controller.bind_session(session)
        self.similar_controller.bind_session(session)
        self.now_playing.bind_session(session)
        self.passages.bind_session(session)
        session.embedder_ready.connect(self.statusBar().show_embedder)
        session.store_checked.connect(self._on_store_checked)
        self.embedder_label.setText(f"{session.library.settings.embedder} · loading…")

    # -- layout ---------------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.panel)
        self.splitter.addWidget(self.similar)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([760, 440])
        self.splitter.setChildrenCollapsible(False)
        self.waveform.setFixedHeight(72)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.transport)
        lay.addWidget(self.waveform)
        lay.addWidget(self.notices)
        lay.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def set_replaygain(self, mode: str) -> None:
        """Apply a ReplayGain mode now (to the loaded track too) and remember it."""
        self.playback.player.replaygain = mode  # applies to the loaded track too
        self.replaygain_actions[mode].setChecked(True)
        self.ui_settings.setValue("replaygain", mode)

    def _connect_widgets(self) -> None:
        t, pb = self.transport, self.playback
        for signal, slot in ((t.play_pause_clicked, self.play_or_pause), (t.stop_clicked, pb.stop),
                             (t.previous_clicked, pb.previous), (t.next_clicked, pb.next), (t.seek_requested, pb.seek),
                             (t.volume_changed, pb.set_volume), (self.waveform.seek_requested, pb.seek),
                             (pb.state_changed, t.set_state)):
            signal.connect(slot)
        pb.current_changed.connect(lambda now: t.set_cover(self.covers.pixmap(now.path) if now else None))
        self.covers.cover_ready.connect(self._cover_ready)
        pb.current_changed.connect(self.update_transport)
        self.model.modelReset.connect(self.update_transport)
        self.model.rowsInserted.connect(self.update_transport)
        self.update_transport()
        pb.error.connect(lambda msg: self.notices.add("Playback problem", [msg]))
        lib, sim = self.library_controller, self.similar_controller
        sim.cached_track = self.model.cached_track
        self.table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: sim.select(self.model.track_id(cur.row())))
        self.table.track_activated.connect(self.play_row)
        self.panel.empty.add_folder_clicked.connect(self.add_folder_dialog)
        self.table.files_dropped.connect(lambda paths, mods: lib.handle_drop(paths, mods, "library"))
        self.similar.example_dropped.connect(lambda paths: lib.handle_drop(paths, Qt.NoModifier, "similar"))
        self.similar.play_hit.connect(self.play_hit)
        self.similar.play_all.connect(lambda: self.play_hit(0))
        self.similar.play_example.connect(lambda path: self.playback.play_items([path]))
        self.index_status.cancel_clicked.connect(lib.cancel)
        self._row_before_reset = -1
        self.model.modelAboutToBeReset.connect(lambda: setattr(self, "_row_before_reset",
                                                               self.table.currentIndex().row()))
        self.model.modelReset.connect(self.reselect_after_reset)

    def play_or_pause(self) -> None:
        """Play/pause the loaded track; with none loaded, play the selected track (or the first)."""
        if self.playback.current is not None:
            self.playback.play_pause()
        elif self.model.rowCount():
            row = self.table.currentIndex().row()
            self.play_row(row if row >= 0 else 0)

    def update_transport(self, *_args) -> None:
        self.transport.set_available(self.playback.current is not None, self.model.rowCount() > 0)

    def media_play(self) -> None:
        if self.playback.state != "playing":
            self.play_or_pause()

    def media_pause(self) -> None:
        if self.playback.state == "playing":
            self.playback.play_pause()

    def _cover_ready(self, path: str) -> None:
        if self.playback.is_current(path):
            self.transport.set_cover(self.covers.pixmap(path))

    def set_volume(self, v: float) -> None:
        self.playback.set_volume(v)
        self.transport.set_volume(self.playback.volume)

    # -- menus ----------------------------------------------------------------------------------------
    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a music folder", music_folder())
        if folder:
            self.library_controller.add_paths([folder])

    def add_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add music files", "", dialog_filter())
        if files:
            self.library_controller.handle_drop(files, Qt.NoModifier, "library")

    def rescan(self) -> None:
        self.library_controller.rescan()

    def open_settings(self) -> None:
        old = self.session.library.settings
        dlg = SettingsDialog(old, self, download=self.models.download, downloader=self.models.downloader)
        if dlg.exec() and dlg.result_settings is not None and dlg.result_settings != old:
            self.reopen_library()  # applied at once; indexing in progress resumes after the reopen
            self.statusBar().showMessage("Settings applied", 4000)

    def reopen_library(self, start: bool = True, **overrides) -> bool:
        """Close the library and open it again with the saved settings (e.g. another embedder)."""
        home = self.session.library.settings.home
        self.session.close()
        self.session.deleteLater()
        try:
            library = Library.open(home, store_in_child=True, **overrides)
        except SoundalikeError as e:
            QMessageBox.critical(self, "Soundalike cannot reopen the library", str(e))
            self.close()
            return False
        self.bind_session(LibrarySession(library, self))
        if start:
            self.start()
        return True

    def about(self) -> None:
        QMessageBox.about(
            self, "About Soundalike",
            f"<h3>Soundalike {__version__}</h3><p>A music player that knows which tracks sound alike.</p>"
            f"<p>Library: {self.session.library.settings.home}<br>Embedder: {self.embedder_label.text()}</p>")

    # -- drops anywhere else in the window (Ctrl/Alt: search by example) ----------------------------------
    def dragEnterEvent(self, event) -> None:
        accept_paths(event)

    def dropEvent(self, event) -> None:
        if paths := accept_paths(event):
            self.library_controller.handle_drop(paths, event.modifiers(), "window")

    # -- startup -------------------------------------------------------------------------------------
    def start(self, files=()) -> None:
        """After the first paint: check the configured Qdrant server (in the library thread), then load the
        embedder in the background, resume indexing and open `files`."""
        self._files = [os.path.abspath(f) for f in files or ()]
        if self.session.library.settings.qdrant_url:
            self.session.check_store()  # answers with store_checked
        else:
            self._resume()

    def _on_store_checked(self, problem: str) -> None:
        if self._closed:  # the probe answered after the window was closed
            return
        if problem:
            if self.ask_store is None or not self.ask_store(problem):
                self.exit_code = 1  # the user chose to quit rather than use the embedded store
                self.close()
                return
            if not self.reopen_library(start=False, qdrant_url=""):  # the embedded store, for this session
                return
        self._resume()

    def _resume(self) -> None:
        self.session.load_embedder()
        load_image_plugins()  # ~8 ms once, here after the first paint rather than beside a played track's repaint
        self.models.maybe_offer()
        if self.session.catalog.counts()["pending"]:
            self.session.index_pending()  # the passage pass follows it
        elif self.session.library.active_key:  # the passage pass resumes on its own (interrupted, or the
            self.session.index_passages()  # library was indexed with --no-passages); it plans off this thread
        files, self._files = self._files, []
        if files:
            self.open_files(files)
        else:
            self._restore_last_track()

    def _restore_last_track(self) -> None:
        if queue_memory.restore(self):  # Up next and the station as they were
            return
        item = self.ui_settings.value("last_item")
        if item in (None, ""):
            return
        item = int(item) if str(item).isdigit() else str(item)
        if isinstance(item, int):
            row = self.model.row_of(item)
            if row is None:
                return
            self.table.select_row(row)
        elif not os.path.exists(item):
            return
        self.playback.load_item(item, float(self.ui_settings.value("last_position", 0.0) or 0.0))

    def open_files(self, paths: list[str]) -> None:
        """Files named on the command line: play audio files (not added), add folders."""
        folders = [p for p in paths if os.path.isdir(p)]
        files = [p for p in paths if not os.path.isdir(p)]
        if folders:
            self.library_controller.add_paths(folders)
        ok = [p for p in files if not drop_problem(p, True)]
        bad = [f"{os.path.basename(p)}: {drop_problem(p, True)}" for p in files if p not in ok]
        if bad:
            self.notices.add("Some files could not be opened", bad)
        if ok:
            self.playback.play_items(ok)
            self.similar_controller.show(ok[0])

    # -- playing -------------------------------------------------------------------------------------
    def play_row(self, row: int) -> None:
        ids = self.model.ids()
        if 0 <= row < len(ids):
            self.playback.play_items(ids, row)

    def play_hit(self, index: int) -> None:
        hits = self.similar.hits
        if 0 <= index < len(hits):
            self.playback.play_items([h.track_id for h in hits], index)

    def reselect_after_reset(self) -> None:
        """After the id list was reloaded, keep the same track selected (if it is still listed), scrolled into view
        only if it moved: a reload that only added tracks (a scan) leaves the table where the user scrolled it."""
        selected = self.similar_controller.selected_id
        row = self.model.row_of(selected) if selected is not None else None
        if row is not None:
            moved = row != self._row_before_reset
            QTimer.singleShot(0, lambda: self.table.select_row(row, scroll=moved))

    # -- state across runs ---------------------------------------------------------------------------
    def restore_ui_state(self) -> None:
        s = self.ui_settings
        if s.value("geometry") is not None:
            self.restoreGeometry(s.value("geometry"))
        if s.value("splitter") is not None:
            self.splitter.restoreState(s.value("splitter"))
        if s.value("header") is not None:
            header = self.table.horizontalHeader()
            header.restoreState(s.value("header"))
            self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        mode = str(s.value("replaygain", "track"))
        self.set_replaygain(mode if mode in self.replaygain_actions else "track")
        volume = float(s.value("volume", 0.8))
        self.playback.set_volume(volume)
        self.transport.set_volume(self.playback.volume)

    def save_ui_state(self) -> None:
        s = self.ui_settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("splitter", self.splitter.saveState())
        s.setValue("header", self.table.horizontalHeader().saveState())
        s.setValue("volume", self.playback.volume)
        now = self.playback.current
        if now is not None:
            s.setValue("last_item", now.track_id if now.track_id is not None else now.path)
            s.setValue("last_position", self.playback.position)
        s.sync()

    def event(self, e) -> bool:
        if e.type() == QEvent.UpdateRequest:  # the window's repaint pass: long lists keep to a frame's budget
            with frame_budget.frame():
                return super().event(e)
        return super().event(e)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save state, stop playback, cancel jobs and stop the threads (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.save_ui_state()
        except Exception:
            log.exception("saving the window state")
        try:
            queue_memory.save(self)
        except Exception:
            log.exception("saving the play queue")
        self.playback.close()
        self.covers.close()
        self.models.close()
        self.session.close()
