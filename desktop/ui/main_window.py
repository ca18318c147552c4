"""The main window: layout, menus, shortcuts, status bar, and the wiring between the parts.

Widgets render and forward; the core does the work in the session's worker threads. The window's
own logic (which track the similar pane follows, what a drop means) lives in `WindowActions`.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from desktop import __version__
from desktop.core.errors import SoundalikeError
from desktop.core.library import Library
from desktop.core.scan import AUDIO_EXTENSIONS
from desktop.ui.library_model import LibraryModel
from desktop.ui.library_view import LibraryPanel
from desktop.ui.session import LibrarySession
from desktop.ui.similar_pane import SimilarPane, local_paths
from desktop.ui.status import IndexStatus, NoticeBar
from desktop.ui.transport import PlaybackController, Transport
from desktop.ui.waveform_view import WaveformView
from desktop.ui.window_actions import WindowActions

log = logging.getLogger(__name__)
SEEK_STEP_S = 5.0
VOLUME_STEP = 0.05


class MainWindow(QMainWindow, WindowActions):
    def __init__(self, library: Library, player=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Soundalike")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1200, 760)
        self.session = LibrarySession(library, self)
        self.ui_settings = QSettings(str(library.settings.home / "window.ini"), QSettings.IniFormat)
        self.model = LibraryModel(library.catalog, self)
        self.panel = LibraryPanel(self.model)
        self.table = self.panel.view
        self.similar = SimilarPane()
        self.waveform = WaveformView()
        self.transport = Transport()
        self.notices = NoticeBar()
        self.playback = PlaybackController(self.resolve_item, player, self)
        self._build_layout()
        self._build_status_bar()
        self._build_menus()
        self._init_actions()
        self._connect_widgets()
        self._connect_session()
        self.restore_ui_state()
        self._closed = False

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

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.index_status = IndexStatus()
        sb.addWidget(self.index_status, 1)
        self.fallback_label = QLabel()
        self.fallback_label.setObjectName("fallbackNotice")
        self.fallback_label.setVisible(False)
        self.audio_label = QLabel("No audio output")
        self.audio_label.setObjectName("noAudio")
        self.audio_label.setToolTip(f"Playback is silent: {self.playback.unavailable_reason}. "
                                    "Everything else works.")
        self.embedder_label = QLabel(f"{self.session.library.settings.embedder} · loading…")
        self.embedder_label.setObjectName("embedderLabel")
        self.embedder_label.setToolTip("The embedder that analyses your music, and where it runs")
        for w in (self.fallback_label, self.audio_label, self.embedder_label):
            sb.addPermanentWidget(w)
        self.audio_label.setVisible(not self.playback.available)  # after reparenting, which hides

    def _action(self, menu, text: str, slot, shortcuts=(), tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcuts:
            a.setShortcuts([QKeySequence(s) for s in shortcuts])
            a.setShortcutContext(Qt.WindowShortcut)
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        if menu is not None:
            menu.addAction(a)
        self.addAction(a)  # shortcuts work even when the menu bar is hidden
        return a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        self._action(m, "Add &folder…", self.add_folder_dialog, ["Ctrl+O"])
        self._action(m, "Add fi&les…", self.add_files_dialog, ["Ctrl+Shift+O"])
        self.rescan_action = self._action(m, "&Rescan library", self.rescan, ["F5"])
        m.addSeparator()
        self._action(m, "&Settings…", self.open_settings, ["Ctrl+,"])
        m.addSeparator()
        self._action(m, "&Quit", self.close, [QKeySequence.Quit, "Ctrl+Q"])
        m = mb.addMenu("&Playback")
        pb = self.playback
        self._action(m, "Play / Pause", pb.play_pause, [Qt.Key_Space, Qt.Key_MediaTogglePlayPause])
        self._action(None, "Play", self._media_play, [Qt.Key_MediaPlay])
        self._action(None, "Pause", self._media_pause, [Qt.Key_MediaPause])
        self._action(m, "Stop", pb.stop, [Qt.Key_MediaStop])
        self._action(m, "Previous", pb.previous, ["Ctrl+Left", Qt.Key_MediaPrevious])
        self._action(m, "Next", pb.next, ["Ctrl+Right", Qt.Key_MediaNext])
        m.addSeparator()
        self._action(m, "Seek back 5 s", lambda: pb.seek_by(-SEEK_STEP_S), [Qt.Key_Left])
        self._action(m, "Seek forward 5 s", lambda: pb.seek_by(SEEK_STEP_S), [Qt.Key_Right])
        self._action(m, "Volume up", lambda: self.set_volume(pb.volume + VOLUME_STEP), ["Ctrl+Up", Qt.Key_VolumeUp])
        self._action(m, "Volume down", lambda: self.set_volume(pb.volume - VOLUME_STEP),
                     ["Ctrl+Down", Qt.Key_VolumeDown])
        self._action(None, "Find", lambda: self.panel.filter_edit.setFocus(Qt.ShortcutFocusReason), ["Ctrl+F"])
        m = mb.addMenu("&Help")
        self._action(m, "&About Soundalike", self.about)

    def _connect_widgets(self) -> None:
        t, pb = self.transport, self.playback
        t.play_pause_clicked.connect(pb.play_pause)
        t.stop_clicked.connect(pb.stop)
        t.previous_clicked.connect(pb.previous)
        t.next_clicked.connect(pb.next)
        t.seek_requested.connect(pb.seek)
        t.volume_changed.connect(pb.set_volume)
        self.waveform.seek_requested.connect(pb.seek)
        pb.state_changed.connect(t.set_state)
        pb.position_changed.connect(self._on_position)
        pb.current_changed.connect(self.on_current_changed)
        pb.error.connect(lambda msg: self.notices.add("Playback problem", [msg]))
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self.on_row_selected(cur.row()))
        self.table.track_activated.connect(self.play_row)
        self.table.files_dropped.connect(lambda paths, mods: self.handle_drop(paths, mods, "library"))
        self.similar.example_dropped.connect(lambda paths: self.handle_drop(paths, Qt.NoModifier, "similar"))
        self.similar.play_hit.connect(self.play_hit)
        self.similar.play_all.connect(lambda: self.play_hit(0))
        self.similar.play_example.connect(lambda path: self.playback.play_items([path]))
        self.index_status.cancel_clicked.connect(self.session.cancel)
        self.model.modelReset.connect(self.reselect_after_reset)

    def _connect_session(self) -> None:
        s = self.session
        s.embedder_ready.connect(self.on_embedder)
        s.job_started.connect(self.on_job_started)
        s.progress.connect(self.index_status.show_progress)
        s.track_done.connect(self.on_track_done)
        s.scan_done.connect(self.on_scan_done)
        s.index_done.connect(self.on_index_done)
        s.job_error.connect(lambda msg: self.notices.add("Something went wrong", [msg]))
        s.idle.connect(self.on_idle)
        s.similar_ready.connect(self.on_similar_ready)
        s.similar_failed.connect(self.on_similar_failed)
        s.peaks_ready.connect(self.on_peaks)
        s.peaks_failed.connect(lambda _p, msg: self.waveform.set_message(f"No waveform: {msg}"))

    def _media_play(self) -> None:
        if self.playback.state != "playing":
            self.playback.play_pause()

    def _media_pause(self) -> None:
        if self.playback.state == "playing":
            self.playback.play_pause()

    def _on_position(self, pos: float, dur: float) -> None:
        self.transport.set_position(pos, dur)
        self.waveform.set_duration(dur)
        self.waveform.set_position(pos)

    def set_volume(self, v: float) -> None:
        self.playback.set_volume(v)
        self.transport.set_volume(self.playback.volume)

    # -- status bar ----------------------------------------------------------------------------------
    def on_embedder(self, label: str, notice: str) -> None:
        self.embedder_label.setText(label)
        self.fallback_label.setVisible(bool(notice))
        if notice:
            self.fallback_label.setText("⚠ Wav2Vec2 weights missing: using spectral" if "Wav2Vec2" in notice
                                        else "⚠ " + notice[:60])
            self.fallback_label.setToolTip(notice)

    # -- menus ----------------------------------------------------------------------------------------
    def add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a music folder")
        if folder:
            self.add_paths([folder])

    def add_files_dialog(self) -> None:
        exts = " ".join(f"*{e}" for e in sorted(AUDIO_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, "Add music files", "", f"Audio files ({exts});;All files (*)")
        if files:
            self.handle_drop(files, Qt.NoModifier, "library")

    def rescan(self) -> None:
        if self.session.rescan() is None:
            self.statusBar().showMessage("No folders in the library yet: use File → Add folder…", 5000)

    def open_settings(self) -> None:
        from desktop.ui.settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.session.library.settings, self)
        if dlg.exec() and dlg.result_settings is not None:
            answer = QMessageBox.question(
                self, "Settings saved", "Reopen the library now to use the new settings?\n"
                "(Indexing in progress is stopped and resumed afterwards.)")
            if answer == QMessageBox.Yes:
                self.reopen_library()

    def reopen_library(self) -> None:
        """Close the library and open it again with the saved settings (e.g. another embedder)."""
        home = self.session.library.settings.home
        self.session.close()
        self.session.deleteLater()
        try:
            library = Library.open(home)
        except SoundalikeError as e:
            QMessageBox.critical(self, "Soundalike cannot reopen the library", str(e))
            self.close()
            return
        self.session = LibrarySession(library, self)
        self.model.set_catalog(self.session.catalog)
        self.index_status.cancel_clicked.disconnect()
        self.index_status.cancel_clicked.connect(self.session.cancel)
        self.index_status.finish()
        self._connect_session()
        self.embedder_label.setText(f"{self.session.library.settings.embedder} · loading…")
        self.start()

    def about(self) -> None:
        QMessageBox.about(
            self, "About Soundalike",
            f"<h3>Soundalike {__version__}</h3><p>A music player that knows which tracks sound alike.</p>"
            f"<p>Library: {self.session.library.settings.home}<br>Embedder: {self.embedder_label.text()}</p>")

    # -- drops anywhere else in the window (Ctrl/Alt: search by example) ----------------------------------
    def dragEnterEvent(self, event) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.handle_drop(paths, event.modifiers(), "window")

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
        self.playback.close()
        self.session.close()
