"""The GUI thread does no avoidable work inside a signal handler (bench/ui_stall.py measures the stalls)."""

import os

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.catalog import Catalog, Track
from desktop.core.events import Progress
from desktop.ui.jobs import format_eta
from desktop.ui.library_model import COLUMNS, TRACK_ROLE, LibraryModel
from desktop.ui.status import PROGRESS_EVERY_S, IndexStatus
from tests.ui.conftest import PaintCounter, shown_table


def test_progress_is_painted_with_the_next_frame_not_inside_the_update(qtbot):
    """QProgressBar.setValue repaints at once, which paints every dirty region of the window inside the
    progress handler; the status item leaves the bar to the next frame."""
    host = QWidget()
    qtbot.addWidget(host)
    item = IndexStatus()
    QVBoxLayout(host).addWidget(item)
    host.resize(600, 40)
    host.show()
    item.start("Indexing…")
    qtbot.waitExposed(host)
    qtbot.waitUntil(lambda: item.bar.isVisible())
    counter = PaintCounter(item.bar)
    qtbot.wait(50)
    counter.paints = 0
    for done in range(1, 41):
        item.show_progress(Progress("index", done, 40, f"/music/t{done}.flac"))
        assert counter.paints == 0, f"painted inside show_progress at {done} of 40"
    assert item.bar.value() == 40 and item.bar.maximum() == 40  # the last of a count shows at once
    qtbot.waitUntil(lambda: counter.paints > 0)  # the bar still shows the progress, with the next frame


def test_progress_text_shows_the_first_and_last_of_a_stage_at_once_and_the_rest_ten_times_a_second(qtbot):
    """A scan or a spectral index sends 40-80 progress events a second, and each new text was laid out, set and
    painted on the GUI thread beside the library thread's work; between the first and the last of a stage the
    newest event shows at most every PROGRESS_EVERY_S, and what a skipped event said (the embedder) is kept."""
    item = IndexStatus()
    qtbot.addWidget(item)
    item.show()
    item.start("Scanning…")
    item.show_progress(Progress("index", 0, 40, message="spectral"))
    assert item.text == "Indexing 0 of 40  ·  spectral · CPU"  # a new stage: at once
    for done in range(1, 20):
        item.show_progress(Progress("index", done, 40, f"/music/t{done}.flac"), 40.0, 0.5)
    assert item.text == "Indexing 0 of 40  ·  spectral · CPU"  # within PROGRESS_EVERY_S of the last one shown
    qtbot.waitUntil(lambda: item.text == "Indexing 19 of 40  ·  t19.flac  ·  spectral · CPU  ·  40.0 tracks/s  ·  "
                    f"{format_eta(0.5)}", timeout=1000)
    item.show_progress(Progress("index", 39, 40, "/music/t39.flac"), 40.0, 0.1)
    item.show_progress(Progress("index", 40, 40, "/music/t40.flac"), 40.0, 0.0)
    assert item.text.startswith("Indexing 40 of 40  ·  t40.flac")  # the end of a count: at once
    assert item.bar.value() == 40
    item.finish()
    qtbot.wait(int(PROGRESS_EVERY_S * 1000) + 50)
    assert item.isHidden()  # nothing shown after the job ended


def test_the_table_lists_tracks_without_reading_the_catalog_on_the_gui_thread(indexed_home, make_window, qtbot):
    """A new id list (filter, order, tracks added) is read in the catalog thread and arrives with the rows
    the table shows first; meanwhile the table shows the previous list."""
    w = make_window(indexed_home)
    model = w.model
    model.set_filter("drums/")
    assert model.loading and model.rowCount() == 12
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    fetches = model.page_fetches
    paths = [model.index(r, 0).data(TRACK_ROLE).path for r in range(model.rowCount())]
    assert len(paths) == 4 and all("/drums/" in p for p in paths)
    assert model.page_fetches == fetches  # the rows came with the list: no SQL here
    assert "4 tracks" in w.panel.summary.text()


