"""Long lists keep to a frame's budget in the window's repaint pass (desktop/ui/frame_budget.py): with the budget
spent at once, each pass draws one row of the table and one of the Sounds-like list and the next passes draw the
rest; a grab() outside the window's pass draws every row at once."""

from desktop.ui import frame_budget


def _shown_window(home, make_window, qtbot):
    """The window on `home`, shown and exposed, its 12 tracks listed."""
    w = make_window(home)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 12 and not w.model.loading)
    return w


def _visible_rows(view, count: int) -> list[int]:
    return [r for r in range(count) if view.rowViewportPosition(r) < view.viewport().height()]


def test_a_spent_budget_leaves_the_tables_remaining_rows_to_the_next_passes(indexed_home, make_window, qtbot,
                                                                              monkeypatch):
    w = _shown_window(indexed_home, make_window, qtbot)
    visible = _visible_rows(w.table, 12)
    assert len(visible) >= 6
    painter, drawn = w.table.rows_painter, []
    paint = painter.paint

    def paint_and_note(view, event):  # the real paint, noting which rows it drew
        paint(view, event)
        drawn.append(list(painter.rows_drawn))

    monkeypatch.setattr(painter, "paint", paint_and_note)
    monkeypatch.setattr(frame_budget, "FRAME_BUDGET_MS", 0.0)
    w.table.viewport().update()
    qtbot.waitUntil(lambda: sorted({r for rows in drawn for r in rows}) == visible, timeout=5000)
    assert all(len(rows) == 1 for rows in drawn if rows), drawn  # one row a pass, then the next pass goes on
    assert len(drawn) >= len(visible)
    drawn.clear()
    w.table.viewport().grab()  # outside the window's pass: never cut short
    assert drawn == [visible]


def test_a_spent_budget_leaves_the_hits_remaining_rows_to_the_next_passes(indexed_home, make_window, qtbot,
                                                                            monkeypatch):
    w = _shown_window(indexed_home, make_window, qtbot)
    view, drawn = w.similar.list, []
    paint = view.paintEvent

    def paint_and_note(event):  # the real paint, noting which rows it drew
        paint(event)
        drawn.append(list(view.rows_drawn))

    monkeypatch.setattr(view, "paintEvent", paint_and_note)
    monkeypatch.setattr(frame_budget, "FRAME_BUDGET_MS", 0.0)
    w.table.select_row(0)
    qtbot.waitUntil(lambda: not w.similar.pending and len(w.similar.hits) >= 5, timeout=10000)
    in_view = [r for r in range(len(w.similar.hits))
               if view.visualRect(view.model().index(r, 0)).top() < view.viewport().height()]
    qtbot.waitUntil(lambda: set(in_view) <= {r for rows in drawn for r in rows}, timeout=5000)
    assert max(len(rows) for rows in drawn) == 1, drawn  # one row a pass, then the next pass goes on


def test_work_after_this_frame_runs_after_the_repaint_the_click_asked_for(qtbot):
    """A zero timer ran before the repaint (Qt posts a repaint at low priority); after_this_frame runs after it."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QWidget

    order = []

    class Noted(QWidget):
        def paintEvent(self, event):  # noqa: N802 (Qt's name)
            order.append("repaint")

    widget = Noted()
    qtbot.addWidget(widget)
    widget.resize(80, 40)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(20)

    def click(defer):
        order.clear()
        widget.update()
        defer(lambda: order.append("work"))

    click(lambda fn: frame_budget.after_this_frame(widget, fn))
    qtbot.waitUntil(lambda: "work" in order and "repaint" in order, timeout=2000)
    assert order == ["repaint", "work"]
    click(lambda fn: QTimer.singleShot(0, widget, fn))  # why not a zero timer
    qtbot.waitUntil(lambda: "work" in order and "repaint" in order, timeout=2000)
    assert order == ["work", "repaint"]
