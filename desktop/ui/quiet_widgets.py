"""Qt widgets that repaint only what changed, for the window's busiest moments (a new row selected while playing).

Measured with bench/ui_click_cost.py --trace: per selected row, Qt's stock QTabWidget repainted the whole
Sounds-like pane (a new title in it changes size hints, and QTabWidget answers every such layout request by
placing its tab bar and pages again and repainting itself whole, pages included), and the table's header
repainted all its sections (a selected row spans every column, and an item view repaints the selection's
region, which for a header is every section it crosses, whether or not it highlights sections).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QHeaderView, QTabWidget


class SteadyTabWidget(QTabWidget):
    """A QTabWidget that lays itself out again on a layout request only when what places its tab bar and page
    (the tab bar's size, its minimum size, its size) changed; a page's own children still lay themselves
    out, so a longer title in a page repaints that title, not the whole tab widget."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._placed: tuple | None = None

    def _placement(self) -> tuple:
        bar = self.tabBar()
        return (self.size().toTuple(), bar.isVisibleTo(self), bar.sizeHint().toTuple(),
                self.minimumSizeHint().toTuple(), self.tabPosition(), self.documentMode())

    def event(self, e) -> bool:
        if e.type() == QEvent.LayoutRequest and self.isVisible():
            placement = self._placement()
            if placement == self._placed:
                return True  # nothing that places the tabs changed: skip the relayout and its full repaint
            self._placed = placement
        return super().event(e)


class RowHeader(QHeaderView):
    """A horizontal header for a table that selects whole rows and does not highlight sections: a new selected
    row repaints nothing here (the stock header repainted every section on each row change)."""

    def __init__(self, parent=None):
        super().__init__(Qt.Horizontal, parent)
        self.setSectionsClickable(True)  # as QTableView's own header: a click sorts
        self.setHighlightSections(False)

    def selectionChanged(self, selected, deselected) -> None:  # noqa: N802 (Qt's name)
        if self.highlightSections():
            super().selectionChanged(selected, deselected)