def test_a_painted_cell_gets_the_same_roles_as_data_asks(tmp_path, qtbot):
    """The table's delegate fills its cells through multiData (all roles in one call): the text, font,
    colour, icon and alignment it paints are the ones data() gives role by role."""
    cat = Catalog(tmp_path / "c.sqlite3")
    cat.add_track(Track(id=0, path="/m/a.flac", title="Song", artist="Made Up", generated="artist", duration=100,
                        status="indexed"))
    cat.add_track(Track(id=0, path="/m/b.flac", title="Other", artist="Real", duration=3700, status="failed",
                        error="bad header"))
    model = LibraryModel(cat)
    model.set_playing(model.track_id(0))
    delegate = QStyledItemDelegate()
    for row in range(2):
        for column in range(model.columnCount()):
            ix = model.index(row, column)
            opt = QStyleOptionViewItem()
            delegate.initStyleOption(opt, ix)
            assert opt.text == (ix.data(Qt.DisplayRole) or "")
            font = ix.data(Qt.FontRole)
            assert (opt.font.bold(), opt.font.italic()) == ((font.bold(), font.italic()) if font else (False, False))
            assert opt.icon.isNull() == (ix.data(Qt.DecorationRole) is None)
            if ix.data(Qt.ForegroundRole) is not None:
                assert opt.palette.brush(QPalette.Text).color() == ix.data(Qt.ForegroundRole)
            if ix.data(Qt.TextAlignmentRole) is not None:
                assert int(opt.displayAlignment.value) == ix.data(Qt.TextAlignmentRole)
    assert model.index(0, COLUMNS.index(("title", "Title"))).data(Qt.DecorationRole) is not None  # playing
    cat.close()


