"""The GUI thread does no avoidable work inside a signal handler (bench/ui_stall.py measures the stalls)."""

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop.core.events import Progress
from desktop.ui.library_model import TRACK_ROLE
from desktop.ui.status import IndexStatus


class PaintCounter(QObject):
    def __init__(self, widget):
        super().__init__()
        self.paints = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Paint:
            self.paints += 1
        return False


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
    assert item.bar.value() == 40 and item.bar.maximum() == 40
    qtbot.waitUntil(lambda: counter.paints > 0)  # the bar still shows the progress, with the next frame


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
