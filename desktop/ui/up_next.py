"""The Up next panel: the real play queue, the playing track marked, drag to reorder, Delete to remove.

It shows `PlaybackController.queue` and edits it only through signals the window's listening
controller handles, so the queue stays the one source of truth. A station's reasons are the tooltips.
Its rows are read and built when it is shown: while another tab is in front a new queue (every track change)
only replaces what will be shown; reading up to 300 tracks from the catalog, building their rows and asking
for their covers cost the GUI thread 25-50 ms at each track change (bench/ui_stall.py --play).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.style import LIST_BACKGROUND, item_view_look

PLAYING_MARK = "▶ "
PATH_ROLE = Qt.UserRole + 2  # the row's audio file, to put its cover on it when the cover arrives


class UpNextPanel(QWidget):
    moved = Signal(int, int)  # from index, to index
    removed = Signal(list)  # indexes, highest first
    activated = Signal(int)  # play this index
    skip_clicked = Signal()
    undo_skip_clicked = Signal()
    stop_radio_clicked = Signal()
    context_menu = Signal(object, int)  # global position, index (-1: none)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("upNext")
        self.title = QLabel("Up next")
        self.title.setObjectName("upNextTitle")
        self.station_label = QLabel("")
        self.station_label.setObjectName("stationLabel")
        self.station_label.setWordWrap(True)
        self.list = QListWidget()
        self.list.setObjectName("upNextList")
        item_view_look(self.list, LIST_BACKGROUND)
        self.list.setDragDropMode(QAbstractItemView.InternalMove)
        self.list.setDefaultDropAction(Qt.MoveAction)
        self.list.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemActivated.connect(lambda item: self.activated.emit(self.list.row(item)))
        self.list.model().rowsMoved.connect(self._rows_moved)
        self.list.installEventFilter(self)
        self.skip_button = QPushButton("Skip: not this")
        self.skip_button.setToolTip("Skip the playing track; within its first 30 s the station steers away from it")
        self.undo_button = QPushButton("Undo skip")
        self.stop_button = QPushButton("Stop radio")
        self.skip_button.clicked.connect(self.skip_clicked)
        self.undo_button.clicked.connect(self.undo_skip_clicked)
        self.stop_button.clicked.connect(self.stop_radio_clicked)
        buttons = QHBoxLayout()
        for b in (self.skip_button, self.undo_button, self.stop_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.station_label)
        lay.addWidget(self.list, 1)
        lay.addLayout(buttons)
        self._refreshing = False
        self._pending: tuple | None = None  # the queue to show, kept while the panel is hidden
        self.covers = None
        self.set_station("", can_undo=False)

    # -- showing ----------------------------------------------------------------------------------
    def set_covers(self, covers) -> None:
        """Show each row's cover from this CoverCache (desktop.ui.covers), filled in as covers arrive."""
        self.covers = covers
        self.list.setIconSize(QSize(32, 32))
        covers.cover_ready.connect(self._cover_ready)

    def _cover_ready(self, path: str) -> None:
        pm = self.covers.pixmap(path)
        if pm is None:  # no cover: the row keeps its placeholder (most covers asked for are the Sounds-like hits')
            return
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(PATH_ROLE) == path:
                item.setIcon(QIcon(pm))

    def show_queue(self, count: int, rows, current: int | None) -> None:
        """Show a queue of `count` rows: `rows()` gives their labels, reasons (tooltips) and audio files (for
        covers), called now when the panel is visible, else when it is shown next; `current`: the playing row."""
        self.title.setText(f"Up next ({count})" if count else "Up next: nothing queued")
        self._pending = (rows, current)
        if self.isVisible():
            self._build()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._pending is not None:
            self._build()
        super().showEvent(event)

    def _build(self) -> None:
        """Rebuild the rows (the queue is short; a full rebuild keeps it simple and exact)."""
        rows, current = self._pending
        self._pending = None
        labels, reasons, paths = rows()
        covers = self.covers
        self._refreshing = True
        try:
            self.list.clear()
            for i, (label, reason) in enumerate(zip(labels, reasons)):
                item = QListWidgetItem((PLAYING_MARK if i == current else "") + label)
                item.setToolTip(reason or label)
                item.setData(Qt.UserRole, i)
                if covers is not None and i < len(paths) and paths[i]:
                    item.setData(PATH_ROLE, paths[i])
                    pm = covers.pixmap(paths[i])
                    if pm is not None:
                        item.setIcon(QIcon(pm))
                if i == current:
                    f = QFont(item.font())
                    f.setBold(True)
                    item.setFont(f)
                self.list.addItem(item)
            if current is not None and 0 <= current < self.list.count():
                self.list.scrollToItem(self.list.item(current), QAbstractItemView.PositionAtTop)
        finally:
            self._refreshing = False

    def set_station(self, text: str, can_undo: bool) -> None:
        self.station_label.setText(text)
        self.station_label.setVisible(bool(text))
        self.skip_button.setEnabled(True)
        self.undo_button.setVisible(can_undo)
        self.stop_button.setVisible(bool(text))

    # -- editing ----------------------------------------------------------------------------------
    def _rows_moved(self, _parent, start: int, end: int, _dest, row: int) -> None:
        if self._refreshing or start != end:
            return
        target = row - 1 if row > start else row  # Qt's row is the index *before* removal
        if target != start:
            self.moved.emit(start, target)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.list and event.type() == event.Type.KeyPress and (
            event.matches(QKeySequence.Delete) or event.key() in (Qt.Key_Delete, Qt.Key_Backspace)
        ):
            rows = sorted({self.list.row(i) for i in self.list.selectedItems()}, reverse=True)
            if rows:
                self.removed.emit(rows)
            return True
        return super().eventFilter(obj, event)

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        self.context_menu.emit(self.list.viewport().mapToGlobal(pos), self.list.row(item) if item else -1)