def test_the_playhead_repaints_only_the_strip_it_moved_over(qtbot):
    """Every position tick also passes the duration; the same duration repaints nothing, so the waveform paints
    the few columns the playhead crossed, not its whole width."""
    import numpy as np

    from desktop.ui.waveform_view import WaveformView

    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(800, 72)
    amp = np.linspace(0.1, 0.9, 2000, dtype=np.float32)
    view.set_peaks(np.stack([-amp, amp], axis=1), duration=200.0)
    view.show()
    qtbot.waitExposed(view)
    rects = []

    class Rects(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Paint:
                rects.append(event.rect().width())
            return False

    spy = Rects()
    view.installEventFilter(spy)
    qtbot.wait(50)
    rects.clear()
    for tick in range(1, 21):
        view.set_duration(200.0)
        view.set_position(tick * 0.25)
        qtbot.wait(10)
    qtbot.waitUntil(lambda: len(rects) > 0)
    assert max(rects) < 20, rects


def test_scrolling_the_table_paints_only_the_rows_that_came_into_view(tmp_path, styled_app, qtbot):
    """The table takes its colours from the palette, not the style sheet (a style-sheet background makes the
    viewport transparent, and every scroll repainted the whole table and the widgets under it): a scroll by
    one row moves the pixels and paints that row; the rows keep their colours."""
    view, cat = shown_table(tmp_path, qtbot, [
        Track(id=0, path=f"/m/{i:03d}.flac", title=f"Song {i:03d}", artist="Band", duration=100) for i in range(200)],
        size=(700, 400))
    view.select_row(1)
    qtbot.wait(50)
    spy = PaintCounter(view.viewport())  # kept: the filter goes with it
    heights = spy.heights
    bar = view.verticalScrollBar()
    for _ in range(3):
        heights.clear()
        bar.setValue(bar.value() + 1)
        qtbot.waitUntil(lambda: len(heights) > 0)
        assert max(heights) <= view.rowHeight(0) + 2, (heights, view.viewport().height())
    bar.setValue(0)
    qtbot.waitUntil(lambda: view.rowAt(0) == 0)
    img = view.viewport().grab().toImage()
    colour_at = lambda row: QColor(img.pixel(view.viewport().width() - 3, view.rowViewportPosition(row) + 2)).name()  # noqa: E731
    assert (colour_at(0), colour_at(1), colour_at(2)) == ("#1a1c21", "#4a3526", "#1a1c21")  # Base, Highlight
    assert colour_at(3) == "#1f2127"  # AlternateBase
    cat.close()


def test_the_window_process_runs_one_openblas_thread(indexed_home, make_window):
    """The library thread's matrix work (standardising, the refit's eigh) must not take every core from the GUI
    thread: OpenBLAS's threads spin while waiting and took both cores of a 2-core machine."""
    from threadpoolctl import ThreadpoolController

    from desktop.core.blas_threads import blas_threads

    ThreadpoolController().select(internal_api="openblas").limit(limits=2)
    assert blas_threads() == 2
    make_window(indexed_home)
    assert blas_threads() == 1


def test_the_window_process_hands_the_gil_over_within_a_millisecond(indexed_home, make_window):
    """Each return of the GUI thread from Qt to Python waited up to Python's 5 ms switch interval while a
    background thread ran Python (thread_priority.hand_gil_over_quickly says why)."""
    import sys

    sys.setswitchinterval(0.005)  # Python's default
    make_window(indexed_home)
    assert sys.getswitchinterval() <= 0.001


def test_the_windows_track_store_is_served_by_a_child_process(indexed_home, make_window, qtbot):
    """Edge holds the GIL through each call: in the window's process a search froze the GUI thread for as
    long as it ran (store/in_child.py). The hits still come, from a live child; closing ends it."""
    from desktop.core.store.in_child import StoreInChild

    w = make_window(indexed_home)
    w.table.select_row(0)
    qtbot.waitUntil(lambda: not w.similar.pending and len(w.similar.hits) > 0, timeout=10000)
    store = w.session.library.space().store()  # open already: the query used it
    assert isinstance(store, StoreInChild) and store._process.is_alive() and store._process.pid != os.getpid()
    child = store._process
    w.shutdown()
    assert not child.is_alive()


def test_the_window_keeps_its_start_up_objects_out_of_full_garbage_collections(indexed_home, make_window, qtbot):
    """A full collection walks every tracked object holding the GIL (60-110 ms over the window's start-up
    objects, set off by the first scan's imports); what exists when the window is open, and again when its
    embedder is loaded, is frozen out of later collections."""
    import gc

    gc.unfreeze()
    w = make_window(indexed_home, start=False)
    opened = gc.get_freeze_count()
    assert opened > 10_000  # PySide's and the app's modules, the window's widgets
    w.session.load_embedder()  # what start() does after the first paint
    qtbot.waitUntil(lambda: gc.get_freeze_count() > opened, timeout=20000)


def test_selecting_a_row_does_not_repaint_the_tables_header(tmp_path, styled_app, qtbot):
    """A selected row spans every column, and the stock header repainted all its sections on each row change
    (its share of the selection's region); the table's header (RowHeader) does not highlight sections, so it
    repaints nothing, and it still sorts when clicked."""
    view, cat = shown_table(tmp_path, qtbot, [
        Track(id=0, path=f"/m/{i:03d}.flac", title=f"Song {39 - i:03d}", artist="Band", duration=100)
        for i in range(40)], size=(700, 400))
    header = view.horizontalHeader()
    header_paints, table_paints = PaintCounter(header.viewport()), PaintCounter(view.viewport())
    qtbot.wait(50)
    header_paints.paints = table_paints.paints = 0
    for row in (3, 9, 20, 5):
        view.select_row(row)
        qtbot.wait(20)
    qtbot.waitUntil(lambda: table_paints.paints > 0)  # the rows were repainted: the header was not
    assert header_paints.paints == 0
    title = [name for name, _ in COLUMNS].index("title")
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=QPoint(header.sectionViewportPosition(title) + 20, 5))
    qtbot.waitUntil(lambda: view.model().index(0, title).data() == "Song 000")
    assert header.sortIndicatorSection() == title
    cat.close()


def _page_with_title(text: str):
    page = QWidget()
    title = QLabel(text)
    title.setWordWrap(True)
    button = QPushButton("Play these")
    lay = QVBoxLayout(page)
    lay.addWidget(title)
    lay.addWidget(button, 0, Qt.AlignLeft)
    lay.addStretch(1)
    return page, title, button


