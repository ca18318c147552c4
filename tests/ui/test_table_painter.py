"""The library table draws its rows itself (desktop/ui/table_painter.py): what it draws, and that a repaint of
rows it has drawn lays out no text again."""

from dataclasses import replace

from PySide6.QtGui import QColor, QFont

from desktop.core.catalog import Track
from desktop.ui.library_model import COLUMNS
from tests.ui.conftest import shown_table

NAMES = [name for name, _ in COLUMNS]
BASE, ALTERNATE = "#1a1c21", "#1f2127"  # the dark palette's Base and AlternateBase


def _cell_pixels(view, row: int, name: str) -> set[str]:
    """The colours inside a cell (1 px in from its edges), as drawn."""
    img = view.viewport().grab().toImage()
    col = NAMES.index(name)
    x0, width = view.horizontalHeader().sectionViewportPosition(col), view.columnWidth(col)
    y0, height = view.rowViewportPosition(row), view.rowHeight(row)
    return {QColor(img.pixel(x, y)).name() for x in range(x0 + 1, x0 + width - 1)
            for y in range(y0 + 1, y0 + height - 1)}


def test_cells_are_drawn_in_their_columns_and_long_texts_stop_at_their_column(tmp_path, styled_app, qtbot):
    """Each cell's text lands in its own column, wherever the user moved it; a title far wider than its
    column is elided there and never runs into the next column."""
    view, cat = shown_table(tmp_path, qtbot, [
        Track(id=0, path="/m/a.flac", title="W" * 300, artist="", album="", genre="", duration=0),
        Track(id=0, path="/m/b.flac", title="Short", artist="Band", album="", genre="", duration=0)])
    assert view.model().look(0, "artist")[0] == ""  # the long title's neighbour is empty
    header = view.horizontalHeader()
    header.moveSection(header.visualIndex(NAMES.index("artist")), header.visualIndex(NAMES.index("title")) + 1)
    qtbot.wait(50)
    assert header.sectionViewportPosition(NAMES.index("artist")) > header.sectionViewportPosition(NAMES.index("title"))
    assert _cell_pixels(view, 0, "title") - {BASE}  # the long title is drawn...
    assert _cell_pixels(view, 0, "artist") == {BASE}  # ...and stops at its column's edge
    assert _cell_pixels(view, 1, "artist") - {ALTERNATE}  # the moved column's text is drawn where it now is
    cat.close()


def test_the_playing_row_shows_its_icon_and_the_selected_row_its_highlight(tmp_path, styled_app, qtbot):
    view, cat = shown_table(tmp_path, qtbot, [Track(id=0, path=f"/m/{i}.flac", title="Song", artist="Band",
                                               duration=60) for i in range(5)])
    model = view.model()
    model.set_playing(model.track_id(2))
    view.select_row(1)
    qtbot.wait(50)
    img = view.viewport().grab().toImage()
    x0, width = view.horizontalHeader().sectionViewportPosition(NAMES.index("title")), view.columnWidth(1)

    def title_cell(row):  # the same title in every row: only the icon, the font or the background differ
        y0 = view.rowViewportPosition(row)
        return [img.pixel(x, y0 + dy) for x in range(x0, x0 + width) for dy in range(view.rowHeight(row))]

    assert title_cell(0) == title_cell(4), "two rows alike are drawn alike"
    assert title_cell(2) != title_cell(0), "the playing row: its icon, its bold title"
    assert model.look(2, "title")[1].bold() and model.look(2, "title")[4] is not None
    assert model.look(0, "title")[1] is None and model.look(0, "title")[4] is None
    assert "#4a3526" in _cell_pixels(view, 1, "duration") and ALTERNATE not in _cell_pixels(view, 1, "duration")
    assert ALTERNATE in _cell_pixels(view, 3, "duration") and BASE in _cell_pixels(view, 4, "duration")
    cat.close()


def test_a_repaint_of_drawn_rows_lays_out_no_text_again(tmp_path, styled_app, qtbot):
    """Qt's item painting laid every cell's text out on every paint; the table keeps each laid-out text, so
    a repaint (a selected row, a scroll back) reuses them, and a changed track lays out only its new text."""
    view, cat = shown_table(tmp_path, qtbot, [Track(id=0, path=f"/m/{i}.flac", title=f"Song {i}", artist="Band",
                                               duration=60) for i in range(6)])
    painter = view.rows_painter
    qtbot.waitUntil(lambda: painter.texts_laid_out > 0)
    drawn = painter.texts_laid_out
    view.viewport().repaint()
    view.select_row(3)
    view.viewport().repaint()
    assert painter.texts_laid_out == drawn
    track = view.model().track_at(4)
    cat.update_tags(replace(track, title="Renamed"))
    view.model().refresh_tracks([track.id])
    view.viewport().repaint()
    assert view.model().look(4, "title")[0] == "Renamed"
    assert painter.texts_laid_out == drawn + 1
    font = QFont(view.font())
    font.setPointSize(font.pointSize() + 4)
    view.setFont(font)
    view.viewport().repaint()
    assert painter.texts_laid_out > drawn + 1, "a new font lays the texts out again"
    cat.close()


def test_a_paint_draws_only_the_rows_in_its_region(tmp_path, styled_app, qtbot):
    """Selecting row 12 after row 1 repaints those two rows: the rows between them are not drawn again (drawing
    the region's bounding rectangle cost a third more of the table's paints per selected row)."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QRegion

    view, cat = shown_table(tmp_path, qtbot, [Track(id=0, path=f"/m/{i}.flac", title=f"Song {i}", artist="Band",
                                               duration=60) for i in range(20)], size=(900, 600))
    painter = view.rows_painter

    def row_rect(row):
        return QRect(0, view.rowViewportPosition(row), view.viewport().width(), view.rowHeight(row))

    qtbot.waitUntil(lambda: len(painter.rows_drawn) == 20)  # the first paint: every row
    view.viewport().repaint(QRegion(row_rect(1)).united(QRegion(row_rect(12))))
    assert painter.rows_drawn == [1, 12]
    view.select_row(1)
    qtbot.wait(20)
    view.select_row(12)
    qtbot.waitUntil(lambda: painter.rows_drawn == [1, 12])
    assert _cell_pixels(view, 12, "title") - {BASE, ALTERNATE} and _cell_pixels(view, 6, "title") - {BASE}
    cat.close()


def test_a_text_is_elided_exactly_as_qt_elides_it_and_only_when_it_does_not_fit(styled_app):
    """desktop.ui.elide skips Qt's elision when a text fits (its dearest step for a new text); the result is
    Qt's own for every width around the text's, in every font the rows use."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QFontMetrics

    from desktop.ui.elide import elided

    base = styled_app.font()
    bold, italic = QFont(base), QFont(base)
    bold.setBold(True)
    italic.setItalic(True)
    texts = ["Short", "W" * 60, "Frank Trevino DDS", "drums 001", "Ölçü · 日本語の曲 · café", "", "il1.,;"]
    for font in (base, bold, italic):
        fm = QFontMetrics(font)
        for text in texts:
            advance = fm.horizontalAdvance(text)
            for width in {0, 1, 30, advance - 2, advance - 1, advance, advance + 1, advance + 2, 400}:
                width = max(width, 0)
                assert elided(fm, text, width) == fm.elidedText(text, Qt.ElideRight, width), (text, width)
