"""The library panel: a filter box over the sortable, lazily filled track table.

Typing filters title/artist/album/genre (debounced, then one SQL query for the matching ids). Files
and folders dropped on the table are handed to the window to add and index; with Ctrl or Alt held
they are a query by example instead.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.library_model import COLUMNS, LibraryModel
from desktop.ui.quiet_widgets import RowHeader
from desktop.ui.similar_pane import accept_paths
from desktop.ui.style import item_view_look
from desktop.ui.table_painter import RowPainter

FILTER_DELAY_MS = 150


def _accept_files(widget, event) -> None:
    """dragEnterEvent/dragMoveEvent of a widget that takes dropped files and folders."""
    accept_paths(event)


def _drop_files(widget, event) -> None:
    """dropEvent of a widget that takes dropped files: its `files_dropped(paths, modifiers)` says which."""
    if paths := accept_paths(event):
        widget.files_dropped.emit(paths, event.modifiers())


COLUMN_WIDTHS = {"track_number": 36, "artist": 110, "album_artist": 100, "album": 110, "genre": 72, "year": 52,
                 "duration": 56, "status": 70}
# Shown first when the table is narrow (Title always): who and how long before where from and when.
COLUMN_PRIORITY = ("artist", "duration", "track_number", "album", "year", "genre", "album_artist", "status")
TITLE_MIN = 130


class LibraryView(QTableView):
    files_dropped = Signal(list, object)  # paths, keyboard modifiers
    track_activated = Signal(int)  # row (double-click or Enter)

    def __init__(self, model: LibraryModel, parent=None):
        super().__init__(parent)
        self.setHorizontalHeader(RowHeader(self))  # a new selected row does not repaint the header
        self.setModel(model)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DropOnly)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)  # catalog order until a header click
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        item_view_look(self)  # the palette's Base and AlternateBase are the table's colours
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        header.setStretchLastSection(False)
        header.setSectionsMovable(True)
        # Title stretches; the rest keep their widths and, where the table is too narrow for all of them,
        # the least important are hidden (fit_columns): never a horizontal scroll bar.
        self.widths = dict(COLUMN_WIDTHS)
        for i, (name, _) in enumerate(COLUMNS):
            self.setColumnWidth(i, self.widths.get(name, 100))
        header.setSectionResizeMode([name for name, _ in COLUMNS].index("title"), QHeaderView.Stretch)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        # The vertical bar always takes its room: when a growing list first overflows the view, its columns
        # do not narrow (every text laid out again and the whole table repainted, ~10 ms, mid-scan).
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOn)
        header.sectionResized.connect(self._section_resized)
        self.doubleClicked.connect(self._double_clicked)
        self.rows_painter = RowPainter()  # the rows are drawn in one pass, their texts kept (table_painter)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.rows_painter.paint(self, event)

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.FontChange:
            self.rows_painter.forget_texts()
        super().changeEvent(event)

    def _section_resized(self, index: int, _old: int, new: int) -> None:
        name = COLUMNS[index][0]
        if new > 0 and name != "title" and not self.horizontalHeader().isSectionHidden(index):
            self.widths[name] = new  # the user's width is kept for when it is shown again

    def fit_columns(self) -> None:
        """Show the columns by priority while they fit beside a Title of at least TITLE_MIN px."""
        header, names = self.horizontalHeader(), [name for name, _ in COLUMNS]
        room = self.viewport().width() - TITLE_MIN
        for name in COLUMN_PRIORITY:
            i = names.index(name)
            width = self.widths.get(name, 100)
            fits = width <= room
            if fits:
                room -= width
            if header.isSectionHidden(i) == fits:
                header.setSectionHidden(i, not fits)
                if fits:
                    self.setColumnWidth(i, width)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.fit_columns()

    def _double_clicked(self, index) -> None:
        self.track_activated.emit(index.row())

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentIndex().isValid():
            self.track_activated.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)

    def select_row(self, row: int, scroll: bool = True) -> None:
        """Make `row` the selected, current row, centred in view (`scroll`) or with the view left where it is
        (Qt scrolls to a new current index by itself: the scroll bar's value is put back)."""
        ix = self.model().index(row, 0)
        bar = self.verticalScrollBar()
        where = bar.value()
        self.selectionModel().setCurrentIndex(ix, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        if scroll:
            self.scrollTo(ix, QAbstractItemView.PositionAtCenter)
        else:
            bar.setValue(where)

    # -- drops: files to add (or, with Ctrl/Alt, to search by) ---------------------------------------
    dragEnterEvent = dragMoveEvent = _accept_files
    dropEvent = _drop_files


class EmptyLibrary(QWidget):
    """What a new user sees instead of an empty table: one clear action, and where to drop music."""

    add_folder_clicked = Signal()
    files_dropped = Signal(list, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("emptyLibrary")
        self.setAcceptDrops(True)
        title = QLabel("Your library is empty")
        title.setObjectName("emptyTitle")
        self.button = QPushButton("Add your music folder…")
        self.button.setObjectName("addMusicButton")
        self.button.setFocusPolicy(Qt.TabFocus)
        self.button.clicked.connect(self.add_folder_clicked)
        # Lines broken by hand: a word-wrapped label centred in a layout gets the height of a narrower one, and
        # the first-run screenshot showed its first and last lines cut in half.
        hint = QLabel("or drop folders and audio files here.\nSoundalike listens to every track once,\n"
                      "then finds the ones that sound alike.")
        hint.setObjectName("emptyHint")
        hint.setAlignment(Qt.AlignCenter)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        for w in (title, self.button, hint):
            lay.addWidget(w, 0, Qt.AlignHCenter)
        lay.addStretch(2)

    dragEnterEvent = dragMoveEvent = _accept_files
    dropEvent = _drop_files


class LibraryPanel(QWidget):
    """Filter box + table (or, while the library is empty, a first-run invitation) + a summary line."""

    def __init__(self, model: LibraryModel, parent=None):
        super().__init__(parent)
        self.model = model
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filterBox")
        self.filter_edit.setPlaceholderText("Filter by title, artist, album, genre or folder…")
        self.filter_edit.setClearButtonEnabled(True)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FILTER_DELAY_MS)
        self._timer.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(lambda _t: self._timer.start())
        self.filter_edit.returnPressed.connect(self._filter_entered)
        self.view = LibraryView(model)
        self.empty = EmptyLibrary()
        self.empty.files_dropped.connect(self.view.files_dropped)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty)
        self.summary = QLabel()
        self.summary.setObjectName("librarySummary")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 4, 4)
        lay.addWidget(self.filter_edit)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.summary)
        model.reloaded.connect(self.update_summary)
        model.reloaded.connect(self._reloaded)
        self._to_first_match = False  # Enter was pressed in the filter before its matches were listed
        self._scanning = ""  # where a first scan looks, while it runs
        self.update_summary()

    def apply_filter(self) -> None:
        self._timer.stop()
        self.model.set_filter(self.filter_edit.text())

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def clear_filter(self) -> None:
        """Esc: show the whole library again and give the keys back to the table (and so the player)."""
        if self.filter_edit.text():
            self.filter_edit.clear()
            self.apply_filter()
        self.view.setFocus(Qt.ShortcutFocusReason)

    def _filter_entered(self) -> None:
        """Enter in the filter box: filter now and move to the first match, ready for Enter to play (once
        the matches are listed: the list is read off the GUI thread)."""
        self.apply_filter()
        self.view.setFocus(Qt.ShortcutFocusReason)
        self._to_first_match = self.model.loading
        if not self._to_first_match:
            self._select_first_match()

    def _reloaded(self) -> None:
        if self._to_first_match and not self.model.loading:
            self._to_first_match = False
            self._select_first_match()

    def _select_first_match(self) -> None:
        if self.model.rowCount() and not self.view.currentIndex().isValid():
            self.view.select_row(0)

    def set_scanning(self, where: str) -> None:
        """A first scan started ('' when it ended): the table shows at once, saying where it looks, and fills as
        the scan finds tracks (the page switch is paid at the user's click, not amid the scan's work)."""
        if where != self._scanning:
            self._scanning = where
            self.update_summary()

    def update_summary(self) -> None:
        n = self.model.rowCount()
        scanning = self._scanning
        first_run = n == 0 and not self.model.filter_text and not scanning
        self.stack.setCurrentWidget(self.empty if first_run else self.view)
        self.filter_edit.setVisible(not first_run)
        text = f"{n:,} track{'s' if n != 1 else ''}"
        if self.model.filter_text:
            text += f" matching “{self.model.filter_text}”"
        elif scanning:
            text = f"Looking for music in {scanning}…" + (f" {text} so far" if n else "")
        elif n == 0:
            text = "The library is empty: use File → Add folder… or drop music here"
        self.summary.setText(text)
