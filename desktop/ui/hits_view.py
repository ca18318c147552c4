"""The Sounds-like list and its model: its rows drawn in one Python call per paint instead of one call per row.

Qt's QListView calls the item delegate's paint() from C++ once for every row it draws, and every such call
enters Python again. While a background thread runs Python (a scan reading tags, the indexer), each entry first
waits for the GIL, up to the switch interval (1 ms in the window). A repaint of 9 new hits took 3 ms of the GUI
thread alone, and 19 ms (8 ms of CPU) beside one busy Python thread (offscreen). This view draws the rows its paint
region touches itself, with the same delegate, inside one paintEvent, as the library table does (table_painter).

It sets what the delegates read from the option: the row's rectangle, selected, the mouse over the row. In the
window's repaint pass the rows stop when the pass has spent its budget (frame_budget), as the table's do.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QStringListModel, Qt
from PySide6.QtGui import QCursor, QPainter
from PySide6.QtWidgets import QListView, QStyle, QStyleOptionViewItem

from desktop.core.paths import shown
from desktop.ui import frame_budget
from desktop.ui.library_model import GENERATED_ARTIST_TIP
from desktop.ui.table_painter import rows_touched

HIT_ROLE = Qt.UserRole + 1


def similarity_percent(score: float) -> int:
    """Cosine similarity shown as 0-100 % (negative similarity shows as 0)."""
    return int(round(max(0.0, min(1.0, float(score))) * 100))


def closeness_of(hit) -> int:
    """The calibrated 0-100 closeness (desktop.core.calibration), or the raw percent without one."""
    c = getattr(hit, "closeness", None)
    return int(round(c)) if c is not None else similarity_percent(hit.score)


class HitsModel(QStringListModel):
    """The hits, kept in Python, with one label a row in Qt's own string list: the list view asks the row count
    ~90 times per selected track, and Qt's count answers in C++ where a Python rowCount() would enter Python each
    time (and wait for the GIL while another thread runs Python)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.hits: list = []

    def set_hits(self, hits) -> None:
        self.hits = list(hits)
        self.setStringList([f"{h.title} — {h.artist}" for h in self.hits])  # a model reset

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or index.row() >= len(self.hits):
            return None
        h = self.hits[index.row()]
        if role in (Qt.DisplayRole, Qt.EditRole):
            return f"{h.title} — {h.artist}"
        if role == HIT_ROLE:
            return h
        if role == Qt.ToolTipRole:
            words = f"{h.words.capitalize()} ({closeness_of(h)} of 100 on this library's scale)\n" if h.words else ""
            why = f"Why: {h.why}\n" if h.why else ""
            tip = f"{words}{why}{shown(h.path)}\nraw cosine similarity {h.score:.3f}"
            return tip + (f"\nArtist: {GENERATED_ARTIST_TIP.lower()}" if h.artist_generated else "")
        return None


def hit_at(index):
    """The hit a row shows, from the model itself: `index.data()` would go from Python through Qt back into
    Python (HitsModel.data), waiting for the GIL again while another thread runs Python."""
    model = index.model()
    hits = getattr(model, "hits", None)
    return hits[index.row()] if hits is not None and 0 <= index.row() < len(hits) else index.data(HIT_ROLE)


class HitsView(QListView):
    """A QListView of uniform rows whose paint draws every row in one pass through the item delegate."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setUniformItemSizes(True)
        # Always there, so the viewport keeps its width: the list empties while a query runs and fills again, and a
        # scroll bar that came and went resized the viewport twice a click, each time laying out and repainting
        # every row (bench/ui_click_cost.py --trace).
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOn)
        self.rows_drawn: list[int] = []  # for tests: the rows the last paint drew (or left to the next pass)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        model, delegate = self.model(), self.itemDelegate()
        rows = model.rowCount() if model is not None else 0
        painted = self.rows_drawn = rows_touched(event.region(), rows, lambda y: self.indexAt(QPoint(0, y)).row())
        if not painted:
            return  # the viewport's background is all there is
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        plain = option.state
        selection = self.selectionModel()
        viewport = self.viewport()
        hover = self.indexAt(viewport.mapFromGlobal(QCursor.pos())).row() if viewport.underMouse() else -1
        painter = QPainter(viewport)
        try:
            for i, row in enumerate(painted):
                index = model.index(row, 0)
                rect = self.visualRect(index)
                if i and frame_budget.spent():  # the rest in the window's next pass (frame_budget)
                    self.rows_drawn = painted[:i]
                    viewport.update(QRect(rect.topLeft(), self.visualRect(model.index(painted[-1], 0)).bottomRight()))
                    break
                option.rect = rect
                state = plain
                if selection is not None and selection.isSelected(index):
                    state |= QStyle.State_Selected
                if row == hover:
                    state |= QStyle.State_MouseOver
                option.state = state
                delegate.paint(painter, option, index)
        finally:
            painter.end()
