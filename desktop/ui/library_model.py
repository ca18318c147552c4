"""The library table: a lazy Qt model over the catalog, fast with 50,000 rows and more.

The model keeps only the ordered list of track ids that match the filter and sort (one SQL query);
rows are fetched in pages with `catalog.many()` when the view first asks for them, and the most
recently used pages are cached. When a track changes (indexed, failed) only its row is repainted; the
id list is reloaded only when the filter, the order or the set of tracks changes.

In the window the id list is read by a `loader` off the GUI thread (0.25-0.4 s at 100,000 tracks, and it
waits for the indexer's transactions), which hands it back with the first rows to show (`ids_loaded`);
until then the table shows the previous list. Without a loader (tests, tools) `reload` reads at once.
"""

from __future__ import annotations

import collections
from dataclasses import replace

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont

from desktop.core.catalog import Catalog, Track
from desktop.core.paths import shown
from desktop.core.track import FIELDS

PAGE_SIZE = 256
MAX_PAGES = 64  # 16k rows cached at most
DISPLAY, TOOLTIP, FONT, FOREGROUND, ALIGNMENT, DECORATION = (
    int(r.value) for r in (Qt.DisplayRole, Qt.ToolTipRole, Qt.FontRole, Qt.ForegroundRole, Qt.TextAlignmentRole,
                           Qt.DecorationRole))
TRACK_ID_ROLE = int(Qt.UserRole.value) + 1
TRACK_ROLE = int(Qt.UserRole.value) + 2
_HANDLED = frozenset((DISPLAY, TOOLTIP, FONT, FOREGROUND, ALIGNMENT, DECORATION, TRACK_ID_ROLE, TRACK_ROLE))
_RIGHT = int((Qt.AlignRight | Qt.AlignVCenter).value)
_ALIGN = {f.name: _RIGHT for f in FIELDS if f.header and f.type in (int, float)}  # numbers right-aligned
_ALIGN["status"] = int(Qt.AlignCenter.value)
GENERATED_ARTIST_TIP = "No artist tag; name made up"
ALBUM_ARTIST_TIP = "No album artist tag; the track's artist"
STATUS_TIP = {"indexed": "Indexed: similar tracks can be found", "pending": "Not indexed yet",
              "failed": "Could not index: {error}"}

COLUMNS = tuple((f.name, f.header) for f in FIELDS if f.header)  # (track field, header), declared in track.py
STATUS_TEXT = {"indexed": "✓", "pending": "pending…", "failed": "failed"}
GENERATED_COLOR = QColor(140, 140, 150)
STATUS_COLOR = {"pending": QColor(200, 160, 60), "failed": QColor(220, 90, 80), "indexed": QColor(110, 180, 120)}


_FONTS: dict[tuple[bool, bool], QFont] = {}


def _font(italic: bool = False, bold: bool = False) -> QFont:
    """Shared fonts, built on first use (a QFont needs the application)."""
    if (italic, bold) not in _FONTS:
        f = QFont()
        f.setItalic(italic)
        f.setBold(bold)
        _FONTS[italic, bold] = f
    return _FONTS[italic, bold]


_PLAYING_ICON: list = []


def playing_icon():
    """The small play triangle the playing track's title carries."""
    if not _PLAYING_ICON:
        from desktop.ui.icons import transport_icon  # lazy: stays out of the window's start-up

        _PLAYING_ICON.append(transport_icon("play", size=14))
    return _PLAYING_ICON[0]


def format_time(seconds: float | None) -> str:
    if not seconds or seconds < 0:
        return "0:00"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def track_label(track: Track) -> str:
    """'3', or '2.03' on a multi-disc album; '' without a track number."""
    if not track.track_number:
        return ""
    if track.disc_number and (track.disc_total or 0) > 1:
        return f"{track.disc_number}.{track.track_number:02d}"
    return str(track.track_number)


