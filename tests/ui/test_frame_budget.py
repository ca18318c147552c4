"""Long lists keep to a frame's budget in the window's repaint pass (desktop/ui/frame_budget.py): with the budget
spent at once, each pass draws one row of the table and one of the Sounds-like list and the next passes draw the
rest; a grab() outside the window's pass draws every row at once."""

import collections

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
    delegate = w.similar.list.itemDelegate()
    defer, drawn = delegate.defer_row, collections.defaultdict(list)  # pass number -> rows drawn in it

    def defer_and_note(option):  # the real decision, noting the rows drawn
        deferred = defer(option)
        if not deferred:
            drawn[frame_budget.pass_number()].append(option.rect.top())
        return deferred

    monkeypatch.setattr(delegate, "defer_row", defer_and_note)
    monkeypatch.setattr(frame_budget, "FRAME_BUDGET_MS", 0.0)
    w.table.select_row(0)
    qtbot.waitUntil(lambda: len(w.similar.hits) >= 5, timeout=10000)
    rows = min(len(w.similar.hits), w.similar.list.viewport().height() // w.similar.list.sizeHintForRow(0))
    tops = {w.similar.list.visualRect(w.similar.model.index(i)).top() for i in range(rows)}
    qtbot.waitUntil(lambda: tops <= {top for seen in drawn.values() for top in seen}, timeout=5000)
    assert max(len(seen) for seen in drawn.values()) == 1, dict(drawn)
