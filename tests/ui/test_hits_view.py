"""The Sounds-like list draws its rows itself in one paint (desktop/ui/hits_view.py): every row its region
touches, each with the delegate's look, the selected one highlighted."""

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QColor, QPalette


def test_the_hits_list_draws_the_rows_in_view_and_highlights_the_selected_one(indexed_home, make_window, qtbot):
    w = make_window(indexed_home)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 12 and not w.model.loading)
    w.table.select_row(0)
    qtbot.waitUntil(lambda: not w.similar.pending and len(w.similar.hits) >= 5, timeout=10000)
    view = w.similar.list
    in_view = [r for r in range(len(w.similar.hits))
               if view.visualRect(view.model().index(r, 0)).top() < view.viewport().height()]
    assert len(in_view) >= 3
    view.selectionModel().setCurrentIndex(view.model().index(1, 0), QItemSelectionModel.ClearAndSelect)
    img = view.viewport().grab().toImage()
    assert view.rows_drawn == in_view
    highlight = view.palette().color(QPalette.Highlight).name()

    def background(row: int) -> str:  # a pixel of the row's left edge, before its rank number
        rect = view.visualRect(view.model().index(row, 0))
        return QColor(img.pixel(rect.left() + 2, rect.top() + 2)).name()

    assert background(1) == highlight
    assert background(0) != highlight and background(2) != highlight
    title_pixels = {QColor(img.pixel(x, view.visualRect(view.model().index(0, 0)).top() + 12)).name()
                    for x in range(60, 200)}
    assert len(title_pixels) > 2, "the first hit's title is drawn"


def test_the_hits_list_keeps_its_width_while_a_slow_query_runs(indexed_home, make_window, qtbot):
    """The list empties when an answer is slow (the pane shows its loading text) and fills again: its viewport
    keeps one width throughout, so no row is laid out and painted again for a scroll bar that came and went."""
    w = make_window(indexed_home)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 12 and not w.model.loading)
    view = w.similar.list
    w.table.select_row(0)
    qtbot.waitUntil(lambda: not w.similar.pending and len(w.similar.hits) >= 5, timeout=10000)
    width = view.viewport().width()
    w.similar.show_message("Finding similar tracks…")  # what a slow answer shows
    qtbot.wait(20)
    assert not w.similar.hits and view.viewport().width() == width
    w.table.select_row(1)
    qtbot.waitUntil(lambda: not w.similar.pending and len(w.similar.hits) >= 5, timeout=10000)
    assert view.viewport().width() == width