def test_a_new_title_in_a_tab_repaints_the_title_not_the_whole_tab_widget(qtbot):
    """QTabWidget answers every layout request (a page's text changing its size hint) by repainting itself
    whole, pages included: the Sounds-like pane was repainted on every selected row. SteadyTabWidget repaints
    only the changed title."""
    from desktop.ui.quiet_widgets import SteadyTabWidget

    tabs = SteadyTabWidget()
    qtbot.addWidget(tabs)
    page, title, button = _page_with_title("Select a track")
    tabs.addTab(page, "Sounds like")
    tabs.addTab(QWidget(), "Up next")
    tabs.resize(400, 300)
    tabs.show()
    qtbot.waitExposed(tabs)
    button_paints, title_paints = PaintCounter(button), PaintCounter(title)
    qtbot.wait(50)
    button_paints.paints = title_paints.paints = 0
    for text in ("A much longer title — a band with a long name", "Short", "Another title — Band"):
        title.setText(text)
        qtbot.waitUntil(lambda: title_paints.paints > 0)
        title_paints.paints = 0
    qtbot.wait(50)
    assert button_paints.paints == 0


def test_steady_tabs_still_lay_out_when_their_tabs_or_minimum_size_change(qtbot):
    """What places the tab bar and the pages still re-lays them out: a longer tab name widens the tab bar, and a
    page that needs more room makes the splitter holding the tabs give it."""
    from PySide6.QtWidgets import QSplitter

    from desktop.ui.quiet_widgets import SteadyTabWidget

    splitter = QSplitter(Qt.Horizontal)
    qtbot.addWidget(splitter)
    splitter.addWidget(QLabel("library"))
    tabs = SteadyTabWidget()
    splitter.addWidget(tabs)
    page, title, _ = _page_with_title("Select a track")
    tabs.addTab(page, "Sounds like")
    splitter.resize(800, 300)
    splitter.setSizes([600, 200])
    splitter.show()
    qtbot.waitExposed(splitter)
    qtbot.wait(50)
    narrow = tabs.tabBar().width()
    tabs.addTab(QWidget(), "Up next, and what plays after it")
    qtbot.waitUntil(lambda: tabs.tabBar().width() > narrow + 50)
    page.setMinimumWidth(380)
    qtbot.waitUntil(lambda: tabs.width() >= 380)
    assert page.width() >= 380 - 2 * tabs.style().pixelMetric(tabs.style().PixelMetric.PM_DefaultFrameWidth)


def test_new_hits_paint_the_list_once(qtbot):
    """A new answer repaints the list once: the old hits stay until it comes (emptying the list first repainted
    it and its scroll bar once more). And when the list was empty (a slow answer shows the loading text), the new
    hits were often painted before the list's delayed layout found it needed the scroll bar again, narrowed, and
    painted them all a second time (bench/ui_click_cost.py --trace): the hits are laid out when they arrive."""
    from desktop.core.similarity import SimilarHit
    from desktop.ui.similar_pane import SimilarPane

    pane = SimilarPane()
    qtbot.addWidget(pane)
    pane.resize(460, 500)
    pane.show()
    qtbot.waitExposed(pane)

    def hits(n: int, first: int) -> list:
        return [SimilarHit(track_id=first + i, score=0.9 - i / 100, path=f"/m/{first + i}.flac", title=f"Song {i}",
                           artist="Band", album="Album", duration=100.0) for i in range(n)]

    pane.show_hits(hits(30, 1))
    bar = pane.list.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.isVisible())
    counter = PaintCounter(pane.list.viewport())
    bar_counter = PaintCounter(bar)
    shown = 1
    for first in (100, 200, 300):
        pane.show_loading()  # a new row selected: the old hits stay until the answer
        qtbot.wait(20)
        assert pane.hits[0].track_id == shown
        counter.paints = bar_counter.paints = 0
        pane.show_hits(hits(30, first))  # its answer
        qtbot.waitUntil(lambda: counter.paints > 0)
        qtbot.wait(50)
        assert counter.paints == 1 and bar_counter.paints == 0
        shown = first
    pane.show_message("Finding similar tracks…")  # a slow answer: the list empties and loses its scroll bar
    qtbot.waitUntil(lambda: not bar.isVisible())
    counter.paints = 0
    pane.show_hits(hits(30, 400))
    assert bar.maximum() > 0  # laid out at once: whatever paints next paints the rows where they stay
    qtbot.waitUntil(lambda: counter.paints > 0 and bar.isVisible())
    qtbot.wait(50)
    assert counter.paints == 1
    assert [h.track_id for h in pane.hits][:2] == [400, 401]
    bar.setValue(bar.maximum())  # the user scrolled down the hits; the next track's hits start at the top
    pane.show_loading()
    pane.show_hits(hits(30, 500))
    assert bar.value() == 0
