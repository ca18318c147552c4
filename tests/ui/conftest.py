"""UI fixtures: real libraries (catalog, embedded Qdrant, spectral embedder) and windows that clean up.

Indexing the 12-clip family library once per session and copying its folder per test keeps the
suite fast; every test still gets its own home, lock, store and window.ini.
"""

from __future__ import annotations

import gc
import shutil
from dataclasses import replace

import pytest
from PySide6.QtCore import QEvent, QMimeData, QObject, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from desktop.core.config import load_settings
from desktop.core.indexer import scan_and_index
from desktop.core.library import Library
from desktop.ui import jobs


def spectral_home(home):
    """Make `home` a library configured for the spectral embedder (config.json)."""
    replace(load_settings(home), embedder="spectral").save()
    return home


def index_folder(home, folder):
    with Library.open(home) as lib:
        events = list(scan_and_index(lib, [str(folder)]))
    return events[-1]


@pytest.fixture(scope="session")
def indexed_template(tmp_path_factory, family_dir):
    home = spectral_home(tmp_path_factory.mktemp("indexed-template"))
    summary = index_folder(home, family_dir)
    assert summary.indexed == 12, summary
    return home


@pytest.fixture
def indexed_home(indexed_template, tmp_path):
    """A library holding the 12 family clips, all indexed with spectral (a private copy)."""
    home = tmp_path / "library"
    shutil.copytree(indexed_template, home)
    return home


@pytest.fixture
def spectral_empty_home(tmp_path):
    return spectral_home(tmp_path / "empty-library")


@pytest.fixture
def make_window(qtbot):
    """open_window(home) that always shuts the window down and leaves no worker thread behind."""
    from desktop.ui.app import open_window

    windows = []

    def make(home, files=(), start=True):
        w = open_window(home, files, start=False)
        windows.append(w)  # shut down at teardown even if what follows fails
        qtbot.addWidget(w)
        w.activateWindow()  # window shortcuts (space, arrows, media keys) need the active window
        qtbot.waitUntil(w.isActiveWindow, timeout=10000)  # generous: the machine may be loaded
        if start:
            w.start(list(files))
        return w

    yield make
    for w in windows:
        w.shutdown()
    gc.unfreeze()  # a window keeps its start-up objects from the collector for good (desktop.core.collector)
    leaked = [t.name for t in list(jobs.LIVE) if t.running]
    assert not leaked, f"worker threads left running: {leaked}"


def shown_table(tmp_path, qtbot, tracks, size=(900, 300)):
    """A LibraryView over a new catalog holding `tracks`, shown at `size` and exposed: (view, catalog)."""
    from desktop.core.catalog import Catalog
    from desktop.ui.library_model import LibraryModel
    from desktop.ui.library_view import LibraryView

    cat = Catalog(tmp_path / "c.sqlite3")
    for t in tracks:
        cat.add_track(t)
    view = LibraryView(LibraryModel(cat))
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view, cat


def drop_event(paths, modifiers=Qt.NoModifier) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    ev = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, modifiers)
    ev._mime = mime  # keep the QMimeData alive as long as the event
    return ev


def row_of_path(window, path) -> int:
    tid = window.session.catalog.by_path(str(path)).id
    return window.model.row_of(tid)


@pytest.fixture
def styled_app(qapp):
    """The app's own look (pytest-qt made the QApplication, so create_app did not style it), undone after."""
    from desktop.ui.style import apply_style

    saved = (qapp.style().name(), qapp.palette(), qapp.styleSheet())
    apply_style(qapp)
    yield qapp
    qapp.setStyleSheet(saved[2])
    qapp.setPalette(saved[1])
    qapp.setStyle(saved[0])


class PaintCounter(QObject):
    """Counts a widget's paint events and records the height of each one's region (what a change repainted)."""

    def __init__(self, widget):
        super().__init__()
        self.paints = 0
        self.heights: list[int] = []
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Paint:
            self.paints += 1
            self.heights.append(event.region().boundingRect().height())
        return False
