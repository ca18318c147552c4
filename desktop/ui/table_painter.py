"""The library table's rows, drawn by the view in one pass instead of cell by cell by Qt's delegate.

Qt's item painting cost ~0.1 ms a cell on the development VM: for every cell and every paint the delegate
asks the model its roles and the style lays the text out again (QTextLayout, elision). A whole table (25 rows
of 9 columns) took 23-28 ms of the GUI thread, the largest single part of the stalls when a scan's tracks
first appear (the table goes from empty to full) and on each jump to another row (bench/ui_stall.py
--events). Here each cell's look comes from the model in one call (`LibraryModel.look`), its text is elided
and laid out once and kept (QStaticText, per text, width and font) and drawn with `drawStaticText`: the same
table in ~2 ms when its texts are kept, ~6-10 ms when every text is new. Only the rows inside the paint's
region are drawn: a newly selected row and the one it replaces may be many rows apart, and drawing every row
of the region's bounding rectangle cost a third more of the table's paints per selected row (ui_click_cost.py).
In the window's repaint pass the rows stop when the pass has spent its budget (frame_budget): the rest are
drawn in the next pass.

It draws what the stock painting drew for this table: alternating Base/AlternateBase rows, the selected
row in Highlight with HighlightedText, each cell's font (bold: playing; italic: a made-up artist), colour,
alignment and the playing icon, texts elided on the right.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QPointF, QRect, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPalette, QStaticText
from PySide6.QtWidgets import QStyle, QStyleOptionFocusRect

from desktop.ui import frame_budget
from desktop.ui.elide import elided
from desktop.ui.library_model import COLUMNS

MAX_KEPT_TEXTS = 8000  # laid-out cell texts kept (a few screens of a wide table); dropped all at once beyond
ICON_SIZE = 16  # the playing icon, where Qt's item painting put it: 1 px in, its text 22 px in
ICON_INSET, ICON_ROOM = 1, 22
_H_MASK = int((Qt.AlignLeft | Qt.AlignRight | Qt.AlignHCenter).value)
_RIGHT, _CENTRE = int(Qt.AlignRight.value), int(Qt.AlignHCenter.value)


def rows_touched(region, rows: int, row_at) -> list[int]:
    """The rows that a paint's region touches, top to bottom (of `rows`); `row_at(y)`: the row at the viewport's
    y, -1 past the last. Qt hands a selection change as two small rectangles that may be many rows apart: only
    their rows are drawn, not those between."""
    touched: set[int] = set()
    if rows == 0:
        return []
    for rect in region:
        first = row_at(rect.top())
        if first < 0:
            continue
        last = row_at(rect.bottom())
        touched.update(range(first, (rows - 1 if last < 0 else last) + 1))
    return sorted(touched)


class RowPainter:
    """Paints a LibraryView's rows for its paint events; keeps the laid-out texts between paints."""

    def __init__(self):
        self._texts: dict[tuple, QStaticText] = {}
        self._metrics: dict[str, QFontMetrics] = {}
        self.texts_laid_out = 0  # for tests and benchmarks: how many cell texts were elided and laid out
        self.rows_drawn: list[int] = []  # for tests: the rows the last paint drew

    def forget_texts(self) -> None:
        """The view's font changed: every kept text has the old metrics."""
        self._texts.clear()
        self._metrics.clear()

    def paint(self, view, event) -> None:
        model = view.model()
        rows = model.rowCount()
        area = event.rect()
        painted = self.rows_drawn = rows_touched(event.region(), rows, view.rowAt)
        if not painted:
            return  # the viewport's own background (Base) is all there is
        first, last = painted[0], painted[-1]
        header = view.horizontalHeader()
        columns = []  # (column, name, x, width) in the order shown, those in the painted area only
        for visual in range(header.count()):
            col = header.logicalIndex(visual)
            if header.isSectionHidden(col):
                continue
            x, width = header.sectionViewportPosition(col), header.sectionSize(col)
            if width > 0 and x < area.right() + 1 and x + width > area.left():
                columns.append((col, COLUMNS[col][0], x, width))
        palette = view.palette()
        base, alternate = palette.color(QPalette.Base), palette.color(QPalette.AlternateBase)
        highlight, highlighted_text = palette.color(QPalette.Highlight), palette.color(QPalette.HighlightedText)
        text_colour = palette.color(QPalette.Text)
        selected = self._selected_rows(view.selectionModel(), first, last)
        margin = view.style().pixelMetric(QStyle.PM_FocusFrameHMargin, None, view) + 1  # as Qt's item views
        view_font = view.font()
        alternating = view.alternatingRowColors()
        current = view.currentIndex()
        focus_cell = (current.row(), current.column()) if current.isValid() and (
            view.hasFocus() or view.viewport().hasFocus()) else None
        font_keys: dict[int, str] = {}  # QFont.key() per font object in this paint (the key costs ~8 us)
        painter = QPainter(view.viewport())
        try:
            painter.setClipRegion(event.region())
            pen = font_in_use = None
            for i, row in enumerate(painted):
                y, height = view.rowViewportPosition(row), view.rowHeight(row)
                if i and frame_budget.spent():  # the rest in the window's next pass (frame_budget)
                    self.rows_drawn = painted[:i]
                    last_y = view.rowViewportPosition(painted[-1]) + view.rowHeight(painted[-1])
                    view.viewport().update(QRect(area.left(), y, area.width(), last_y - y))
                    break
                is_selected = row in selected
                background = highlight if is_selected else alternate if alternating and row % 2 else base
                painter.fillRect(QRect(area.left(), y, area.width(), height), background)
                for col, name, x, width in columns:
                    if focus_cell == (row, col):
                        self._focus_frame(view, painter, QRect(x, y, width, height), is_selected)
                    text, font, colour, align, icon = model.look(row, name)
                    left, room = x + margin, width - 2 * margin
                    if icon is not None:
                        icon.paint(painter, QRect(left + ICON_INSET, y + (height - ICON_SIZE) // 2, ICON_SIZE,
                                                  ICON_SIZE))
                        left, room = left + ICON_ROOM, room - ICON_ROOM
                    if not text or room <= 0:
                        continue
                    font = font if font is not None else view_font
                    font_key = font_keys.get(id(font))
                    if font_key is None:
                        font_key = font_keys[id(font)] = font.key()
                    static, metrics = self._text(text, room, font, font_key)
                    if font is not font_in_use:
                        painter.setFont(font)
                        font_in_use = font
                    colour = highlighted_text if is_selected else colour if colour is not None else text_colour
                    if colour is not pen:
                        painter.setPen(colour)
                        pen = colour
                    h_align = (align or 0) & _H_MASK
                    text_width = static.size().width()
                    dx = room - text_width if h_align == _RIGHT else (room - text_width) / 2 if h_align == _CENTRE \
                        else 0
                    painter.drawStaticText(QPointF(left + max(0.0, dx), y + (height - metrics.height()) / 2), static)
        finally:
            painter.end()

    @staticmethod
    def _focus_frame(view, painter, rect: QRect, selected: bool) -> None:
        """The keyboard focus's frame around the current cell, as Qt's item painting draws it."""
        option = QStyleOptionFocusRect()
        option.initFrom(view)
        option.rect = rect
        option.state |= QStyle.State_KeyboardFocusChange | QStyle.State_Item | QStyle.State_HasFocus
        option.backgroundColor = view.palette().color(QPalette.Highlight if selected else QPalette.Window)
        view.style().drawPrimitive(QStyle.PE_FrameFocusRect, option, painter, view)

    @staticmethod
    def _selected_rows(selection: QItemSelectionModel | None, first: int, last: int) -> set[int]:
        """The selected rows among first..last. The view selects whole rows (SelectRows), so each range of the
        selection is rows; asking Qt row by row (isRowSelected) would call the model's Python rowCount() and
        columnCount() from C++ each time, every call waiting for the GIL while another thread runs Python."""
        if selection is None:
            return set()
        rows: set[int] = set()
        for part in selection.selection():
            rows.update(range(max(first, part.top()), min(last, part.bottom()) + 1))
        return rows

    def _text(self, text: str, room: int, font, font_key: str) -> tuple[QStaticText, QFontMetrics]:
        """The cell's text elided to `room` px and laid out, kept for the next paint."""
        metrics = self._metrics.get(font_key)
        if metrics is None:
            metrics = self._metrics[font_key] = QFontMetrics(font)
        key = (text, room, font_key)
        static = self._texts.get(key)
        if static is None:
            if len(self._texts) >= MAX_KEPT_TEXTS:
                self._texts.clear()
            static = QStaticText(elided(metrics, text, room))
            static.setTextFormat(Qt.PlainText)
            static.prepare(font=font)
            self._texts[key] = static
            self.texts_laid_out += 1
        return static, metrics