class LibraryModel(QAbstractTableModel):
    reloaded = Signal()  # after the id list was re-read (filter, order, new tracks)

    def __init__(self, catalog: Catalog, parent=None):
        super().__init__(parent)
        self.catalog = catalog
        self._ids: list[int] = []
        self._row_of: dict[int, int] = {}
        self._pages: collections.OrderedDict[int, list[Track | None]] = collections.OrderedDict()
        self._text = ""
        self._order = "id"
        self._descending = False
        self.page_fetches = 0  # for tests and benchmarks: how many SQL page reads happened
        self._playing: int | None = None  # the playing track's id: its row is bold, its title has a play icon
        self._loader = None  # (key) -> None: reads the id list elsewhere and answers with ids_loaded(key, ...)
        self._loading: tuple | None = None  # the (filter, order, descending) asked of the loader, until it answers
        self.reload()

    # -- what the view asks ------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section][1]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=DISPLAY):
        # Called thousands of times per repaint: plain int roles, unhandled roles leave at once.
        role = int(role)
        if role not in _HANDLED or not index.isValid():
            return None
        row = index.row()
        if role == TRACK_ID_ROLE:
            return self._ids[row] if row < len(self._ids) else None
        track = self.track_at(row)
        return None if track is None else self._cell(track, COLUMNS[index.column()][0], role)

    def multiData(self, index, span) -> None:  # noqa: N802 (Qt's name)
        """What the table's painting asks: every role a cell is drawn with (7) in one Python call instead of
        one `data` call per role; a repaint of the table took 24-41 ms of the GUI thread that way."""
        if not index.isValid():
            return
        row = index.row()
        track = self.track_at(row)
        name = COLUMNS[index.column()][0]
        for slot in span:
            role = slot.role()
            if role == TRACK_ID_ROLE:
                value = self.track_id(row)
            else:
                value = None if track is None or role not in _HANDLED else self._cell(track, name, role)
            if value is None:
                slot.clearData()
            else:
                slot.setData(value)

    def look(self, row: int, name: str) -> tuple[str, QFont | None, QColor | None, int | None, object]:
        """How the cell of `row` in column `name` is drawn, in one call (the table paints rows itself,
        `table_painter`): its text, font, colour, alignment and icon; None where the view's own applies."""
        track = self.track_at(row)
        if track is None:
            return "", None, None, None, None
        return (self._display(track, name), self._cell(track, name, FONT), self._cell(track, name, FOREGROUND),
                _ALIGN.get(name), self._cell(track, name, DECORATION))

    def _cell(self, track: Track, name: str, role: int):
        """One role of one cell: the track's value in column `name`, its font, colour, tooltip..."""
        if role == TRACK_ROLE:
            return track
        if role == DISPLAY:
            return self._display(track, name)
        if role == ALIGNMENT:
            return _ALIGN.get(name)
        playing = track.id == self._playing
        if role == DECORATION:
            return playing_icon() if playing and name == "title" else None
        if name == "artist":
            if not track.artist_generated:
                return _font(bold=True) if playing and role == FONT else None
            return _font(True, playing) if role == FONT else GENERATED_COLOR if role == FOREGROUND \
                else GENERATED_ARTIST_TIP
        if role == FONT:
            return _font(bold=True) if playing else None
        if name == "status":
            noted = track.status == "indexed" and track.error  # e.g. "damaged: plays 0:17 of 3:37"
            if role == FOREGROUND:
                return STATUS_COLOR["pending"] if noted else STATUS_COLOR.get(track.status)
            if role == TOOLTIP:
                return f"Indexed; {track.error}" if noted else STATUS_TIP[track.status].format(error=track.error)
        if name == "album_artist" and not track.album_artist:  # shown (and sorted) as the track artist
            return GENERATED_COLOR if role == FOREGROUND else ALBUM_ARTIST_TIP if role == TOOLTIP else None
        if name == "title" and role == TOOLTIP:
            return shown(track.path)
        return None

    @staticmethod
    def _display(track: Track, name: str) -> str:
        if name == "duration":
            return format_time(track.duration)
        if name == "track_number":
            return track_label(track)
        if name == "album_artist":
            return track.album_artist or track.artist
        value = getattr(track, name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value) if value else ""  # year, track number...: blank when unknown
        if name == "status":
            if track.status == "indexed" and track.error.startswith("damaged"):
                return "✓ damaged"
            return STATUS_TEXT.get(track.status, track.status)
        return "" if value is None else str(value)

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        name = COLUMNS[column][0] if 0 <= column < len(COLUMNS) else "id"  # -1: no sort column
        descending = order == Qt.DescendingOrder and name != "id"
        if (name, descending) != (self._order, self._descending):
            self._order, self._descending = name, descending
            self.reload()

    # -- lazy rows -----------------------------------------------------------------------------
    def track_at(self, row: int) -> Track | None:
        if not 0 <= row < len(self._ids):
            return None
        page_no = row // PAGE_SIZE
        page = self._pages.get(page_no)
        if page is None:
            page = self._fetch(page_no)
        else:
            self._pages.move_to_end(page_no)
        return page[row - page_no * PAGE_SIZE]

    def _fetch(self, page_no: int) -> list[Track | None]:
        ids = self._ids[page_no * PAGE_SIZE : (page_no + 1) * PAGE_SIZE]
        found = self.catalog.many(ids)
        page = [found.get(i) for i in ids]  # None: removed meanwhile (shown empty until reload)
        self.page_fetches += 1
        self._pages[page_no] = page
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        return page

    def cached_track(self, track_id: int) -> Track | None:
        """The track's row as the table holds it, or None when its page is not read (never reads the catalog)."""
        row = self._row_of.get(track_id)
        page = self._pages.get(row // PAGE_SIZE) if row is not None else None
        return page[row - (row // PAGE_SIZE) * PAGE_SIZE] if page is not None else None

    def track_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, track_id: int) -> int | None:
        return self._row_of.get(track_id)

    def ids(self) -> list[int]:
        return list(self._ids)

    @property
    def playing(self) -> int | None:
        return self._playing

    def set_playing(self, track_id: int | None) -> None:
        """Mark the playing track (None: nothing from the library plays); repaints the old and new rows."""
        if track_id == self._playing:
            return
        old, self._playing = self._playing, track_id
        last = len(COLUMNS) - 1
        for tid in (old, track_id):
            row = self._row_of.get(tid) if tid is not None else None
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last), [Qt.FontRole, Qt.DecorationRole])

    # -- changes --------------------------------------------------------------------------------
    @property
    def filter_text(self) -> str:
        return self._text

    def set_filter(self, text: str) -> None:
        text = text.strip()
        if text != self._text:
            self._text = text
            self.reload()

    def set_catalog(self, catalog: Catalog, loader=None) -> None:
        """Show `catalog` (the same one: nothing to re-read); `loader(key)` reads id lists from now on."""
        self._loader, self._loading = loader, None
        if catalog is not self.catalog:
            self.catalog = catalog
            self.reload()

    @property
    def key(self) -> tuple[str, str, bool]:
        """What the id list depends on besides the tracks: (filter text, order, descending)."""
        return self._text, self._order, self._descending

    @property
    def loading(self) -> bool:
        """A new id list is being read (the table shows the previous one meanwhile)."""
        return self._loading is not None

    def reload(self) -> None:
        """Re-read the id list (filter, order, tracks added or removed) and drop cached rows: through the
        loader when there is one (the list arrives with `ids_loaded`), else at once."""
        if self._loader is not None:
            self._loading = self.key
            self._loader(self.key)
            return
        self._apply(self.catalog.track_ids(text=self._text, order=self._order, descending=self._descending), {})

    def ids_loaded(self, key: tuple, ids: list[int], rows: dict[int, Track], row_of: dict[int, int]) -> None:
        """The loader's answer: the id list for `key`, some of its rows (the first page, the selected
        track's) and each id's row; an answer for an older filter or order is dropped (the newer one is
        on its way)."""
        if key != self.key or self._loading != key:
            return
        self._loading = None
        self._apply(ids, rows, row_of)

    def load_failed(self) -> None:
        """The loader could not read the list (the caller says why): keep showing the previous one."""
        self._loading = None

    def _apply(self, ids: list[int], rows: dict[int, Track], row_of: dict[int, int] | None = None) -> None:
        """Show a new id list. A list that only adds rows after the current ones (a scan's new tracks, in
        catalog order) is an insertion: the view keeps its selection and scroll position and lays out nothing
        again (a reset made it start over, the scan's largest stall); the rows already listed are re-read, since
        their tags may have changed."""
        old = self._ids
        appended = 0 < len(old) < len(ids) and ids[: len(old)] == old
        if appended:
            self.beginInsertRows(QModelIndex(), len(old), len(ids) - 1)
        else:
            self.beginResetModel()
        self._ids = ids
        self._row_of = row_of if row_of is not None else {tid: row for row, tid in enumerate(ids)}
        self._pages.clear()
        for page_no in sorted({self._row_of[t] // PAGE_SIZE for t in rows if t in self._row_of}):
            page_ids = ids[page_no * PAGE_SIZE : (page_no + 1) * PAGE_SIZE]
            if all(t in rows for t in page_ids):  # only whole pages: a partial one would show empty rows
                self._pages[page_no] = [rows[t] for t in page_ids]
        if appended:
            self.endInsertRows()
            self.dataChanged.emit(self.index(0, 0), self.index(len(old) - 1, len(COLUMNS) - 1))
        else:
            self.endResetModel()
        self.reloaded.emit()

    def apply_results(self, results) -> None:
        """Index results (`TrackDone`s) straight into the cached rows: no SQL on the GUI thread while
        the indexer writes, so the window never waits for the catalog's lock."""
        by_page: dict[int, list[int]] = {}
        for ev in results:
            row = self._row_of.get(ev.track_id)
            page = self._pages.get(row // PAGE_SIZE) if row is not None else None
            if page is None:
                continue  # not cached: it is read fresh when scrolled into view
            i = row - (row // PAGE_SIZE) * PAGE_SIZE
            if page[i] is not None:
                # kept: the new model failed on it, but its old vector answers until the switch
                page[i] = replace(page[i], status="indexed" if ev.ok or ev.kept else "failed", error=ev.error)
                by_page.setdefault(row // PAGE_SIZE, []).append(row)
        self._repaint(by_page)

    def refresh_tracks(self, track_ids) -> None:
        """Re-read only these tracks (status changed) and repaint their rows if they are cached."""
        by_page: dict[int, list[int]] = {}
        for tid in track_ids:
            row = self._row_of.get(tid)
            if row is not None and row // PAGE_SIZE in self._pages:
                by_page.setdefault(row // PAGE_SIZE, []).append(row)
        if not by_page:
            return
        rows = [r for rs in by_page.values() for r in rs]
        fresh = self.catalog.many([self._ids[r] for r in rows])
        for page_no, page_rows in by_page.items():
            page = self._pages[page_no]
            for r in page_rows:
                page[r - page_no * PAGE_SIZE] = fresh.get(self._ids[r])
        self._repaint(by_page)

    def _repaint(self, by_page: dict[int, list[int]]) -> None:
        last = len(COLUMNS) - 1
        for page_rows in by_page.values():
            lo, hi = min(page_rows), max(page_rows)
            self.dataChanged.emit(self.index(lo, 0), self.index(hi, last))
